package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/middleware"
)

// Proof 2: CentralAuth answers 503 for a while, then 200. Every logout
// queued meanwhile reaches CentralAuth exactly once, every session ends,
// and the outboxes' Stats add up.
func TestQueuedLogoutsAreDeliveredAfterAnOutage(t *testing.T) {
	const (
		users       = 20
		outboxFails = 10 // 503s the workers get after the handlers' ones
	)
	for _, b := range bothKinds {
		t.Run(b.name, func(t *testing.T) {
			c := newCluster(t, b, settings{lease: 2 * time.Second})
			ins := []*instance{c.newInstance("A")}
			if b.redis {
				ins = append(ins, c.newInstance("B"))
			}
			c.ca.InjectFault(centralauthtest.Fault{Status: http.StatusServiceUnavailable, Times: users + outboxFails})

			var us []user
			for i := range users {
				in := ins[i%len(ins)]
				u := in.login(fmt.Sprint("user", i))
				us = append(us, u)
				wantLoggedOut(t, in.logout(u))
				if ev, _ := in.event(u); ev.Remote != middleware.RemoteQueued {
					t.Fatalf("logout %d: outcome %v (%v), want queued", i, ev.Remote, ev.RemoteErr)
				}
			}
			if s := stats(ins...); s.Pending != users {
				t.Fatalf("Pending %d after the handlers, want %d", s.Pending, users)
			}
			if !c.ca.Active(us[0].ca.AccessToken) {
				t.Fatal("a session ended before any worker ran")
			}

			// Two workers whichever the backend: two instances, or two
			// goroutines of the one.
			ins[0].startWorker()
			ins[len(ins)-1].startWorker()
			if len(ins) == 1 {
				ins[0].startWorker()
			}
			testutil.WaitFor(t, 20*time.Second, "every session to end and the queue to empty", func() bool {
				return c.allInactive(us) && stats(ins...).Pending == 0
			}, c.progress(us, ins...))

			accepted := c.accepted()
			for i, u := range us {
				if n := accepted[u.ca.ID]; n != 1 {
					t.Errorf("user %d's logout accepted %d times, want exactly once", i, n)
				}
			}
			want := statsWant{Delivered: users, Retries: outboxFails}
			if s := stats(ins...); s.Pending != 0 || s.Delivered != want.Delivered || s.Retries != want.Retries || s.Dropped != 0 {
				t.Fatalf("Stats %+v, want Pending 0, Delivered %d, Retries %d, Dropped 0", s, want.Delivered, want.Retries)
			}
			if n := len(c.ca.Calls()); n != 2*users+outboxFails {
				t.Fatalf("CentralAuth got %d calls, want %d (%d failed by handlers, %d failed by workers, %d delivered)",
					n, 2*users+outboxFails, users, outboxFails, users)
			}
			if n := c.wire.maxConcurrent(); n != 1 {
				t.Fatalf("one token was on the wire %d times at once", n)
			}
		})
	}
}

type statsWant struct{ Delivered, Retries int64 }

// Proof 3: a worker dies while it holds an entry (its context is cancelled
// mid-delivery). No other worker touches the entry while the lease lasts;
// after the visibility timeout a second worker delivers it.
func TestEntryOfADeadWorkerIsDeliveredAfterTheVisibilityTimeout(t *testing.T) {
	const lease = time.Second
	for _, b := range bothKinds {
		t.Run(b.name, func(t *testing.T) {
			c := newCluster(t, b, settings{lease: lease})
			a, other := c.newInstance("A"), c.newInstance("B") // memory: two outboxes on one queue
			c.ca.InjectFault(centralauthtest.Fault{Status: http.StatusServiceUnavailable})
			u := a.login("carol")
			wantLoggedOut(t, a.logout(u))
			if ev, _ := a.event(u); ev.Remote != middleware.RemoteQueued {
				t.Fatalf("outcome %v, want queued", ev.Remote)
			}

			// Worker A's delivery hangs at CentralAuth until A dies.
			hold := make(chan struct{})
			t.Cleanup(func() { close(hold) })
			c.ca.InjectFault(centralauthtest.Fault{Block: hold})
			wa := a.startWorker()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if err := c.ca.WaitCalls(ctx, 2); err != nil { // the handler's, then A's
				t.Fatal(err)
			}

			// B polls while A holds the entry, and gets nothing.
			other.startWorker()
			_, empty0, _ := other.queue.counts()
			testutil.WaitFor(t, 5*time.Second, "B to poll three times", func() bool {
				_, empty, _ := other.queue.counts()
				return empty >= empty0+3
			})
			if ok, _, _ := other.queue.counts(); ok != 0 {
				t.Fatal("B claimed the entry while A held it")
			}

			wa.stop(t) // A dies mid-delivery
			// CentralAuth ends the session before it answers, and B records
			// the delivery after the answer: wait for both.
			testutil.WaitFor(t, 10*time.Second, "B to deliver the entry", func() bool {
				s := other.stats()
				return !c.ca.Active(u.ca.AccessToken) && s.Delivered == 1 && s.Pending == 0
			})

			ca, cb := a.queue.claimed(), other.queue.claimed()
			if len(ca) != 1 || len(cb) != 1 || ca[0].entry != cb[0].entry {
				t.Fatalf("claims A %+v, B %+v; want one each, of the same entry", ca, cb)
			}
			// Redis keeps the lease's end in whole milliseconds, so B may
			// claim up to a millisecond before A's claim time plus the lease.
			if gap := cb[0].now.Sub(ca[0].now); gap < lease-time.Millisecond {
				t.Fatalf("B claimed the entry %v after A, before the %v visibility timeout", gap, lease)
			}
			calls := c.ca.Calls()
			if len(calls) != 3 || calls[1].Status != 0 || calls[2].Status != http.StatusOK || calls[2].SessionID != u.ca.ID {
				t.Fatalf("calls to CentralAuth %v, want: 503 (handler), none (A, killed), 200 (B)", statuses(calls))
			}
			if n := c.wire.maxConcurrent(); n != 1 {
				t.Fatalf("the entry was on the wire %d times at once", n)
			}
			sa, sb := a.stats(), other.stats()
			if sa.Delivered != 0 || sa.Retries != 0 || sb.Delivered != 1 || sb.Pending != 0 {
				t.Fatalf("Stats A %+v, B %+v; want A nothing, B one delivered and nothing pending", sa, sb)
			}
		})
	}
}

func statuses(calls []centralauthtest.Call) []int {
	var out []int
	for _, c := range calls {
		out = append(out, c.Status)
	}
	return out
}
