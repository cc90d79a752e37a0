// Package outbox retries session-wide logouts that CentralAuth could not
// take at once (it was down, overloaded or slow), from a durable queue, so
// that a brief outage does not leave a user logged in to every other app.
//
// An Outbox takes the Sender that delivers a logout (a *remote.Client) and
// the Queue that keeps them: a MemoryQueue for an app that runs as one
// instance, or a redisstore.Queue, which survives restarts and is shared by
// every instance. middleware.WithOutbox hands it the logouts that failed.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/centralauth-go/logout/internal/retry"
	"github.com/centralauth-go/logout/remote"
)

// Sender delivers one session-wide logout. *remote.Client is one.
type Sender interface {
	Logout(ctx context.Context, token string) error
}

// Outbox delivers the logouts in a Queue: Enqueue stores one, and Run
// delivers them, with backoff, until CentralAuth accepts each one, answers
// that it cannot (a non-retryable 4xx: the session is already gone), or the
// entry passes its maximum age.
//
// Delivery is at least once: CentralAuth's logout is idempotent. Any number
// of workers may Run against one Queue, in one process or many. An Outbox
// is safe for concurrent use.
type Outbox struct {
	sender Sender
	queue  Queue
	cfg    config
	wake   chan struct{}

	delivered, dropped, retries atomic.Int64
}

// Stats is a snapshot of an Outbox's work. Pending comes from the Queue (all
// instances); the other counts are this Outbox's own since it was created.
type Stats struct {
	Pending   int64 // entries waiting, claimed ones included
	Delivered int64 // logouts CentralAuth accepted
	Dropped   int64 // entries given up: refused by CentralAuth, or too old
	Retries   int64 // failed attempts that were scheduled again

	// Of a queue inspected entry by entry (redisstore.Queue.Stats): when
	// the oldest entry was enqueued (zero for none), and how many entries
	// are past their first attempt.
	Oldest    time.Time
	Attempted int64
}

// ErrInvalidConfig is matched by the errors New and NewMemoryQueue return
// for an argument or option they cannot use.
var ErrInvalidConfig = errors.New("outbox: invalid configuration")

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

type config struct {
	maxAge       time.Duration
	poll         time.Duration
	lease        time.Duration
	attemptLimit time.Duration
	maxBackoff   time.Duration
	logger       *slog.Logger
	clock        retry.Clock // only this package's tests replace it
}

// Option configures New.
type Option func(*config) error

// WithMaxAge sets how long an entry is retried before it is dropped with an
// Error log line. It must be positive. Default: 24h.
func WithMaxAge(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return configError("max age %v is not positive", d)
		}
		c.maxAge = d
		return nil
	}
}

// WithPollInterval sets how often an idle worker looks for due entries that
// another instance enqueued (entries enqueued through this Outbox wake it
// at once). It must be positive. Default: 1s.
func WithPollInterval(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return configError("poll interval %v is not positive", d)
		}
		c.poll = d
		return nil
	}
}

// WithLease sets how long a claimed entry stays hidden from other workers.
// A worker that dies mid-delivery delays the entry by this much; each
// attempt is bounded by half of it, so a live worker always finishes first.
// It must be positive. Default: 30s.
func WithLease(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return configError("lease %v is not positive", d)
		}
		c.lease = d
		return nil
	}
}

// WithLogger sets the logger: entries dropped past their maximum age and
// unreadable entries at Error; failed attempts, entries CentralAuth
// refused, and a queue that cannot be reached at Warn. Tokens are never
// logged. Default: slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return configError("nil logger")
		}
		c.logger = l
		return nil
	}
}

// New returns an Outbox that delivers through s the logouts stored in q.
// A nil s or q, or an invalid option, is an error matching ErrInvalidConfig.
// The app starts Run, and stops it by cancelling its context.
func New(s Sender, q Queue, opts ...Option) (*Outbox, error) {
	if s == nil {
		return nil, configError("nil Sender")
	}
	if q == nil {
		return nil, configError("nil Queue")
	}
	cfg := config{
		maxAge:     24 * time.Hour,
		poll:       time.Second,
		lease:      30 * time.Second,
		maxBackoff: 5 * time.Minute,
		logger:     slog.Default(),
		clock:      retry.System,
	}
	for _, opt := range opts {
		if opt == nil {
			return nil, configError("nil Option")
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	// An attempt, retries included, must end well inside the lease, or a
	// second worker could claim the entry while the first still sends it.
	cfg.attemptLimit = cfg.lease / 2
	return &Outbox{sender: s, queue: q, cfg: cfg, wake: make(chan struct{}, 1)}, nil
}

// Enqueue stores a logout of token for Run to deliver. It fails when the
// queue does (ErrQueueFull for a full bounded queue).
func (o *Outbox) Enqueue(ctx context.Context, token string) error {
	if token == "" {
		return remote.ErrNoToken
	}
	if err := o.queue.Enqueue(ctx, token, o.cfg.clock.Now()); err != nil {
		return fmt.Errorf("outbox: enqueue: %w", err)
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

// Stats reports on the Outbox. When the queue cannot be counted, Pending
// is -1 and the error says why; the other counts are still given.
func (o *Outbox) Stats(ctx context.Context) (Stats, error) {
	pending, err := o.queue.Len(ctx)
	if err != nil {
		pending = -1
		err = fmt.Errorf("outbox: counting the queue: %w", err)
	}
	return Stats{
		Pending:   pending,
		Delivered: o.delivered.Load(),
		Dropped:   o.dropped.Load(),
		Retries:   o.retries.Load(),
	}, err
}

// Drain delivers the entries that are due now, one after another, and
// returns when none is left due, or when ctx ends (with ctx.Err()). Entries
// that fail again are scheduled for later, as Run would. It is for
// operators and tests; an app runs Run. A queue error ends it, as does a
// queue that keeps handing out the same unreadable entry.
func (o *Outbox) Drain(ctx context.Context) error {
	var streak unreadableStreak
	for {
		worked, err := o.step(ctx)
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if errors.Is(err, ErrUnreadableEntry) {
			o.logUnreadable(ctx, err)
			if streak.next(ctx, o.queue) {
				continue
			}
		}
		streak = unreadableStreak{}
		if err != nil {
			return fmt.Errorf("outbox: drain: %w", err)
		}
		if !worked {
			return nil
		}
	}
}

// unreadableStreak counts the unreadable entries a worker has claimed in
// a row. A queue sets each one aside (hidden for its lease, or dropped),
// so it cannot hand out more of them in a row than it held when the streak
// began; past that it is handing out the same entries again, and claiming
// at once would be a hot loop.
type unreadableStreak struct {
	claims, limit int64
}

// next counts one more unreadable entry, and reports whether the worker
// may claim again at once.
func (s *unreadableStreak) next(ctx context.Context, q Queue) bool {
	if s.claims == 0 {
		s.limit = 0 // a queue that cannot be counted gets no streak
		if n, err := q.Len(ctx); err == nil {
			s.limit = n
		}
	}
	s.claims++
	return s.claims <= s.limit
}

// logUnreadable reports an entry the queue could not read and set aside.
func (o *Outbox) logUnreadable(ctx context.Context, err error) {
	o.cfg.logger.LogAttrs(ctx, slog.LevelError, "outbox: unreadable entry set aside", slog.Any("error", err))
}

// Run delivers due entries until ctx ends, and then returns ctx.Err(). A
// queue error (Redis down, say) is logged and retried at the poll interval;
// it does not stop Run. An unreadable entry is logged, and Run claims the
// next one at once. Run may be called from several goroutines.
func (o *Outbox) Run(ctx context.Context) error {
	var streak unreadableStreak
	for {
		worked, err := o.step(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrUnreadableEntry) {
			// The queue set the entry aside, so the next claim moves on:
			// claim again at once, or every such entry ahead of a
			// deliverable logout would hold it up by a poll interval.
			o.logUnreadable(ctx, err)
			if streak.next(ctx, o.queue) {
				continue
			}
		} else if err != nil {
			o.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "outbox: queue unavailable", slog.Any("error", err))
		}
		streak = unreadableStreak{}
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
	sendErr := o.sender.Logout(attemptCtx, e.Token)
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
	case !remote.IsRetryable(sendErr):
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
	d := retry.Backoff(time.Second, attempts-1, o.cfg.maxBackoff)
	if re, ok := errors.AsType[*remote.Error](err); ok && re.RetryAfter > d {
		d = min(re.RetryAfter, o.cfg.maxBackoff)
	}
	return d
}
