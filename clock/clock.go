// Package clock is the time source that the logout packages take by
// injection, so that tests control time per instance instead of swapping a
// package variable (which would stop them running in parallel).
package clock

import (
	"context"
	"time"
)

// Clock tells the time and waits. Implementations must be safe for
// concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep waits for d, or until ctx is done, whichever comes first. It
	// returns ctx.Err() when ctx ended the wait, and nil otherwise.
	Sleep(ctx context.Context, d time.Duration) error
}

// System returns the real clock: time.Now and a context-aware timer. It is
// the default wherever a Clock is accepted.
func System() Clock { return system{} }

type system struct{}

func (system) Now() time.Time { return time.Now() }

func (system) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
