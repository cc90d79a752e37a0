package outbox

import (
	"time"
)

// Delivery is what became of one queued logout that a worker claimed: the
// WithOnDelivery hook receives one for every outcome. It never holds a
// token.
type Delivery struct {
	// Outcome says what became of the entry.
	Outcome DeliveryOutcome
	// Entry is the entry's ID in its queue.
	Entry string
	// Attempts counts the delivery attempts made so far, this outcome's
	// own included if it had one.
	Attempts int
	// EnqueuedAt is when the logout was first queued.
	EnqueuedAt time.Time
	// Latency is how long this attempt took, retries inside the Sender
	// included; zero when the entry was dropped without one.
	Latency time.Duration
	// Err is why the entry was retried or dropped: the Sender's error (see
	// package remote for its types), an error matching ErrUnreadableEntry,
	// or one that names the maximum age. It is nil for Delivered.
	Err error
}

// DeliveryOutcome is what became of a claimed entry. It is a string, as
// logged, like the other packages' outcomes.
type DeliveryOutcome string

const (
	// Delivered: CentralAuth accepted the logout, and the entry is gone.
	Delivered DeliveryOutcome = "delivered"
	// Retried: the attempt failed with a retryable error, and the entry
	// is due again after a backoff.
	Retried DeliveryOutcome = "retried"
	// Dropped: the entry is gone undelivered, because CentralAuth refused
	// it (a non-retryable answer: the session is already gone), it passed
	// its maximum age, or it could not be read. The user may still be
	// logged in to other apps.
	Dropped DeliveryOutcome = "dropped"
)
