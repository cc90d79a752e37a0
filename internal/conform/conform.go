// Package conform is what the conformance suites (outbox/queuetest,
// session/revocationtest) share: a check that stops at its first failure,
// as t.Fatal would, without a *testing.T, so that a suite can return its
// failures as an error and be run against a broken implementation.
package conform

import "fmt"

// failure carries a check's first failure from Failf to Run.
type failure struct{ err error }

// Failf stops the check that Run is running, with this failure.
func Failf(format string, args ...any) {
	panic(failure{fmt.Errorf(format, args...)})
}

// Run runs check and returns the failure it stopped at, or nil. A panic
// that is not a failure goes on.
func Run(check func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(failure)
			if !ok {
				panic(r)
			}
			err = f.err
		}
	}()
	check()
	return nil
}
