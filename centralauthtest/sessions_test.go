package centralauthtest

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/internal/testutil"
)

func TestSignIn(t *testing.T) {
	clk := testutil.NewClock(fixedStart)
	ca := newFake(t, withNow(clk.Now))
	a := ca.SignIn("ada@example.com")
	clk.Advance(time.Second)
	b := ca.SignIn("bob@example.com")

	t.Run("fields", func(t *testing.T) {
		if a.Email != "ada@example.com" || !a.Active || !a.CreatedAt.Equal(fixedStart) || !a.EndedAt.IsZero() || !strings.HasPrefix(a.ID, "ses_") {
			t.Errorf("session = %+v, want an active session of ada created at %v", a, fixedStart)
		}
	})
	t.Run("tokens look like JWE compact serialization", func(t *testing.T) {
		for name, tok := range map[string]string{"access": a.AccessToken, "ID": a.IDToken} {
			parts := strings.Split(tok, ".")
			if len(parts) != 5 {
				t.Errorf("%s token has %d parts, want 5: %q", name, len(parts), tok)
				continue
			}
			for i, p := range parts {
				if _, err := base64.RawURLEncoding.DecodeString(p); err != nil || p == "" {
					t.Errorf("%s token part %d = %q is not non-empty base64url: %v", name, i, p, err)
				}
			}
		}
	})
	t.Run("tokens are distinct", func(t *testing.T) {
		seen := map[string]bool{}
		for _, tok := range []string{a.AccessToken, a.IDToken, b.AccessToken, b.IDToken} {
			if seen[tok] {
				t.Errorf("token %q issued twice", tok)
			}
			seen[tok] = true
		}
		if a.ID == b.ID {
			t.Errorf("two sessions share the ID %q", a.ID)
		}
	})
	t.Run("Sessions newest first", func(t *testing.T) {
		got := slices.Collect(ca.Sessions())
		if len(got) != 2 || got[0] != b || got[1] != a {
			t.Errorf("Sessions() = %+v, want [bob, ada]", got)
		}
	})
	t.Run("Sessions stops when the loop does", func(t *testing.T) {
		n := 0
		for range ca.Sessions() {
			n++
			break
		}
		if n != 1 {
			t.Errorf("the loop ran %d times, want 1", n)
		}
	})
	t.Run("the loop may call the fake", func(t *testing.T) {
		// Sessions must not hold its lock while the loop body runs.
		for s := range ca.Sessions() {
			if !ca.Active(s.AccessToken) {
				t.Errorf("session %s is not active", s.ID)
			}
		}
	})
	t.Run("Active", func(t *testing.T) {
		for _, tok := range []string{b.AccessToken, b.IDToken} {
			if !ca.Active(tok) {
				t.Errorf("Active(a token of bob's session) = false")
			}
		}
		if ca.Active("unknown") {
			t.Error("Active is true for an unknown token")
		}
	})
}

func TestEndSession(t *testing.T) {
	clk := testutil.NewClock(fixedStart)
	ca := newFake(t, withNow(clk.Now))
	a := ca.SignIn("ada@example.com")
	b := ca.SignIn("bob@example.com")
	clk.Advance(time.Minute)

	if !ca.EndSession(a.IDToken) {
		t.Fatal("EndSession(a known token) = false")
	}
	clk.Advance(time.Minute)
	if !ca.EndSession(a.AccessToken) {
		t.Fatal("EndSession(an ended session's token) = false")
	}
	if ca.EndSession("unknown") {
		t.Error("EndSession(an unknown token) = true")
	}
	ended, _ := ca.session(a.AccessToken)
	if ended.Active || !ended.EndedAt.Equal(fixedStart.Add(time.Minute)) {
		t.Errorf("session = %+v, want ended at the first EndSession, %v", ended, fixedStart.Add(time.Minute))
	}
	if ca.Active(a.AccessToken) || ca.Active(a.IDToken) || !ca.Active(b.AccessToken) {
		t.Error("EndSession ended another session, or not both tokens of its own")
	}
}
