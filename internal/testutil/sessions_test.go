package testutil

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestIssueSession(t *testing.T) {
	clk := NewClock(fixedStart)
	ca := newFake(t, WithClock(clk))
	a := ca.IssueSession("ada")
	clk.Advance(time.Second)
	b := ca.IssueSession("bob")

	t.Run("fields", func(t *testing.T) {
		if a.User != "ada" || !a.Active || !a.CreatedAt.Equal(fixedStart) || !a.EndedAt.IsZero() || a.ID == "" {
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
	t.Run("Sessions in creation order", func(t *testing.T) {
		got := ca.Sessions()
		if len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID {
			t.Errorf("Sessions() = %+v, want [ada, bob]", got)
		}
	})
	t.Run("Sessions is a snapshot", func(t *testing.T) {
		got := ca.Sessions()
		got[0].Active = false
		if !ca.Active(a.AccessToken) {
			t.Error("changing the snapshot changed the fake")
		}
	})
	t.Run("SessionByToken", func(t *testing.T) {
		for _, tok := range []string{b.AccessToken, b.IDToken} {
			if got, ok := ca.SessionByToken(tok); !ok || got != b {
				t.Errorf("SessionByToken = %+v, %v; want %+v", got, ok, b)
			}
		}
		if _, ok := ca.SessionByToken("unknown"); ok {
			t.Error("SessionByToken found an unknown token")
		}
		if ca.Active("unknown") {
			t.Error("Active is true for an unknown token")
		}
	})
}
