package session_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/centralauth-go/logout/session"
)

var (
	hashKey  = bytes.Repeat([]byte("h"), 32)
	hashKey2 = bytes.Repeat([]byte("H"), 64)
	blockKey = bytes.Repeat([]byte("b"), 32)
)

// t0 is when every synctest bubble starts: midnight UTC, 2000-01-01. Tests
// that depend on time run in a bubble, where the store, its revocation
// list and the test share one fake clock that moves only when the test
// sleeps. No test depends on today's date.
var t0 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// at runs f in a new synctest bubble once its clock reads t0+d. A Store
// holds no clock of its own, so cookies made in one bubble load in
// another: that is how a test sees a cookie from the future.
func at(t *testing.T, d time.Duration, f func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(d)
		f(t)
	})
}

func newStore(t *testing.T, opts ...session.Option) *session.Store {
	t.Helper()
	s, err := session.NewStore(hashKey, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// save runs Save and returns the Set-Cookie it wrote.
func save(t *testing.T, s *session.Store, sess *session.Session) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := s.Save(rec, sess); err != nil {
		t.Fatalf("Save: %v", err)
	}
	return onlyCookie(t, rec)
}

func onlyCookie(t *testing.T, rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	lines := rec.Result().Header.Values("Set-Cookie")
	if len(lines) != 1 {
		t.Fatalf("got %d Set-Cookie headers, want 1: %q", len(lines), lines)
	}
	c, err := http.ParseSetCookie(lines[0])
	if err != nil {
		t.Fatalf("ParseSetCookie(%q): %v", lines[0], err)
	}
	return c
}

func requestWith(cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/logout", nil)
	for _, c := range cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

func TestSaveThenLoad(t *testing.T) {
	tests := []struct {
		name string
		opts []session.Option
		in   session.Session
	}{
		{"signed only", nil, session.Session{AccessToken: "at.x.y", IDToken: "id.x.y"}},
		{"encrypted", []session.Option{session.WithEncryptionKey(blockKey)}, session.Session{AccessToken: "at"}},
		{"caller's ID kept", nil, session.Session{ID: "my-id", AccessToken: "at"}},
		{"with expiry", nil, session.Session{AccessToken: "at", Expires: t0.Add(time.Hour)}},
		{"empty tokens", nil, session.Session{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at(t, 0, func(t *testing.T) {
				s := newStore(t, tt.opts...)
				in := tt.in
				c := save(t, s, &in)
				if tt.in.ID == "" && len(in.ID) != 32 {
					t.Fatalf("Save set ID %q, want 32 hex characters", in.ID)
				}
				got, err := s.Load(requestWith(c))
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if got.ID != in.ID || got.AccessToken != in.AccessToken || got.IDToken != in.IDToken || !got.Expires.Equal(in.Expires) {
					t.Fatalf("Load = %+v, want %+v", *got, in)
				}
			})
		})
	}
}

func TestSaveGivesDistinctIDs(t *testing.T) {
	s := newStore(t)
	seen := map[string]bool{}
	for range 100 {
		var sess session.Session
		save(t, s, &sess)
		if seen[sess.ID] {
			t.Fatalf("ID %q repeated", sess.ID)
		}
		seen[sess.ID] = true
	}
}

func TestEncryptedCookieHidesTokens(t *testing.T) {
	s := newStore(t, session.WithEncryptionKey(blockKey))
	c := save(t, s, &session.Session{AccessToken: "SECRET-ACCESS-TOKEN"})
	raw, _ := base64.URLEncoding.DecodeString(c.Value)
	if strings.Contains(c.Value, "SECRET") || bytes.Contains(raw, []byte("SECRET")) {
		t.Fatal("token visible in the encrypted cookie")
	}
}

func TestCookieAttributes(t *testing.T) {
	tests := []struct {
		name       string
		opts       []session.Option
		wantName   string
		wantPath   string
		wantDomain string
		wantSecure bool
		wantSame   http.SameSite
		wantMaxAge int
	}{
		{"defaults", nil, "__Host-centralauth_session", "/", "", true, http.SameSiteLaxMode, 86400},
		{"all options", []session.Option{
			session.WithCookieName("app_a"), session.WithCookiePath("/app"), session.WithDomain("example.com"),
			session.WithInsecure(), session.WithSameSite(http.SameSiteStrictMode), session.WithMaxAge(time.Hour),
		}, "app_a", "/app", "example.com", false, http.SameSiteStrictMode, 3600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at(t, 0, func(t *testing.T) {
				s := newStore(t, tt.opts...)
				set := save(t, s, &session.Session{AccessToken: "at"})
				rec := httptest.NewRecorder()
				s.Clear(rec)
				cleared := onlyCookie(t, rec)
				for _, c := range []*http.Cookie{set, cleared} {
					if c.Name != tt.wantName || c.Path != tt.wantPath || c.Domain != tt.wantDomain ||
						c.Secure != tt.wantSecure || !c.HttpOnly || c.SameSite != tt.wantSame {
						t.Errorf("cookie %+v: want name %q path %q domain %q secure %v HttpOnly SameSite %v",
							c, tt.wantName, tt.wantPath, tt.wantDomain, tt.wantSecure, tt.wantSame)
					}
				}
				if set.MaxAge != tt.wantMaxAge || !set.Expires.Equal(t0.Add(time.Duration(tt.wantMaxAge)*time.Second)) {
					t.Errorf("Save: Max-Age %d, Expires %v; want %d", set.MaxAge, set.Expires, tt.wantMaxAge)
				}
				if cleared.Value != "" || cleared.MaxAge >= 0 || cleared.Expires.Year() != 1970 {
					t.Errorf("Clear: value %q, Max-Age %d, Expires %v; want empty, <0 and 1970", cleared.Value, cleared.MaxAge, cleared.Expires)
				}
			})
		})
	}
}

func TestSaveCapsMaxAgeAtExpires(t *testing.T) {
	at(t, 0, func(t *testing.T) {
		s := newStore(t)
		c := save(t, s, &session.Session{AccessToken: "at", Expires: t0.Add(10 * time.Minute)})
		if c.MaxAge != 600 {
			t.Fatalf("Max-Age %d, want 600", c.MaxAge)
		}
	})
}

func TestLoadRejects(t *testing.T) {
	s := newStore(t, session.WithMaxAge(time.Hour))
	var good, shortLived, foreign, future *http.Cookie
	at(t, 0, func(t *testing.T) {
		good = save(t, s, &session.Session{AccessToken: "at"})
		shortLived = save(t, s, &session.Session{AccessToken: "at", Expires: t0.Add(time.Minute)})
	})
	// Issued an hour after t0: to a bubble at t0, a cookie from a server
	// whose clock runs an hour fast.
	at(t, time.Hour, func(t *testing.T) { future = save(t, s, &session.Session{AccessToken: "at"}) })
	other, _ := session.NewStore(hashKey2)
	at(t, 0, func(t *testing.T) { foreign = save(t, other, &session.Session{AccessToken: "at"}) })

	flip := []byte(good.Value)
	flip[len(flip)/2] ^= 1

	tests := []struct {
		name    string
		cookie  string
		advance time.Duration
		want    error
	}{
		{"no cookie", "", 0, session.ErrNoSession},
		{"tampered", string(flip), 0, session.ErrInvalidSession},
		{"truncated", good.Value[:len(good.Value)-4], 0, session.ErrInvalidSession},
		{"signed with another key", foreign.Value, 0, session.ErrInvalidSession},
		{"garbage", "not-a-cookie", 0, session.ErrInvalidSession},
		{"empty value", `""`, 0, session.ErrInvalidSession},
		{"too long", strings.Repeat("A", 4097), 0, session.ErrInvalidSession},
		{"older than MaxAge", good.Value, time.Hour, session.ErrInvalidSession},
		{"past its Expires", shortLived.Value, time.Minute, session.ErrInvalidSession},
		{"issued in the future", future.Value, 0, session.ErrInvalidSession},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at(t, tt.advance, func(t *testing.T) {
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				if tt.cookie != "" {
					r.Header.Set("Cookie", "other=1; __Host-centralauth_session="+tt.cookie+"; more=2")
				}
				sess, err := s.Load(r)
				if !errors.Is(err, tt.want) || sess != nil {
					t.Fatalf("Load = %v, %v; want nil, %v", sess, err, tt.want)
				}
				if tt.cookie != "" && len(tt.cookie) > 8 && strings.Contains(err.Error(), tt.cookie[:8]) {
					t.Fatalf("error %q repeats the cookie", err)
				}
			})
		})
	}
	t.Run("still valid just before MaxAge", func(t *testing.T) {
		at(t, time.Hour-time.Second, func(t *testing.T) {
			if _, err := s.Load(requestWith(good)); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func TestKeyRotation(t *testing.T) {
	oldStore, err := session.NewStore(hashKey, session.WithEncryptionKey(blockKey))
	if err != nil {
		t.Fatal(err)
	}
	oldCookie := save(t, oldStore, &session.Session{AccessToken: "old"})

	newBlock := bytes.Repeat([]byte("n"), 16)
	rotated, err := session.NewStore(hashKey2, session.WithEncryptionKey(newBlock),
		session.WithPreviousKeys(hashKey, blockKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("old cookie still loads", func(t *testing.T) {
		got, err := rotated.Load(requestWith(oldCookie))
		if err != nil || got.AccessToken != "old" {
			t.Fatalf("Load = %v, %v", got, err)
		}
	})
	t.Run("new cookies use the new key", func(t *testing.T) {
		c := save(t, rotated, &session.Session{AccessToken: "new"})
		if _, err := oldStore.Load(requestWith(c)); !errors.Is(err, session.ErrInvalidSession) {
			t.Fatalf("old-key store loaded a new cookie: %v", err)
		}
		if got, err := rotated.Load(requestWith(c)); err != nil || got.AccessToken != "new" {
			t.Fatalf("Load = %v, %v", got, err)
		}
	})
}

func TestSaveTooLarge(t *testing.T) {
	tests := []struct {
		name string
		size int
	}{
		{"token just over the cookie limit after encoding", 2900},
		{"huge token", 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, session.WithEncryptionKey(blockKey))
			rec := httptest.NewRecorder()
			err := s.Save(rec, &session.Session{AccessToken: strings.Repeat("x", tt.size)})
			if !errors.Is(err, session.ErrTooLarge) {
				t.Fatalf("Save error %v, want ErrTooLarge", err)
			}
			if h := rec.Header().Values("Set-Cookie"); len(h) != 0 {
				t.Fatalf("Save wrote %d Set-Cookie headers despite the error", len(h))
			}
		})
	}
	t.Run("a realistic token fits", func(t *testing.T) {
		s := newStore(t, session.WithEncryptionKey(blockKey))
		c := save(t, s, &session.Session{AccessToken: strings.Repeat("a", 1200), IDToken: strings.Repeat("i", 600)})
		if len(c.String()) > 4096 {
			t.Fatalf("cookie of %d bytes", len(c.String()))
		}
	})
}

func TestNewStoreRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		key  []byte
		opts []session.Option
	}{
		{"short hash key", hashKey[:31], nil},
		{"nil hash key", nil, nil},
		{"encryption key of 20 bytes", hashKey, []session.Option{session.WithEncryptionKey(make([]byte, 20))}},
		{"short previous hash key", hashKey, []session.Option{session.WithPreviousKeys(make([]byte, 8), nil)}},
		{"bad previous encryption key", hashKey, []session.Option{session.WithPreviousKeys(hashKey, make([]byte, 5))}},
		{"empty cookie name", hashKey, []session.Option{session.WithCookieName("")}},
		{"cookie name with a separator", hashKey, []session.Option{session.WithCookieName("a;b")}},
		{"relative path", hashKey, []session.Option{session.WithCookiePath("app")}},
		{"path with a semicolon", hashKey, []session.Option{session.WithCookiePath("/a;Domain=evil")}},
		{"domain with a port", hashKey, []session.Option{session.WithDomain("example.com:80")}},
		{"unknown SameSite", hashKey, []session.Option{session.WithSameSite(http.SameSite(42))}},
		{"SameSite None without Secure", hashKey, []session.Option{session.WithSameSite(http.SameSiteNoneMode), session.WithInsecure()}},
		{"zero max age", hashKey, []session.Option{session.WithMaxAge(0)}},
		{"nil option", hashKey, []session.Option{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := session.NewStore(tt.key, tt.opts...)
			if !errors.Is(err, session.ErrInvalidConfig) || s != nil {
				t.Fatalf("NewStore = %v, %v; want nil, ErrInvalidConfig", s, err)
			}
		})
	}
}

// TestCookieNamePrefix is the cookie side of security finding 7: with the
// "__Host-" prefix a browser takes the cookie only if it is Secure, on
// Path "/" and host-only, so no sibling subdomain can toss one of the same
// name.
func TestCookieNamePrefix(t *testing.T) {
	tests := []struct {
		name     string
		opts     []session.Option
		wantName string // "" for ErrInvalidConfig
	}{
		{"default", nil, "__Host-centralauth_session"},
		{"insecure: no prefix", []session.Option{session.WithInsecure()}, "centralauth_session"},
		{"a path: no prefix", []session.Option{session.WithCookiePath("/app")}, "centralauth_session"},
		{"a domain: no prefix", []session.Option{session.WithDomain("example.com")}, "centralauth_session"},
		{"an explicit name is kept", []session.Option{session.WithCookieName("sid")}, "sid"},
		{"an explicit __Host- name", []session.Option{session.WithCookieName("__Host-sid")}, "__Host-sid"},
		{"__Host- with a domain", []session.Option{session.WithCookieName("__Host-sid"), session.WithDomain("example.com")}, ""},
		{"__Host- with a path", []session.Option{session.WithCookieName("__Host-sid"), session.WithCookiePath("/app")}, ""},
		{"__Host- insecure", []session.Option{session.WithCookieName("__Host-sid"), session.WithInsecure()}, ""},
		{"__Secure- insecure", []session.Option{session.WithCookieName("__Secure-sid"), session.WithInsecure()}, ""},
		{"__Secure- with a domain", []session.Option{session.WithCookieName("__Secure-sid"), session.WithDomain("example.com")}, "__Secure-sid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := session.NewStore(hashKey, tt.opts...)
			if tt.wantName == "" {
				if !errors.Is(err, session.ErrInvalidConfig) {
					t.Fatalf("NewStore error %v, want ErrInvalidConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c := save(t, s, &session.Session{}); c.Name != tt.wantName {
				t.Fatalf("cookie name %q, want %q", c.Name, tt.wantName)
			}
		})
	}
}
