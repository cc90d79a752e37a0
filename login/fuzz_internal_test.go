package login

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/returnto"
)

// FuzzDecodePending feeds arbitrary state cookie values to the decoder: it
// must never panic, must refuse with errMalformed, and must accept only
// what encode writes: the value re-encodes to itself, and every field is in
// its one canonical form, so that no two values mean the same login.
func FuzzDecodePending(f *testing.F) {
	valid := newPending("/account?tab=2", time.Unix(1700000000, 0))
	f.Add(valid.encode())
	f.Add("")
	f.Add("1....")
	f.Fuzz(func(t *testing.T, v string) {
		p, err := decodePending(v)
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("decodePending(%q) = %v, want errMalformed", v, err)
			}
			return
		}
		if got := p.encode(); got != v {
			t.Fatalf("decodePending(%q) re-encodes to %q", v, got)
		}
		for _, field := range []struct {
			name, s string
			n       int // bytes
		}{{"state", p.state, 16}, {"verifier", p.verifier, 32}, {"return_to", base64.RawURLEncoding.EncodeToString([]byte(p.returnTo)), len(p.returnTo)}} {
			b, err := base64.RawURLEncoding.DecodeString(field.s)
			if err != nil || len(b) != field.n || base64.RawURLEncoding.EncodeToString(b) != field.s {
				t.Fatalf("decodePending(%q) accepted the %s %q, not %d bytes in canonical base64url", v, field.name, field.s, field.n)
			}
		}
		if p.returnTo == "" || p.started <= 0 {
			t.Fatalf("decodePending(%q) accepted %+v", v, p)
		}
	})
}

// What Login writes, Callback reads back, up to the longest return_to that
// package returnto allows.
func TestPendingRoundTrip(t *testing.T) {
	for _, returnTo := range []string{"/", "/account?tab=2#top", "https://app.example.com/x", "/" + strings.Repeat("a", returnto.MaxLength-1)} {
		p := newPending(returnTo, time.Unix(1700000000, 0))
		got, err := decodePending(p.encode())
		if err != nil || got != p {
			t.Errorf("return_to of %d bytes: decodePending(encode()) = %+v, %v; want %+v", len(returnTo), got, err, p)
		}
	}
}
