// Package outbox retries session-wide logouts that CentralAuth could not
// take at once (it was down, overloaded or slow), from a durable queue, so
// that a brief outage does not leave a user logged in to every other app.
//
// An Outbox takes the Sender that delivers a logout (a *remote.Client) and
// the Queue that keeps them: a MemoryQueue for an app that runs as one
// instance, or a redisstore.Queue, which survives restarts and is shared by
// every instance. It seals every token before the Queue sees it, under the
// key of WithEncryptionKey. middleware.WithOutbox hands it the logouts that
// failed, and WithOnDelivery reports what became of each.
package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	sealer *sealer
	cfg    config
	wake   chan struct{}

	delivered, dropped, retries atomic.Int64
}

// Stats is a snapshot of an Outbox's work, or of a Queue's. Pending comes
// from the Queue (all instances); Delivered, Dropped and Retries are an
// Outbox's own since it was created.
type Stats struct {
	Pending   int64 // entries waiting, claimed ones included
	Delivered int64 // logouts CentralAuth accepted
	Dropped   int64 // entries given up: refused by CentralAuth, too old, or unreadable
	Retries   int64 // failed attempts that were scheduled again

	// Of Queue.Stats, which inspects every entry (Outbox.Stats leaves them
	// zero): when the oldest entry was enqueued (zero for none), and how
	// many entries are past their first attempt.
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
	sealer       *sealer // WithEncryptionKey; nil: none given
	onDelivery   func(Delivery)
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

// WithEncryptionKey sets the key that seals every token, with AES-GCM
// bound to its entry, before it reaches the Queue: 16, 24 or 32 random
// bytes (AES-128, -192 or -256). It is not kept in the queue, and every
// instance that shares a queue needs the same key: an entry sealed under
// another key is left for an instance that has it, and dropped after the
// maximum age. Change it only when the queue is empty. Errors never
// contain the key.
//
// A Queue other than a *MemoryQueue needs it: its entries outlive the
// process or are shared with other instances. Default: for a
// *MemoryQueue, a random key drawn once per process, since its entries die
// with the process.
func WithEncryptionKey(key []byte) Option {
	return func(c *config) error {
		s, err := newSealer(key)
		if err != nil {
			return err
		}
		c.sealer = s
		return nil
	}
}

// WithOnDelivery sets a hook that receives a Delivery for every outcome of
// a claimed entry: delivered, retried or dropped, for metrics or an audit
// log. It is called synchronously by the worker, after the queue recorded
// the outcome, so it must be quick and must not block. An attempt
// abandoned because Run's context ended, and an entry set aside for an
// instance with another key, have no outcome yet. Default: none.
func WithOnDelivery(fn func(Delivery)) Option {
	return func(c *config) error {
		if fn == nil {
			return configError("nil OnDelivery hook")
		}
		c.onDelivery = fn
		return nil
	}
}

// New returns an Outbox that delivers through s the logouts stored in q.
// A nil s or q, a q other than a *MemoryQueue without WithEncryptionKey, or
// an invalid option, is an error matching ErrInvalidConfig. The app starts
// Run, and stops it by cancelling its context.
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
	if cfg.sealer == nil {
		if _, ok := q.(*MemoryQueue); !ok {
			return nil, configError("a %T needs WithEncryptionKey: its entries outlive this process or are shared, and every instance must seal them under the same key", q)
		}
		cfg.sealer = processSealer()
	}
	// An attempt, retries included, must end well inside the lease, or a
	// second worker could claim the entry while the first still sends it.
	cfg.attemptLimit = cfg.lease / 2
	return &Outbox{sender: s, queue: q, sealer: cfg.sealer, cfg: cfg, wake: make(chan struct{}, 1)}, nil
}

// Enqueue stores a logout of token for Run to deliver. It fails when the
// queue does (ErrQueueFull for a full bounded queue).
func (o *Outbox) Enqueue(ctx context.Context, token string) error {
	if token == "" {
		return remote.ErrNoToken
	}
	id := randomID()
	if err := o.queue.Enqueue(ctx, id, o.sealer.seal(id, token), o.cfg.clock.Now()); err != nil {
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
			if worked {
				err = nil // dropped: it cannot come back
			} else if streak.next(ctx, o.queue) {
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
			if !worked && streak.next(ctx, o.queue) {
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

// step claims and handles one due entry. worked is false when none was
// due, or when an unreadable entry was set aside rather than dropped.
func (o *Outbox) step(ctx context.Context) (worked bool, err error) {
	now := o.cfg.clock.Now()
	e, ok, err := o.queue.Claim(ctx, now, o.cfg.lease)
	if err != nil || !ok {
		return false, err
	}
	token, err := o.sealer.open(e.ID, e.Sealed)
	if err != nil {
		return o.unreadable(ctx, e, now, err)
	}
	if now.Sub(e.EnqueuedAt) > o.cfg.maxAge {
		o.cfg.logger.LogAttrs(ctx, slog.LevelError, "outbox: session-wide logout dropped after its maximum age; the user may still be logged in to other apps",
			slog.String("entry", e.ID), slog.Int("attempts", e.Attempts), slog.Duration("max_age", o.cfg.maxAge))
		o.count(Dropped)
		err := o.queue.Ack(ctx, e)
		o.notify(Delivery{Outcome: Dropped, Entry: e.ID, Attempts: e.Attempts, EnqueuedAt: e.EnqueuedAt,
			Err: fmt.Errorf("outbox: undelivered after its maximum age of %v", o.cfg.maxAge)})
		return true, err
	}

	attemptCtx, cancel := context.WithTimeout(ctx, o.cfg.attemptLimit)
	start := o.cfg.clock.Now()
	sendErr := o.sender.Logout(attemptCtx, token)
	d := Delivery{Entry: e.ID, EnqueuedAt: e.EnqueuedAt, Latency: o.cfg.clock.Now().Sub(start), Err: sendErr}
	cancel()
	e.Attempts++
	d.Attempts = e.Attempts
	// Recording the outcome must survive a shutdown that begins right
	// after CentralAuth answered, or the logout would be sent again.
	recordCtx, cancelRecord := context.WithTimeout(context.WithoutCancel(ctx), o.cfg.attemptLimit)
	defer cancelRecord()
	switch {
	case sendErr == nil:
		d.Outcome = Delivered
		o.count(d.Outcome) // first: Stats shows the entry pending or delivered, never neither
		err = o.queue.Ack(recordCtx, e)
	case ctx.Err() != nil:
		// Shutting down: leave the entry to its lease, so another
		// worker (or this one, restarted) picks it up.
		return true, nil
	case !remote.IsRetryable(sendErr):
		o.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "outbox: CentralAuth refused a queued logout; dropping it",
			slog.String("entry", e.ID), slog.Any("error", sendErr))
		d.Outcome = Dropped
		o.count(d.Outcome)
		err = o.queue.Ack(recordCtx, e)
	default:
		next := o.cfg.clock.Now().Add(o.backoff(e.Attempts, sendErr))
		o.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "outbox: queued logout failed; will retry",
			slog.String("entry", e.ID), slog.Int("attempts", e.Attempts), slog.Time("next", next), slog.Any("error", sendErr))
		d.Outcome = Retried
		o.count(d.Outcome)
		err = o.queue.Release(recordCtx, e, next)
	}
	o.notify(d)
	return true, err
}

// unreadable disposes of an entry whose token does not open, and returns
// the error that says so, and whether it dropped the entry. One sealed
// under another key is left as claimed, hidden for the lease with its
// attempts unchanged, for an instance that has that key, until it is as
// old as the maximum age; making it due at once would have this worker
// claim it again and again. Any other is dropped.
func (o *Outbox) unreadable(ctx context.Context, e Entry, now time.Time, cause error) (dropped bool, err error) {
	if errors.Is(cause, errForeignKey) && now.Sub(e.EnqueuedAt) <= o.cfg.maxAge {
		return false, fmt.Errorf("outbox: entry %s cannot be decrypted: %w; left it, hidden for the lease, for an instance that has that key (%w)", e.ID, cause, ErrUnreadableEntry)
	}
	if ackErr := o.queue.Ack(ctx, e); ackErr != nil {
		return false, fmt.Errorf("outbox: entry %s cannot be decrypted: %w; dropping it failed (%w): %w", e.ID, cause, ErrUnreadableEntry, ackErr)
	}
	err = fmt.Errorf("outbox: entry %s cannot be decrypted: %w; dropped it (%w)", e.ID, cause, ErrUnreadableEntry)
	o.count(Dropped)
	o.notify(Delivery{Outcome: Dropped, Entry: e.ID, Attempts: e.Attempts, EnqueuedAt: e.EnqueuedAt, Err: err})
	return true, err
}

// count adds an outcome to Stats.
func (o *Outbox) count(outcome DeliveryOutcome) {
	switch outcome {
	case Delivered:
		o.delivered.Add(1)
	case Retried:
		o.retries.Add(1)
	case Dropped:
		o.dropped.Add(1)
	}
}

// notify hands an outcome to the WithOnDelivery hook.
func (o *Outbox) notify(d Delivery) {
	if o.cfg.onDelivery != nil {
		o.cfg.onDelivery(d)
	}
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

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
