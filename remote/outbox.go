package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/centralauth-go/logout/clock"
)

// Outbox retries session-wide logouts that failed for a reason that may pass
// (CentralAuth down, overloaded or slow), so that a brief outage does not
// leave a user logged in everywhere else. Enqueue stores a logout in the
// Queue; Run delivers them, with backoff, until CentralAuth accepts each
// one, answers that it cannot (a non-retryable 4xx: the session is already
// gone), or the entry passes its maximum age.
//
// Delivery is at least once: CentralAuth's logout is idempotent. Any number
// of workers may Run against one Queue, in one process or many.
type Outbox struct {
	client *Client
	queue  Queue
	cfg    outboxConfig
	wake   chan struct{}

	delivered, dropped, retries atomic.Int64
}

// OutboxStats is a snapshot of an Outbox's work. Pending comes from the
// Queue (all instances); the other counts are this Outbox's own since it
// was created.
type OutboxStats struct {
	Pending   int64 // entries waiting, claimed ones included
	Delivered int64 // logouts CentralAuth accepted
	Dropped   int64 // entries given up: refused by CentralAuth, or too old
	Retries   int64 // failed attempts that were scheduled again
}

type outboxConfig struct {
	maxAge       time.Duration
	poll         time.Duration
	lease        time.Duration
	attemptLimit time.Duration
	maxBackoff   time.Duration
	logger       *slog.Logger
	clock        clock.Clock
}

// OutboxOption configures NewOutbox.
type OutboxOption func(*outboxConfig)

// Outbox defaults.
const (
	DefaultOutboxMaxAge = 24 * time.Hour
	DefaultOutboxPoll   = time.Second
	DefaultOutboxLease  = 30 * time.Second
)

// WithMaxAge sets how long an entry is retried before it is dropped with an
// Error log line. Default: 24h.
func WithMaxAge(d time.Duration) OutboxOption {
	return func(c *outboxConfig) {
		if d > 0 {
			c.maxAge = d
		}
	}
}

// WithPollInterval sets how often an idle worker looks for due entries that
// another instance enqueued (entries enqueued through this Outbox wake it
// at once). Default: 1s.
func WithPollInterval(d time.Duration) OutboxOption {
	return func(c *outboxConfig) {
		if d > 0 {
			c.poll = d
		}
	}
}

// WithVisibilityTimeout sets how long a claimed entry stays hidden from
// other workers. A worker that dies mid-delivery delays the entry by this
// much; each attempt is bounded well within it, so a live worker always
// finishes first. Default: 30s.
func WithVisibilityTimeout(d time.Duration) OutboxOption {
	return func(c *outboxConfig) {
		if d > 0 {
			c.lease = d
		}
	}
}

// WithOutboxLogger sets the logger for dropped entries (Error) and failed
// attempts (Warn). Tokens are never logged. Default: slog.Default().
func WithOutboxLogger(l *slog.Logger) OutboxOption {
	return func(c *outboxConfig) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithOutboxClock sets the time source for due times, backoff and ages.
// Default: clock.System().
func WithOutboxClock(cl clock.Clock) OutboxOption {
	return func(c *outboxConfig) {
		if cl != nil {
			c.clock = cl
		}
	}
}

// NewOutbox returns an Outbox that delivers through c the logouts stored in
// q. Options with out-of-range values (zero or negative durations, nil) keep
// the default.
func NewOutbox(c *Client, q Queue, opts ...OutboxOption) *Outbox {
	cfg := outboxConfig{
		maxAge:     DefaultOutboxMaxAge,
		poll:       DefaultOutboxPoll,
		lease:      DefaultOutboxLease,
		maxBackoff: 5 * time.Minute,
		logger:     slog.Default(),
		clock:      clock.System(),
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	// An attempt, retries included, must end well inside the lease, or a
	// second worker could claim the entry while the first still sends it.
	cfg.attemptLimit = cfg.lease / 2
	return &Outbox{client: c, queue: q, cfg: cfg, wake: make(chan struct{}, 1)}
}

// Enqueue stores a logout of token for Run to deliver. It fails when the
// queue does (ErrQueueFull for a full bounded queue).
func (o *Outbox) Enqueue(ctx context.Context, token string) error {
	if token == "" {
		return ErrNoToken
	}
	if err := o.queue.Enqueue(ctx, token, o.cfg.clock.Now()); err != nil {
		return fmt.Errorf("remote: outbox enqueue: %w", err)
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

// statsTimeout bounds how long Stats waits for the queue's count.
const statsTimeout = time.Second

// Stats reports on the Outbox. Pending is -1 if the queue cannot be asked
// within a second.
func (o *Outbox) Stats() OutboxStats {
	ctx, cancel := context.WithTimeout(context.Background(), statsTimeout)
	defer cancel()
	pending, err := o.queue.Len(ctx)
	if err != nil {
		pending = -1
	}
	return OutboxStats{
		Pending:   pending,
		Delivered: o.delivered.Load(),
		Dropped:   o.dropped.Load(),
		Retries:   o.retries.Load(),
	}
}

// Run delivers due entries until ctx ends, and then returns ctx.Err(). A
// queue error (Redis down, say) is logged and retried at the poll interval;
// it does not stop Run. Run may be called from several goroutines.
func (o *Outbox) Run(ctx context.Context) error {
	for {
		worked, err := o.step(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch {
		case errors.Is(err, ErrUnreadableEntry):
			// The queue set the entry aside; the others are still due.
			o.cfg.logger.LogAttrs(ctx, slog.LevelError, "outbox: unreadable entry set aside", slog.Any("error", err))
			worked = true
		case err != nil:
			o.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "outbox: queue unavailable", slog.Any("error", err))
		}
		if worked {
			continue
		}
		if err := o.idle(ctx); err != nil {
			return err
		}
	}
}

// idle waits for the poll interval, or for an Enqueue through this Outbox.
func (o *Outbox) idle(ctx context.Context) error {
	waitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	woken := make(chan struct{})
	go func() {
		select {
		case <-o.wake:
			cancel()
		case <-waitCtx.Done():
		}
		close(woken)
	}()
	_ = o.cfg.clock.Sleep(waitCtx, o.cfg.poll)
	cancel()
	<-woken
	return ctx.Err()
}

// step claims and handles one due entry. worked is false when none was due.
func (o *Outbox) step(ctx context.Context) (worked bool, err error) {
	now := o.cfg.clock.Now()
	e, ok, err := o.queue.Claim(ctx, now, o.cfg.lease)
	if err != nil || !ok {
		return false, err
	}
	if now.Sub(e.EnqueuedAt) > o.cfg.maxAge {
		o.dropped.Add(1)
		o.cfg.logger.LogAttrs(ctx, slog.LevelError, "outbox: session-wide logout dropped after its maximum age; the user may still be logged in to other apps",
			slog.String("entry", e.ID), slog.Int("attempts", e.Attempts), slog.Duration("max_age", o.cfg.maxAge))
		return true, o.queue.Ack(ctx, e)
	}

	attemptCtx, cancel := context.WithTimeout(ctx, o.cfg.attemptLimit)
	sendErr := o.client.Logout(attemptCtx, e.Token)
	cancel()
	e.Attempts++
	// Recording the outcome must survive a shutdown that begins right
	// after CentralAuth answered, or the logout would be sent again.
	recordCtx, cancelRecord := context.WithTimeout(context.WithoutCancel(ctx), o.cfg.attemptLimit)
	defer cancelRecord()
	switch {
	case sendErr == nil:
		o.delivered.Add(1)
		return true, o.queue.Ack(recordCtx, e)
	case ctx.Err() != nil:
		// Shutting down: leave the entry to its lease, so another
		// worker (or this one, restarted) picks it up.
		return true, nil
	case !IsRetryable(sendErr):
		o.dropped.Add(1)
		o.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "outbox: CentralAuth refused a queued logout; dropping it",
			slog.String("entry", e.ID), slog.Any("error", sendErr))
		return true, o.queue.Ack(recordCtx, e)
	}
	o.retries.Add(1)
	next := o.cfg.clock.Now().Add(o.backoff(e.Attempts, sendErr))
	o.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "outbox: queued logout failed; will retry",
		slog.String("entry", e.ID), slog.Int("attempts", e.Attempts), slog.Time("next", next), slog.Any("error", sendErr))
	return true, o.queue.Release(recordCtx, e, next)
}

// backoff doubles from about a second up to five minutes, jittered, and
// honours a longer Retry-After up to the same bound.
func (o *Outbox) backoff(attempts int, err error) time.Duration {
	d := jittered(exponential(time.Second, attempts-1, o.cfg.maxBackoff))
	var re *Error
	if errors.As(err, &re) && re.RetryAfter > d {
		d = min(re.RetryAfter, o.cfg.maxBackoff)
	}
	return d
}
