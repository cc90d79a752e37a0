package sessioncheck_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
	"github.com/centralauth-go/logout/sessioncheck"
	"github.com/centralauth-go/logout/token"
)

// BenchmarkSessionCheck is issue 10's first target: a handler behind
// Check.Middleware, with the session's answer cached, against the
// same handler loading the session with a bare Store.Load.
func BenchmarkSessionCheck(b *testing.B) {
	store, err := session.NewStore(hashKey, session.WithEncryptionKey(hashKey))
	if err != nil {
		b.Fatal(err)
	}
	ca := &userinfo{answer: func(string) (remote.User, error) { return ada, nil }}
	check, err := sessioncheck.New(store, ca, sessioncheck.WithInterval(time.Hour), sessioncheck.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := store.Save(rec, &session.Session{AccessToken: strings.Repeat("t", 900)}); err != nil {
		b.Fatal(err)
	}
	cookie := rec.Result().Cookies()[0]
	var seen string
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sess, err := store.Load(r); err == nil {
			seen = sess.ID
		}
	})
	checked := check.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cs, ok := sessioncheck.From(r.Context()); ok {
			seen = cs.Session.ID
		}
	}))
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"impl=load", bare}, {"impl=check", checked}} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.AddCookie(cookie)
			w := newDiscardWriter()
			bc.h.ServeHTTP(w, r) // the first check asks; the rest are cached
			seen = ""
			b.ReportAllocs()
			for b.Loop() {
				bc.h.ServeHTTP(w, r)
			}
			if seen == "" || ca.calls.Load() > 1 {
				b.Fatalf("session %q, %d calls", seen, ca.calls.Load())
			}
		})
	}
}

// BenchmarkCachedCheckWithTokens is issue 21's target: a cached check of
// a session whose token is a real JWE, without WithEndedSessions and with
// it (a memory list), on the same session. The token is decrypted once, at
// the first check; what each cached request adds is the list's lookup.
// store=cookie is the app's cost, its signed and encrypted cookie
// included; store=fixed leaves the cookie out, to show what the lookup adds
// to the check alone. Compare with benchstat -col /tokens.
func BenchmarkCachedCheckWithTokens(b *testing.B) {
	fake := centralauthtest.Start(b, "org", orgSecret)
	dec, err := token.NewDecrypter(orgSecret)
	if err != nil {
		b.Fatal(err)
	}
	cookies, err := session.NewStore(hashKey, session.WithEncryptionKey(hashKey))
	if err != nil {
		b.Fatal(err)
	}
	sess := &session.Session{AccessToken: fake.SignIn("ada@example.com").AccessToken}
	rec := httptest.NewRecorder()
	if err := cookies.Save(rec, sess); err != nil {
		b.Fatal(err)
	}
	cookie := rec.Result().Cookies()[0]
	for _, st := range []struct {
		name  string
		store sessioncheck.Store
	}{{"store=cookie", cookies}, {"store=fixed", fixedStore{"ada": sess}}} {
		for _, bc := range []struct {
			name string
			opts []sessioncheck.Option
		}{
			{"tokens=off", nil},
			{"tokens=on", []sessioncheck.Option{sessioncheck.WithEndedSessions(dec, nil)}},
		} {
			b.Run(st.name+"/"+bc.name, func(b *testing.B) {
				ca := &userinfo{answer: func(string) (remote.User, error) { return ada, nil }}
				check, err := sessioncheck.New(st.store, ca, append([]sessioncheck.Option{sessioncheck.WithInterval(time.Hour), sessioncheck.WithLogger(slog.New(slog.DiscardHandler))}, bc.opts...)...)
				if err != nil {
					b.Fatal(err)
				}
				live := false
				h := check.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, live = sessioncheck.From(r.Context())
				}))
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				r.AddCookie(cookie)
				r.Header.Set("X-Session", "ada")
				w := newDiscardWriter()
				h.ServeHTTP(w, r) // the first check asks, and decrypts; the rest are cached
				b.ReportAllocs()
				for b.Loop() {
					h.ServeHTTP(w, r)
				}
				if !live || ca.calls.Load() != 1 {
					b.Fatalf("live %v, %d calls; want live, 1 call", live, ca.calls.Load())
				}
			})
		}
	}
}

// fixedStore hands out prepared sessions by the X-Session header, so that
// BenchmarkSessionCheckCache measures the cache and not cookie crypto.
type fixedStore map[string]*session.Session

func (s fixedStore) Load(r *http.Request) (*session.Session, error) {
	if sess, ok := s[r.Header.Get("X-Session")]; ok {
		return sess, nil
	}
	return nil, session.ErrNoSession
}

func (s fixedStore) Logout(context.Context, http.ResponseWriter, *http.Request) ([]*session.Session, error) {
	return nil, session.ErrNoSession
}

// BenchmarkSessionCheckCache is issue 10's cache target: a cached lookup
// with 100,000 sessions in the cache against one, and the bytes each
// cached session takes (B/session).
func BenchmarkSessionCheckCache(b *testing.B) {
	for _, n := range []int{1, 100_000} {
		b.Run("entries="+strconv.Itoa(n), func(b *testing.B) {
			store := make(fixedStore, n)
			for i := range n {
				id := strconv.Itoa(i)
				store[id] = &session.Session{ID: strings.Repeat("0", 32-len(id)) + id, AccessToken: "eyJ." + id}
			}
			// Each user as CentralAuth's JSON would give it: strings of
			// their own, a Gravatar URL with an MD5-sized hash.
			ca := &userinfo{answer: func(token string) (remote.User, error) {
				sum := sha256.Sum256([]byte(token))
				return remote.User{
					ID: "usr_" + hex.EncodeToString(sum[:8]), Email: "user" + token[4:] + "@example.com",
					Gravatar:       "https://www.gravatar.com/avatar/" + hex.EncodeToString(sum[:16]),
					OrganizationID: strings.Clone("org_demo"), Verified: true,
					Created: time.Now(), Updated: time.Now(), LastLogin: time.Now(),
				}, nil
			}}
			check, err := sessioncheck.New(store, ca, sessioncheck.WithInterval(time.Hour), sessioncheck.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				b.Fatal(err)
			}
			h := check.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			w := newDiscardWriter()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			heap := liveHeap()
			for i := range n {
				r.Header.Set("X-Session", strconv.Itoa(i))
				h.ServeHTTP(w, r)
			}
			perSession := float64(liveHeap()-heap) / float64(n)
			if ca.calls.Load() != int64(n) {
				b.Fatalf("%d calls for %d sessions", ca.calls.Load(), n)
			}
			r.Header.Set("X-Session", strconv.Itoa(n/2))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
			b.StopTimer()
			b.ReportMetric(perSession, "B/session")
			runtime.KeepAlive(check)
		})
	}
}
