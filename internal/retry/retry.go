// Package retry holds what the CentralAuth client and the outbox share
// about waiting: the jittered exponential backoff, and the clock they wait
// on. The clock is an unexported field of each, which only their own tests
// replace: those tests talk to a fake CentralAuth over a real loopback
// connection, which testing/synctest cannot put in a bubble.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Clock tells the time and waits.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx ends, and then returns ctx.Err().
	Sleep(ctx context.Context, d time.Duration) error
}

// System is the real clock.
var System Clock = system{}

type system struct{}

func (system) Now() time.Time { return time.Now() }

func (system) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Backoff is the wait before retry n (from 0): base·2ⁿ, capped at limit,
// with "equal jitter", a random wait between half of that and all of it.
// The random half keeps clients that failed together from retrying
// together; the fixed half keeps the wait from collapsing to nothing. A
// negative n counts as 0, so that a corrupt attempt count can never make
// the shift panic.
func Backoff(base time.Duration, n int, limit time.Duration) time.Duration {
	d := limit
	if n < 30 { // beyond that the shift would overflow; limit is smaller
		d = min(base<<max(n, 0), limit)
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
