package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/centralauth-go/logout/session"
)

// brokenList is a revocation list whose backend is down.
type brokenList struct{ err error }

func (b brokenList) Revoke(context.Context, string, time.Time) error { return b.err }
func (b brokenList) Revoked(context.Context, string) (bool, error)   { return false, b.err }

func newMemoryRevocations(t *testing.T, maxEntries int) *session.MemoryRevocations {
	t.Helper()
	list, err := session.NewMemoryRevocations(maxEntries)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestLoadChecksRevocations(t *testing.T) {
	errDown := errors.New("connection refused")
	tests := []struct {
		name        string
		opts        []session.Option
		revoke      bool
		wantErr     []error
		wantSession bool
	}{
		{"not revoked", nil, false, nil, true},
		{"revoked, with the default list", nil, true, []error{session.ErrRevoked, session.ErrInvalidSession}, false},
		{"revoked, with a list given", []session.Option{session.WithRevocations(newMemoryRevocations(t, 10))}, true, []error{session.ErrRevoked, session.ErrInvalidSession}, false},
		{"list down", []session.Option{session.WithRevocations(brokenList{errDown})}, false, []error{session.ErrRevocationUnavailable, errDown}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, tt.opts...)
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
			at(t, 0, func(t *testing.T) {
				list := newMemoryRevocations(t, 10)
				s := newStore(t, session.WithMaxAge(time.Hour), session.WithRevocations(list))
				sess := &session.Session{ID: "s1"}
				if tt.expires != 0 {
					sess.Expires = t0.Add(tt.expires)
				}
				if err := s.Revoke(t.Context(), sess); err != nil {
					t.Fatal(err)
				}
				// Load tolerates a minute of clock skew; so does the entry.
				time.Sleep(tt.want + time.Minute - time.Second)
				if r, _ := list.Revoked(t.Context(), "s1"); !r {
					t.Fatal("entry gone before the cookie could expire")
				}
				time.Sleep(time.Second)
				if r, _ := list.Revoked(t.Context(), "s1"); r {
					t.Fatal("entry outlived the cookie")
				}
			})
		})
	}
}

func TestMemoryRevocationsBound(t *testing.T) {
	at(t, 0, testMemoryRevocationsBound)
}

func testMemoryRevocationsBound(t *testing.T) {
	list := newMemoryRevocations(t, 3)
	ctx := t.Context()
	revoke := func(id string, until time.Duration) {
		t.Helper()
		if err := list.Revoke(ctx, id, t0.Add(until)); err != nil {
			t.Fatalf("Revoke(%s): %v", id, err)
		}
	}
	revoked := func(id string) bool {
		r, err := list.Revoked(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for i := range 3 {
		revoke("id"+strconv.Itoa(i), time.Duration(i+1)*time.Minute)
	}

	// A full list takes the new entry and evicts the one that expires
	// soonest, never the new one. Revoked answers for the IDs on the list;
	// a Store also refuses the evicted ones' cookies by their issue time
	// (TestEvictedRevocationStillRefused).
	revoke("id3", time.Hour)
	if revoked("id0") || !revoked("id1") || !revoked("id2") || !revoked("id3") {
		t.Fatal("want id0 (the soonest to expire) evicted and id1 to id3 kept")
	}
	// An entry that expires soonest is evicted even when it is the newest
	// but one: what counts is the expiry, not the age.
	revoke("id4", 30*time.Second)
	if revoked("id1") || !revoked("id4") {
		t.Fatal("want id1 evicted for id4")
	}

	// Expired entries make room before anything is evicted.
	time.Sleep(150 * time.Second) // id4 and id2 expired
	revoke("id5", time.Hour)
	revoke("id6", time.Hour)
	if !revoked("id3") || !revoked("id5") || !revoked("id6") {
		t.Fatal("an unexpired entry was evicted while expired ones made room")
	}

	// Re-revoking keeps the later time.
	revoke("id3", 3*time.Minute)
	time.Sleep(10 * time.Minute)
	if !revoked("id3") {
		t.Fatal("an earlier time shortened the entry")
	}
}

// TestFullListStillRevokesTheVictim is finding 4 of the security audit: one
// account logging in and out 100,000 times filled the list, after which
// every Revoke failed and a stolen copy of a victim's cookie loaded after
// the victim's logout.
func TestFullListStillRevokesTheVictim(t *testing.T) {
	at(t, 0, func(t *testing.T) {
		const max = 100_000
		list := newMemoryRevocations(t, max)
		store := newStore(t, session.WithRevocations(list))
		ctx := t.Context()
		for i := range max {
			if err := store.Revoke(ctx, &session.Session{ID: "attacker-" + strconv.Itoa(i)}); err != nil {
				t.Fatalf("attacker's revoke %d: %v", i, err)
			}
		}
		time.Sleep(time.Second) // the victim logs out after the flood
		victim := &session.Session{AccessToken: "at"}
		stolen := save(t, store, victim)
		if _, err := store.Logout(ctx, httptest.NewRecorder(), requestWith(stolen)); err != nil {
			t.Fatalf("the victim's logout on a full list: %v", err)
		}
		if _, err := store.Load(requestWith(stolen)); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("the stolen copy after the victim's logout: Load error %v, want ErrRevoked", err)
		}
	})
}

// TestEvictedRevocationStillRefused is the audit's finding that a full
// memory list forgot what it evicted: a copy of an evicted session's cookie
// loaded again, silently. The list fails closed instead: until every
// evicted entry would have expired, the Store refuses each cookie issued
// before the evicted revocations, and only those.
func TestEvictedRevocationStillRefused(t *testing.T) {
	at(t, 0, func(t *testing.T) {
		list := newMemoryRevocations(t, 3)
		store := newStore(t, session.WithMaxAge(time.Hour), session.WithRevocations(list))
		ctx := t.Context()
		load := func(c *http.Cookie) error {
			t.Helper()
			_, err := store.Load(requestWith(c))
			return err
		}

		neverLoggedOut := save(t, store, &session.Session{AccessToken: "at"})
		// Three victims log out; their cookies, which end in 10 minutes,
		// had been copied. They fill the list.
		var victims []*session.Session
		var stolen []*http.Cookie
		for range 3 {
			v := &session.Session{AccessToken: "at", Expires: t0.Add(10 * time.Minute)}
			stolen = append(stolen, save(t, store, v))
			if err := store.Revoke(ctx, v); err != nil {
				t.Fatal(err)
			}
			victims = append(victims, v)
		}

		// A later logout evicts one of them: the one that expires soonest,
		// which here could be any of the three.
		time.Sleep(2 * time.Minute)
		later := &session.Session{AccessToken: "at"}
		save(t, store, later)
		if err := store.Revoke(ctx, later); err != nil {
			t.Fatal(err)
		}
		onList := 0
		for _, v := range victims {
			if r, _ := list.Revoked(ctx, v.ID); r {
				onList++
			}
		}
		if onList != 2 {
			t.Fatalf("%d of the 3 victims still on the list, want 2: no eviction to test", onList)
		}

		for i, c := range stolen {
			if err := load(c); !errors.Is(err, session.ErrRevoked) || !errors.Is(err, session.ErrInvalidSession) {
				t.Fatalf("stolen cookie %d after its session's revocation was evicted: Load error %v, want ErrRevoked", i, err)
			}
		}
		// The cost of failing closed: a session issued before the evicted
		// revocations cannot be told from theirs, so it must log in again.
		if err := load(neverLoggedOut); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("a session as old as the evicted ones: Load error %v, want ErrRevoked", err)
		}
		time.Sleep(time.Minute)
		if err := load(save(t, store, &session.Session{AccessToken: "at"})); err != nil {
			t.Fatalf("a session issued after the eviction: %v", err)
		}

		// Once every evicted entry would have expired (the victims' cookies
		// end at 10 minutes, their entries a minute later), nothing is
		// refused for the eviction any more.
		time.Sleep(11*time.Minute - 3*time.Minute - time.Second)
		if err := load(neverLoggedOut); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("a second before the evicted entries end: Load error %v, want ErrRevoked", err)
		}
		time.Sleep(time.Second)
		if err := load(neverLoggedOut); err != nil {
			t.Fatalf("after the evicted entries would have expired: %v", err)
		}
	})
}

// TestLogoutWhileAFullListRefuses: a logout of a session that a full
// memory list refuses by issue time revokes it all the same, so that a copy
// of its cookie still fails once the list stops refusing by issue time.
func TestLogoutWhileAFullListRefuses(t *testing.T) {
	at(t, 0, func(t *testing.T) {
		list := newMemoryRevocations(t, 2)
		store := newStore(t, session.WithMaxAge(time.Hour), session.WithRevocations(list))
		ctx := t.Context()
		revoke := func(expires time.Duration) {
			t.Helper()
			if err := store.Revoke(ctx, &session.Session{ID: "other-" + expires.String(), Expires: time.Now().Add(expires)}); err != nil {
				t.Fatal(err)
			}
		}
		copied := save(t, store, &session.Session{AccessToken: "at"})
		untouched := save(t, store, &session.Session{AccessToken: "at"})
		revoke(10 * time.Minute)
		revoke(9 * time.Minute)
		time.Sleep(2 * time.Minute)
		// Evicts the 9-minute session, whose entry ends at 10 minutes.
		revoke(3 * time.Minute)

		time.Sleep(5 * time.Minute) // the 3-minute entry has made room
		ended, err := store.Logout(ctx, httptest.NewRecorder(), requestWith(copied))
		if len(ended) != 0 || !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("Logout while the list refuses the session = %v, %v; want no session, ErrRevoked", ended, err)
		}

		time.Sleep(3 * time.Minute) // the evicted entry has expired
		if _, err := store.Load(requestWith(untouched)); err != nil {
			t.Fatalf("the list still refuses by issue time: %v", err)
		}
		if _, err := store.Load(requestWith(copied)); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("a copy of the cookie logged out while the list refused it: Load error %v, want ErrRevoked", err)
		}
	})
}

func TestRevokeRefusesATimeAlreadyPast(t *testing.T) {
	at(t, time.Hour, func(t *testing.T) {
		list := newMemoryRevocations(t, 10)
		for _, until := range []time.Time{time.Now(), time.Now().Add(-time.Second), {}} {
			if err := list.Revoke(t.Context(), "s1", until); err == nil {
				t.Fatalf("Revoke until %v = nil, want an error: the entry would never hold", until)
			}
		}
		// Through a Store the case cannot arise: a session whose cookie
		// has expired is not revoked, because it no longer loads.
		store := newStore(t, session.WithRevocations(list))
		if err := store.Revoke(t.Context(), &session.Session{ID: "s2", Expires: time.Now().Add(-time.Hour)}); err != nil {
			t.Fatalf("Store.Revoke of an expired session: %v", err)
		}
	})
}

func TestRevocationConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		err  func() error
	}{
		{"nil list", func() error { _, err := session.NewStore(hashKey, session.WithRevocations(nil)); return err }},
		{"zero max entries", func() error { _, err := session.NewMemoryRevocations(0); return err }},
		{"negative max entries", func() error { _, err := session.NewMemoryRevocations(-1); return err }},
		{"a TokenCookie keeps no list", func() error {
			_, err := session.NewTokenCookie(session.WithRevocations(newMemoryRevocations(t, 1)))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.err(); !errors.Is(err, session.ErrInvalidConfig) {
				t.Fatalf("error %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// TestDefaultStoreRefusesLoggedOutCookie is the replay that OWASP ASVS
// V7.4.1 forbids: a copy of the cookie taken before logout must not load
// after it, with a Store built from its key and nothing else.
func TestDefaultStoreRefusesLoggedOutCookie(t *testing.T) {
	store, err := session.NewStore(hashKey)
	if err != nil {
		t.Fatal(err)
	}
	copied := save(t, store, &session.Session{AccessToken: "at"})
	if _, err := store.Load(requestWith(copied)); err != nil {
		t.Fatalf("before logout: %v", err)
	}
	rec := httptest.NewRecorder()
	ended, err := store.Logout(t.Context(), rec, requestWith(copied))
	if err != nil || len(ended) != 1 || ended[0].AccessToken != "at" {
		t.Fatalf("Logout = %v, %v", ended, err)
	}
	if c := onlyCookie(t, rec); c.Value != "" || c.MaxAge >= 0 {
		t.Fatalf("Logout did not clear the cookie: %v", c)
	}
	if _, err := store.Load(requestWith(copied)); !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("the copied cookie after logout: Load error %v, want ErrRevoked", err)
	}
}

func TestStoreLogout(t *testing.T) {
	errDown := errors.New("connection refused")
	tests := []struct {
		name        string
		list        session.RevocationList
		cookie      func(t *testing.T, s *session.Store) *http.Cookie
		wantSession bool
		wantErr     error
	}{
		{"no cookie", nil, func(*testing.T, *session.Store) *http.Cookie { return nil }, false, session.ErrNoSession},
		{"forged cookie", nil, func(*testing.T, *session.Store) *http.Cookie {
			return &http.Cookie{Name: "__Host-centralauth_session", Value: "forged"}
		}, false, session.ErrInvalidSession},
		{"already logged out", nil, func(t *testing.T, s *session.Store) *http.Cookie {
			sess := &session.Session{AccessToken: "at"}
			c := save(t, s, sess)
			if err := s.Revoke(t.Context(), sess); err != nil {
				t.Fatal(err)
			}
			return c
		}, false, session.ErrRevoked},
		{"list down: the session still ends, unrevoked", brokenList{errDown}, func(t *testing.T, s *session.Store) *http.Cookie {
			return save(t, s, &session.Session{AccessToken: "at"})
		}, true, errDown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []session.Option
			if tt.list != nil {
				opts = append(opts, session.WithRevocations(tt.list))
			}
			s := newStore(t, opts...)
			r := httptest.NewRequest(http.MethodPost, "/logout", nil)
			if c := tt.cookie(t, s); c != nil {
				r.AddCookie(c)
			}
			rec := httptest.NewRecorder()
			sess, err := s.Logout(t.Context(), rec, r)
			if !errors.Is(err, tt.wantErr) || (len(sess) == 1) != tt.wantSession {
				t.Fatalf("Logout = %v, %v; want session %v, error %v", sess, err, tt.wantSession, tt.wantErr)
			}
			if c := onlyCookie(t, rec); c.Value != "" || c.MaxAge >= 0 {
				t.Fatalf("Logout did not clear the cookie: %v", c)
			}
		})
	}
}
