package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/middleware"
	"github.com/centralauth-go/logout/session"
)

// Proof 6: 1,000 concurrent logouts across two instances, while CentralAuth
// fails the first requests, then four workers (two per instance) whose
// first attempts fail too. Nothing is lost: every session is revoked on
// both instances, every CentralAuth session ends, and every logout that was
// queued is delivered, exactly once.
func TestThousandConcurrentLogouts(t *testing.T) {
	const (
		users          = 1000
		failures       = 150 // CentralAuth's first answers to the handlers are 503
		workerFailures = 50  // and so are its first answers to the workers
	)
	for _, b := range bothKinds {
		t.Run(b.name, func(t *testing.T) {
			// A long lease: under -race on two cores an attempt must never
			// outlive it, or an entry could be delivered twice (allowed,
			// but then "exactly once" below would not hold).
			// A long remote timeout too: a handler that gave up on a
			// request CentralAuth then served would queue a duplicate.
			c := newCluster(t, b, settings{lease: 5 * time.Second, remoteTimeout: 20 * time.Second})
			ins := []*instance{c.newInstance("A"), c.newInstance("B")}
			us := make([]user, users)
			for i := range us {
				us[i] = ins[i%2].login(fmt.Sprint("user", i))
			}
			c.ca.InjectFault(centralauthtest.Fault{Status: http.StatusServiceUnavailable, Times: failures})

			start := make(chan struct{})
			var wg sync.WaitGroup
			codes := make([]int, users)
			for i, u := range us {
				wg.Go(func() {
					<-start
					codes[i] = ins[(i+1)%2].logout(u).StatusCode // log out on the other instance
				})
			}
			began := time.Now()
			close(start)
			wg.Wait()
			t.Logf("%d logouts in %v", users, time.Since(began))
			for i, code := range codes {
				if code != http.StatusSeeOther {
					t.Fatalf("logout %d answered %d", i, code)
				}
			}

			var direct, queued int64
			for _, in := range ins {
				for _, ev := range in.allEvents() {
					if ev.RevokeErr != nil {
						t.Fatalf("revocation failed: %v", ev.RevokeErr)
					}
					switch ev.Remote {
					case middleware.RemoteDelivered:
						direct++
					case middleware.RemoteQueued:
						queued++
					default:
						t.Fatalf("logout outcome %v (%v), want delivered or queued", ev.Remote, ev.RemoteErr)
					}
				}
			}
			if direct+queued != users || queued != failures {
				t.Fatalf("%d delivered at once and %d queued, want %d in all with %d queued", direct, queued, users, failures)
			}

			c.ca.InjectFault(centralauthtest.Fault{Status: http.StatusServiceUnavailable, Times: workerFailures})
			for _, in := range ins {
				in.startWorker()
				in.startWorker()
			}
			testutil.WaitFor(t, 40*time.Second, "every CentralAuth session to end and the queue to empty", func() bool {
				return c.allInactive(us) && stats(ins...).Pending == 0
			}, c.progress(us, ins...))
			t.Logf("drained %v after the first logout", time.Since(began))

			s := stats(ins...)
			t.Logf("direct %d, queued %d, Stats %+v", direct, queued, s)
			if s.Delivered != queued || direct+s.Delivered != users || s.Pending != 0 || s.Dropped != 0 || s.Retries != workerFailures {
				t.Fatalf("Stats %+v with %d delivered at once: want Delivered %d (the queued ones), Retries %d, Pending 0, Dropped 0",
					s, direct, queued, workerFailures)
			}
			accepted := c.accepted()
			for i, u := range us {
				if n := accepted[u.ca.ID]; n != 1 {
					t.Fatalf("user %d's logout accepted %d times, want once", i, n)
				}
			}
			if n := c.wire.maxConcurrent(); n != 1 {
				t.Fatalf("one token was on the wire %d times at once", n)
			}
			// Every old cookie fails on both instances.
			for i, u := range us {
				for _, in := range ins {
					if err := in.load(u); !errors.Is(err, session.ErrRevoked) {
						t.Fatalf("user %d's cookie on %s: %v, want ErrRevoked", i, in.name, err)
					}
				}
			}
		})
	}
}
