package testutil

import (
	"fmt"
	"testing"
	"time"
)

// WaitFor polls cond every few milliseconds until it holds, and fails the
// test after d, saying what it waited for and, if given, the state that
// each describe function reports. Tests wait on conditions with it instead
// of sleeping.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool, describe ...func() string) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			msg := fmt.Sprintf("waited %v for %s", d, what)
			for _, s := range describe {
				msg += "; " + s()
			}
			t.Fatal(msg)
		case <-tick.C:
		}
	}
}
