package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/middleware"
	"github.com/centralauth-go/logout/session"
)

// Proof 4 (Redis only): Redis stops mid-run. Loading a session fails closed
// with ErrRevocationUnavailable, logout still works, the workers ride it
// out, nothing panics and no goroutine is left behind. After Redis restarts
// (append-only file on), the entries queued before are still there and get
// delivered.
func TestRedisOutage(t *testing.T) {
	tests := []struct {
		name string
		down func(t *testing.T, c *cluster)
	}{
		{"graceful stop", func(t *testing.T, c *cluster) { c.redis.Stop() }},
		{"crash", func(t *testing.T, c *cluster) { c.redis.Kill() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// First registered, so it runs after every other cleanup:
			// workers stopped, clients closed, servers down.
			before := goleak.IgnoreCurrent()
			t.Cleanup(func() {
				if err := findLeaks(before); err != nil {
					t.Error(err)
				}
			})
			testRedisOutage(t, tt.down)
		})
	}
}

func testRedisOutage(t *testing.T, down func(*testing.T, *cluster)) {
	const queued = 5
	c := newCluster(t, redisBE, settings{lease: 2 * time.Second})
	a, b := c.newInstance("A"), c.newInstance("B")
	ins := []*instance{a, b}

	// CentralAuth is down while five users log out: five queued logouts.
	c.ca.InjectFault(centralauthtest.Fault{Status: http.StatusServiceUnavailable, Times: queued})
	var us []user
	for i := range queued {
		in := ins[i%2]
		u := in.login(fmt.Sprint("user", i))
		us = append(us, u)
		wantLoggedOut(t, in.logout(u))
		if ev, _ := in.event(u); ev.Remote != middleware.RemoteQueued || ev.RevokeErr != nil {
			t.Fatalf("logout %d: outcome %v, RevokeErr %v; want queued, revoked", i, ev.Remote, ev.RevokeErr)
		}
	}
	stillIn, leaving := a.login("still-in"), b.login("leaving")
	if s := stats(ins...); s.Pending != queued {
		t.Fatalf("Pending %d, want %d", s.Pending, queued)
	}

	down(t, c)

	// The workers start against a dead Redis, and keep polling.
	for _, in := range ins {
		in.startWorker()
	}
	testutil.WaitFor(t, 10*time.Second, "every worker to fail three claims", func() bool {
		for _, in := range ins {
			if _, _, failed := in.queue.counts(); failed < 3 {
				return false
			}
		}
		return true
	})

	// A valid cookie does not load: the list cannot say it was not revoked.
	start := time.Now()
	err := a.load(stillIn)
	if !errors.Is(err, session.ErrRevocationUnavailable) || errors.Is(err, session.ErrInvalidSession) {
		t.Fatalf("Load with Redis down: %v, want ErrRevocationUnavailable", err)
	}
	t.Logf("Load failed closed after %v", time.Since(start))

	// Logging out still clears the cookie and ends the CentralAuth session;
	// the failed revocation is reported.
	wantLoggedOut(t, b.logout(leaving))
	ev, ok := b.event(leaving)
	if !ok || ev.RevokeErr == nil || ev.Remote != middleware.RemoteDelivered {
		t.Fatalf("logout with Redis down: event %+v, want RevokeErr set and the remote logout delivered", ev)
	}
	if c.ca.Active(leaving.ca.AccessToken) {
		t.Fatal("CentralAuth session still active after logout with Redis down")
	}
	if !strings.Contains(c.logs.String(), "could not revoke the session") {
		t.Fatal("the failed revocation was not logged")
	}
	for _, in := range ins {
		if s := in.stats(); s.Pending != -1 {
			t.Fatalf("%s Stats().Pending = %d with Redis down, want -1", in.name, s.Pending)
		}
	}
	for i, u := range us {
		if !c.ca.Active(u.ca.AccessToken) {
			t.Fatalf("user %d's session ended while its logout could only be in Redis", i)
		}
	}

	// Redis comes back. Hold the first two deliveries at CentralAuth, so
	// that the queue can be seen whole before it drains.
	hold := make(chan struct{})
	c.ca.InjectFault(centralauthtest.Fault{Block: hold, Times: 2})
	callsBefore := len(c.ca.Calls())
	c.redis.Restart()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// Nothing can be acknowledged while CentralAuth holds the deliveries.
	n, err := c.redis.Client(t).ZCard(ctx, "centralauth:outbox:due").Result()
	if err != nil || n != queued {
		close(hold)
		t.Fatalf("after the restart the queue holds %d entries (%v), want %d", n, err, queued)
	}
	// The workers found Redis again by themselves.
	err = c.ca.WaitCalls(ctx, callsBefore+2)
	close(hold)
	if err != nil {
		t.Fatal(err)
	}

	testutil.WaitFor(t, 20*time.Second, "the queued logouts to be delivered", func() bool {
		return c.allInactive(us) && stats(ins...).Pending == 0
	}, c.progress(us, ins...))
	if s := stats(ins...); s.Delivered != queued || s.Dropped != 0 {
		t.Fatalf("Stats %+v, want %d delivered, none dropped", s, queued)
	}
	accepted := c.accepted()
	for i, u := range us {
		if accepted[u.ca.ID] != 1 {
			t.Fatalf("user %d's logout accepted %d times, want once", i, accepted[u.ca.ID])
		}
	}
	// The revocations made before the outage survived it too.
	for i, u := range us {
		if err := b.load(u); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("user %d's old cookie after the restart: %v, want ErrRevoked", i, err)
		}
	}
}
