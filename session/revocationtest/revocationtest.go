// Package revocationtest checks a session.RevocationList implementation
// against the contract that session.RevocationList documents, so that a
// new backend can prove itself the way session.MemoryRevocations and
// redisstore.Revocations do.
package revocationtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/centralauth-go/logout/internal/conform"
	"github.com/centralauth-go/logout/session"
)

// Run checks the lists that newList returns against
// session.RevocationList's contract, and returns an error that names every
// check that failed, or nil if all passed. Like testing/fstest.TestFS, it
// returns an error rather than take a *testing.T, so that its own tests
// can run it against broken lists; a test calls it as
//
//	if err := revocationtest.Run(newList); err != nil {
//		t.Fatal(err)
//	}
//
// Run calls newList once per check, from its own goroutine, for a list
// that nothing else uses (give each one a key prefix or a table of its
// own). The checks run on the real clock, which the list's must agree
// with to within a few milliseconds: a few of them revoke until a moment
// a fraction of a second ahead and wait for it, so Run takes a few
// seconds. One check calls the list from several goroutines at once.
func Run(newList func() (session.RevocationList, error)) error {
	var errs []error
	for _, c := range checks {
		l, err := newList()
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("revocationtest: creating a list: %w", err))...)
		}
		if err := run(l, c); err != nil {
			errs = append(errs, fmt.Errorf("revocationtest: %s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

type check struct {
	name string
	run  func(l *list)
}

func run(l session.RevocationList, c check) error {
	return conform.Run(func() { c.run(&list{l: l, ctx: context.Background()}) })
}

// list wraps the list under test with steps that stop the check when they
// fail.
type list struct {
	l   session.RevocationList
	ctx context.Context
}

func (l *list) fatalf(format string, args ...any) { conform.Failf(format, args...) }

func newID() string { return rand.Text() }

func (l *list) revoke(id string, until time.Time) {
	if err := l.l.Revoke(l.ctx, id, until); err != nil {
		l.fatalf("Revoke until %v from now: %v", time.Until(until).Round(time.Millisecond), err)
	}
}

func (l *list) revoked(id string) bool {
	r, err := l.l.Revoked(l.ctx, id)
	if err != nil {
		l.fatalf("Revoked: %v", err)
	}
	return r
}

func (l *list) want(id string, want bool, when string) {
	if got := l.revoked(id); got != want {
		l.fatalf("Revoked %s = %v, want %v", when, got, want)
	}
}

// revokeSoon revokes id until a moment d ahead, and returns it. A machine
// too busy to call Revoke before that moment gets a longer d, as often as
// needed: the moment must still be ahead when the list looks at it.
func (l *list) revokeSoon(id string, d time.Duration) time.Time {
	for ; ; d *= 2 {
		until := time.Now().Add(d).Add(123 * time.Microsecond) // not a whole millisecond
		err := l.l.Revoke(l.ctx, id, until)
		switch {
		case err == nil:
			return until
		case time.Now().Before(until) || d > time.Minute:
			l.fatalf("Revoke until %v from now: %v", d, err)
		}
	}
}

// after waits until t has passed, and a little more, for the list's own
// clock.
func after(t time.Time) {
	<-time.After(time.Until(t) + 20*time.Millisecond)
}

const hour = time.Hour

var checks = []check{
	{"an ID never revoked is not revoked", func(l *list) {
		l.want(newID(), false, "of an ID never revoked")
	}},
	{"a revoked ID is revoked", func(l *list) {
		id := newID()
		l.revoke(id, time.Now().Add(hour))
		l.want(id, true, "right after Revoke")
	}},
	{"a revocation is for its ID only", func(l *list) {
		id := newID()
		l.revoke(id, time.Now().Add(hour))
		for _, other := range []string{id[:len(id)-1], id + "x", "x" + id, string(id[0]+1) + id[1:]} {
			l.want(other, false, fmt.Sprintf("of %q, after a Revoke of %q", other, id))
		}
	}},
	{"an until that has passed is an error", func(l *list) {
		if err := l.l.Revoke(l.ctx, newID(), time.Now().Add(-time.Second)); err == nil {
			l.fatalf("Revoke until a second ago returned nil; want an error, since the entry would never hold")
		}
	}},
	{"a revocation holds until its time", func(l *list) {
		// Some answer must come back before until, or the check
		// proves nothing: a busy machine tries again, further ahead.
		for d := 200 * time.Millisecond; ; d *= 2 {
			id := newID()
			until := l.revokeSoon(id, d)
			conclusive := false
			for time.Now().Before(until) {
				r := l.revoked(id)
				if answered := time.Now(); answered.Before(until) {
					if !r {
						l.fatalf("Revoked = false %v before the revocation's until", until.Sub(answered).Round(time.Microsecond))
					}
					conclusive = true
				}
				<-time.After(time.Millisecond)
			}
			if conclusive || d > time.Minute {
				return
			}
		}
	}},
	{"an earlier until never shortens a revocation", func(l *list) {
		id := newID()
		l.revoke(id, time.Now().Add(hour))
		after(l.revokeSoon(id, 100*time.Millisecond))
		l.want(id, true, "after the earlier until of a second Revoke passed")
	}},
	{"a later until extends a revocation", func(l *list) {
		id := newID()
		first := l.revokeSoon(id, 100*time.Millisecond)
		l.revoke(id, time.Now().Add(hour))
		after(first)
		l.want(id, true, "after the first until passed, extended by a second Revoke")
	}},
	{"a failure is never \"not revoked\"", func(l *list) {
		id := newID()
		l.revoke(id, time.Now().Add(hour))
		cancelled, cancel := context.WithCancel(l.ctx)
		cancel()
		if r, err := l.l.Revoked(cancelled, id); !r && err == nil {
			l.fatalf("Revoked with a cancelled context = false, nil for a revoked ID; want true, or an error")
		}
		other := newID()
		if err := l.l.Revoke(cancelled, other, time.Now().Add(hour)); err == nil {
			l.want(other, true, "after a Revoke with a cancelled context that returned nil")
		}
	}},
	{"the list is safe for concurrent use", func(l *list) {
		const workers, each = 8, 16
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
		)
		for range workers {
			wg.Go(func() {
				for range each {
					id := newID()
					err := l.l.Revoke(l.ctx, id, time.Now().Add(hour))
					var r bool
					if err == nil {
						r, err = l.l.Revoked(l.ctx, id)
					}
					if err == nil && !r {
						err = errors.New("right after Revoke, Revoked = false")
					}
					if err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
						return
					}
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			l.fatalf("%v", errors.Join(errs...))
		}
	}},
}
