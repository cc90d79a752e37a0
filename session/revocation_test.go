package session_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/session"
)

// brokenList is a revocation list whose backend is down.
type brokenList struct{ err error }

func (b brokenList) Revoke(context.Context, string, time.Time) error { return b.err }
func (b brokenList) Revoked(context.Context, string) (bool, error)   { return false, b.err }

func TestLoadChecksRevocations(t *testing.T) {
	errDown := errors.New("connection refused")
	tests := []struct {
		name        string
		list        session.RevocationList
		revoke      bool
		wantErr     []error
		wantSession bool
	}{
		{"not revoked", session.NewMemoryRevocations(), false, nil, true},
		{"revoked", session.NewMemoryRevocations(), true, []error{session.ErrRevoked, session.ErrInvalidSession}, false},
		{"list down", brokenList{errDown}, false, []error{session.ErrRevocationUnavailable, errDown}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t, session.WithRevocations(tt.list))
			sess := &session.Session{AccessToken: "at"}
			c := save(t, s, sess)
			if tt.revoke {
				if err := s.Revoke(t.Context(), sess); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Load(requestWith(c))
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Fatalf("Load error %v does not match %v", err, want)
				}
			}
			if (got != nil) != tt.wantSession || (err == nil) != tt.wantSession {
				t.Fatalf("Load = %v, %v", got, err)
			}
			if errors.Is(err, session.ErrRevocationUnavailable) && errors.Is(err, session.ErrInvalidSession) {
				t.Fatal("an unreachable list must not look like a bad cookie")
			}
		})
	}
}

func TestStoreRevokeLastsUntilTheCookieExpires(t *testing.T) {
	tests := []struct {
		name    string
		expires time.Duration // 0: unset
		want    time.Duration
	}{
		{"MaxAge when Expires is unset", 0, time.Hour},
		{"Expires when sooner", 10 * time.Minute, 10 * time.Minute},
		{"MaxAge when Expires is later", 5 * time.Hour, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := testutil.NewClock(t0)
			list := session.NewMemoryRevocations(session.WithMemoryClock(clk))
			s, err := session.NewStore(hashKey, session.WithClock(clk), session.WithMaxAge(time.Hour), session.WithRevocations(list))
			if err != nil {
				t.Fatal(err)
			}
			sess := &session.Session{ID: "s1"}
			if tt.expires != 0 {
				sess.Expires = t0.Add(tt.expires)
			}
			if err := s.Revoke(t.Context(), sess); err != nil {
				t.Fatal(err)
			}
			// Load tolerates a minute of clock skew; so does the entry.
			clk.Advance(tt.want + time.Minute - time.Second)
			if r, _ := list.Revoked(t.Context(), "s1"); !r {
				t.Fatal("entry gone before the cookie could expire")
			}
			clk.Advance(time.Second)
			if r, _ := list.Revoked(t.Context(), "s1"); r {
				t.Fatal("entry outlived the cookie")
			}
		})
	}
}

func TestMemoryRevocationsBound(t *testing.T) {
	clk := testutil.NewClock(t0)
	list := session.NewMemoryRevocations(session.WithMaxEntries(3), session.WithMemoryClock(clk))
	ctx := t.Context()
	for i := range 3 {
		if err := list.Revoke(ctx, "id"+strconv.Itoa(i), t0.Add(time.Duration(i+1)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("full is an error, not a silent drop", func(t *testing.T) {
		if err := list.Revoke(ctx, "id3", t0.Add(time.Hour)); !errors.Is(err, session.ErrRevocationListFull) {
			t.Fatalf("Revoke past the bound: %v", err)
		}
		for i := range 3 {
			if r, _ := list.Revoked(ctx, "id"+strconv.Itoa(i)); !r {
				t.Fatalf("id%d was dropped", i)
			}
		}
	})
	t.Run("expired entries make room", func(t *testing.T) {
		clk.Advance(90 * time.Second) // id0 expired
		if err := list.Revoke(ctx, "id3", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if list.Len() != 3 {
			t.Fatalf("Len = %d, want 3", list.Len())
		}
	})
	t.Run("re-revoking keeps the later time", func(t *testing.T) {
		if err := list.Revoke(ctx, "id3", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		clk.Advance(10 * time.Minute)
		if r, _ := list.Revoked(ctx, "id3"); !r {
			t.Fatal("an earlier time shortened the entry")
		}
	})
}

func TestWithRevocationsRejectsBadLists(t *testing.T) {
	tests := []struct {
		name string
		list session.RevocationList
	}{
		{"nil", nil},
		{"bad option", session.NewMemoryRevocations(session.WithMaxEntries(0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := session.NewStore(hashKey, session.WithRevocations(tt.list)); !errors.Is(err, session.ErrInvalidConfig) {
				t.Fatalf("NewStore error %v, want ErrInvalidConfig", err)
			}
		})
	}
	if tc := session.NewTokenCookie(session.WithRevocations(session.NewMemoryRevocations())); !errors.Is(tc.Err(), session.ErrInvalidConfig) {
		t.Fatalf("TokenCookie accepted WithRevocations: %v", tc.Err())
	}
}
