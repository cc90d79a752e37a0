package outbox

import (
	"context"
	"errors"
	"time"
)

// Queue stores logouts that CentralAuth could not take yet, for an Outbox to
// retry. MemoryQueue keeps them in this process; redisstore.Queue shares
// them between instances and keeps them across restarts. Package queuetest
// checks an implementation against this contract.
//
// A Queue never sees a token: the Outbox seals each one (AES-GCM, bound to
// its entry's ID) before Enqueue, and opens it after Claim, so that a queue
// holds opaque bytes and needs no cryptography of its own.
//
// A worker Claims an entry, which hides it from other workers for a lease;
// it then Acks it (done: delivered or given up) or Releases it to be tried
// again later. A worker that dies holding an entry lets its lease run out,
// and the entry becomes claimable again: delivery is at least once.
// Implementations must be safe for concurrent use.
type Queue interface {
	// Enqueue adds the entry id, holding sealed, enqueued and first due
	// at now, with no attempts. The Outbox draws id at random (24 hex
	// digits). A full queue returns an error matching ErrQueueFull: a
	// queue is bounded, claimed entries included. Times may be kept to
	// the millisecond.
	Enqueue(ctx context.Context, id string, sealed []byte, now time.Time) error
	// Claim hands out the entry that has been due the longest at now (ties
	// in any order), under a new lease that hides it from other claims
	// until now+lease. ok is false when no entry is due.
	Claim(ctx context.Context, now time.Time, lease time.Duration) (e Entry, ok bool, err error)
	// Ack removes a claimed entry. It does nothing if e.Lease is no longer
	// the entry's lease: it ran out and another worker claimed the entry,
	// or the entry was released.
	Ack(ctx context.Context, e Entry) error
	// Release makes a claimed entry due again at next, with e.Attempts
	// recorded. It does nothing if e.Lease is no longer the entry's lease.
	Release(ctx context.Context, e Entry, next time.Time) error
	// Len reports how many entries are waiting, claimed ones included. It
	// should be cheap: Outbox.Stats calls it.
	Len(ctx context.Context) (int64, error)
	// Stats reports Pending (as Len), Oldest and Attempted, and leaves an
	// Outbox's own counts zero. It may inspect every entry.
	Stats(ctx context.Context) (Stats, error)
}

// Entry is one queued logout.
type Entry struct {
	// ID identifies the entry in its queue.
	ID string
	// Sealed is the token, sealed by the Outbox: opaque to the queue,
	// which keeps it byte for byte.
	Sealed []byte
	// EnqueuedAt is when the logout was first queued; the Outbox drops it
	// after its maximum age.
	EnqueuedAt time.Time
	// Attempts counts the delivery attempts made so far.
	Attempts int
	// Lease identifies the current claim, so a worker whose lease ran out
	// cannot Ack or Release an entry that another worker now holds.
	Lease string
}

// ErrUnreadableEntry is matched by the error for an entry that cannot be
// read: its token does not open (corrupt, or sealed under another key), or
// a Queue's Claim could not parse it. The entry is set aside (hidden for the
// lease) or dropped, so that the next Claim moves on; the Outbox logs it at
// Error and claims again at once.
var ErrUnreadableEntry = errors.New("outbox: queued entry unreadable")

// ErrQueueFull is matched by the error a Queue's Enqueue returns when it
// holds its maximum.
var ErrQueueFull = errors.New("outbox: queue full")
