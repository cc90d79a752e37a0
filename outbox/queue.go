package outbox

import (
	"context"
	"errors"
	"time"
)

// Queue stores logouts that CentralAuth could not take yet, for an Outbox to
// retry. MemoryQueue keeps them in this process; redisstore.Queue shares
// them between instances and keeps them across restarts.
//
// A worker Claims an entry, which hides it from other workers for a lease;
// it then Acks it (done: delivered or given up) or Releases it to be tried
// again later. A worker that dies holding an entry lets its lease run out,
// and the entry becomes claimable again: delivery is at least once.
// Implementations must be safe for concurrent use.
type Queue interface {
	// Enqueue adds a logout for token, first attempted at now. A bounded
	// queue that is full returns an error matching ErrQueueFull.
	Enqueue(ctx context.Context, token string, now time.Time) error
	// Claim hands out one entry whose next attempt is due at now, leasing it
	// until now+lease. ok is false when no entry is due.
	Claim(ctx context.Context, now time.Time, lease time.Duration) (e Entry, ok bool, err error)
	// Ack removes a claimed entry. It does nothing if the lease has passed
	// to another worker since.
	Ack(ctx context.Context, e Entry) error
	// Release returns a claimed entry for another attempt at next, with
	// e.Attempts recorded. It does nothing if the lease has passed to
	// another worker since.
	Release(ctx context.Context, e Entry, next time.Time) error
	// Len reports how many entries are waiting, claimed ones included.
	Len(ctx context.Context) (int64, error)
}

// Entry is one queued logout.
type Entry struct {
	// ID identifies the entry in its queue.
	ID string
	// Token is the CentralAuth token to log out. It is a secret.
	Token string
	// EnqueuedAt is when the logout was first queued; the Outbox drops it
	// after its maximum age.
	EnqueuedAt time.Time
	// Attempts counts the delivery attempts made so far.
	Attempts int
	// Lease identifies the current claim, so a worker whose lease ran out
	// cannot Ack or Release an entry that another worker now holds.
	Lease string
}

// String never shows the token, so an Entry can be logged.
func (e Entry) String() string {
	return "outbox.Entry(" + e.ID + ")"
}

// ErrUnreadableEntry is matched by the error a Queue's Claim returns for an
// entry it could not read (a token that does not decrypt, say) and has set
// aside (hidden for the lease) or dropped, so that the next Claim moves on.
// The Outbox logs it at Error and claims again at once.
var ErrUnreadableEntry = errors.New("outbox: queued entry unreadable")

// ErrQueueFull is matched by the error a bounded Queue's Enqueue returns
// when it holds its maximum.
var ErrQueueFull = errors.New("outbox: queue full")
