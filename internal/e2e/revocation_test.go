package e2e

import (
	"errors"
	"testing"

	"github.com/centralauth-go/logout/session"
)

// Proof 1: a logout through instance A makes the old cookie, replayed
// against instance B, fail with ErrRevoked. With the memory list there is
// a single instance, so A and B are the same.
func TestLogoutRevokesTheCookieOnEveryInstance(t *testing.T) {
	for _, b := range bothKinds {
		t.Run(b.name, func(t *testing.T) {
			c := newCluster(t, b, settings{})
			a := c.newInstance("A")
			other := a
			if b.redis {
				other = c.newInstance("B") // its own store and Redis client
			}
			alice := a.login("alice")
			bob := a.login("bob")
			for _, u := range []user{alice, bob} {
				if err := other.load(u); err != nil {
					t.Fatalf("cookie does not load on %s before logout: %v", other.name, err)
				}
			}

			wantLoggedOut(t, a.logout(alice))
			if ev, ok := a.event(alice); !ok || ev.RevokeErr != nil {
				t.Fatalf("logout event %+v (found %v), want one without RevokeErr", ev, ok)
			}

			replay := map[string]*instance{"A": a}
			if other != a {
				replay["B"] = other
			}
			for name, in := range replay {
				err := in.load(alice)
				if !errors.Is(err, session.ErrRevoked) || !errors.Is(err, session.ErrInvalidSession) {
					t.Fatalf("old cookie replayed on %s: %v, want ErrRevoked", name, err)
				}
			}
			// Only that session: another user's cookie still works.
			if err := other.load(bob); err != nil {
				t.Fatalf("an unrelated cookie stopped loading: %v", err)
			}
			// And CentralAuth ended alice's session, not bob's.
			if c.ca.Active(alice.ca.AccessToken) || !c.ca.Active(bob.ca.AccessToken) {
				t.Fatalf("CentralAuth sessions active: alice %v, bob %v; want false, true",
					c.ca.Active(alice.ca.AccessToken), c.ca.Active(bob.ca.AccessToken))
			}
		})
	}
}
