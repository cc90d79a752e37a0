package sessioncheck_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
	"github.com/centralauth-go/logout/sessioncheck"
)

// userinfo is an in-memory CentralAuth for a Check: answer decides
// each userinfo call, which can block until release is closed. It runs
// inside synctest bubbles, where time moves only when every goroutine
// waits.
type userinfo struct {
	calls   atomic.Int64
	answer  func(token string) (remote.User, error)
	release chan struct{} // nil: answer at once
	delay   time.Duration // a slow CentralAuth
}

func (u *userinfo) UserInfo(ctx context.Context, token string, _ remote.EndUser) (remote.User, error) {
	if token == "" { // as a *remote.Client answers New's probe
		return remote.User{}, remote.ErrNoToken
	}
	u.calls.Add(1)
	if u.release != nil {
		<-u.release
	}
	if u.delay > 0 {
		select {
		case <-time.After(u.delay):
		case <-ctx.Done():
			return remote.User{}, ctx.Err()
		}
	}
	return u.answer(token)
}

var (
	ada       = remote.User{ID: "usr_ada", Email: "ada@example.test", Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	errDown   = &remote.Error{StatusCode: http.StatusServiceUnavailable}
	errEnded  = &remote.Error{StatusCode: http.StatusUnauthorized, Code: "sessionInactive"}
	errConfig = &remote.Error{StatusCode: http.StatusForbidden, Code: "domainInvalid"}
)

// checkRig is a Check around a handler that records what it saw.
type checkRig struct {
	store  *session.Store
	check  *sessioncheck.Check
	ca     *userinfo
	logs   *testutil.Buffer
	cookie *http.Cookie
}

func newCheckRig(t *testing.T, ca *userinfo, opts ...sessioncheck.Option) *checkRig {
	t.Helper()
	store, err := session.NewStore(hashKey)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.Buffer{}
	check, err := sessioncheck.New(store, ca, append([]sessioncheck.Option{sessioncheck.WithLogger(newDebugLogger(logs))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := store.Save(rec, &session.Session{AccessToken: "eyJ.ada.token"}); err != nil {
		t.Fatal(err)
	}
	return &checkRig{store: store, check: check, ca: ca, logs: logs, cookie: rec.Result().Cookies()[0]}
}

// visit makes one request through the check and returns what the handler
// saw and the response.
func (rg *checkRig) visit(cookie bool) (sessioncheck.Session, bool, *http.Response) {
	var cs sessioncheck.Session
	var ok bool
	h := rg.check.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs, ok = sessioncheck.From(r.Context())
	}))
	r := httptest.NewRequest(http.MethodGet, "https://app.example/", nil)
	if cookie {
		r.AddCookie(rg.cookie)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return cs, ok, rec.Result()
}

func TestSessionCheckOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		first      error         // the first answer; nil: ada
		then       error         // every later answer; nil: ada
		wait       time.Duration // between the two visits
		wantLive   bool          // on the second visit
		wantStale  bool
		wantClear  bool // the second visit clears the cookie
		wantCalls  int64
		wantLogged string
	}{
		{name: "fresh, then cached within the interval", wait: 10 * time.Second, wantLive: true, wantCalls: 1, wantLogged: "outcome=cached"},
		{name: "asked again after the interval", wait: 31 * time.Second, wantLive: true, wantCalls: 2, wantLogged: "outcome=fresh"},
		{name: "ended at CentralAuth", then: errEnded, wait: 31 * time.Second, wantClear: true, wantCalls: 2, wantLogged: "level=INFO"},
		{name: "CentralAuth down: stale", then: errDown, wait: 31 * time.Second, wantLive: true, wantStale: true, wantCalls: 2, wantLogged: "outcome=stale"},
		{name: "misconfigured: stale, not ended", then: errConfig, wait: 31 * time.Second, wantLive: true, wantStale: true, wantCalls: 2, wantLogged: "outcome=stale"},
		{name: "down past the maximum staleness", then: errDown, wait: 11 * time.Minute, wantCalls: 2, wantLogged: "outcome=unavailable"},
		{name: "down at the first check, then still down", first: errDown, then: errDown, wait: 31 * time.Second, wantCalls: 2, wantLogged: "outcome=unavailable"},
		{name: "down at the first check, then back", first: errDown, wait: 31 * time.Second, wantLive: true, wantCalls: 2, wantLogged: "outcome=fresh"},
		{name: "down: the failed answer stands for the interval", first: errDown, then: errDown, wait: time.Second, wantCalls: 1, wantLogged: "outcome=unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ca := &userinfo{}
				ca.answer = func(string) (remote.User, error) {
					err := tt.then
					if ca.calls.Load() == 1 {
						err = tt.first
					}
					if err != nil {
						return remote.User{}, err
					}
					return ada, nil
				}
				rg := newCheckRig(t, ca)
				cs, ok, _ := rg.visit(true)
				if (tt.first == nil) != ok || (ok && (cs.User.Email != ada.Email || cs.Stale)) {
					t.Fatalf("first visit: %+v, live %v", cs, ok)
				}
				time.Sleep(tt.wait)
				rg.logs.Reset()
				cs, ok, resp := rg.visit(true)
				if ok != tt.wantLive || cs.Stale != tt.wantStale || (ok && cs.User.Email != ada.Email) {
					t.Fatalf("second visit: %+v, live %v; want live %v, stale %v", cs, ok, tt.wantLive, tt.wantStale)
				}
				if cleared(resp) != tt.wantClear || ca.calls.Load() != tt.wantCalls {
					t.Fatalf("cleared %v, %d calls; want %v, %d", cleared(resp), ca.calls.Load(), tt.wantClear, tt.wantCalls)
				}
				if !strings.Contains(rg.logs.String(), tt.wantLogged) || strings.Contains(rg.logs.String(), "eyJ.ada.token") {
					t.Fatalf("log lacks %q, or holds the token:\n%s", tt.wantLogged, rg.logs)
				}
				// An ended session is revoked: the cookie no longer loads,
				// and the next visit does not ask again.
				if tt.wantClear {
					if _, ok, _ := rg.visit(true); ok || ca.calls.Load() != tt.wantCalls {
						t.Fatalf("after the end: live %v, %d calls", ok, ca.calls.Load())
					}
				}
			})
		})
	}
}

func TestSessionCheckWithoutSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ca := &userinfo{answer: func(string) (remote.User, error) { return ada, nil }}
		rg := newCheckRig(t, ca)
		if _, ok, resp := rg.visit(false); ok || resp.StatusCode != http.StatusOK || ca.calls.Load() != 0 {
			t.Fatalf("no cookie: live %v, status %d, %d calls", ok, resp.StatusCode, ca.calls.Load())
		}
	})
}

// TestSessionCheckSharesOneCall: 64 concurrent requests for one session
// whose answer is due make exactly one userinfo call.
func TestSessionCheckSharesOneCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ca := &userinfo{release: make(chan struct{}), answer: func(string) (remote.User, error) { return ada, nil }}
		rg := newCheckRig(t, ca)
		var wg sync.WaitGroup
		var live atomic.Int64
		for range 64 {
			wg.Go(func() {
				if _, ok, _ := rg.visit(true); ok {
					live.Add(1)
				}
			})
		}
		synctest.Wait() // all 64 wait on the one call
		close(ca.release)
		wg.Wait()
		if ca.calls.Load() != 1 || live.Load() != 64 {
			t.Fatalf("%d userinfo calls, %d live requests; want 1 and 64", ca.calls.Load(), live.Load())
		}
	})
}

// TestSessionCheckTimeout: a slow CentralAuth never holds a request past
// the check timeout, and an interval of 0 asks on every request.
func TestSessionCheckTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ca := &userinfo{answer: func(string) (remote.User, error) { return ada, nil }}
		rg := newCheckRig(t, ca, sessioncheck.WithInterval(0), sessioncheck.WithTimeout(time.Second))
		if _, ok, _ := rg.visit(true); !ok {
			t.Fatal("first visit not live")
		}
		ca.delay = time.Hour
		start := time.Now()
		cs, ok, resp := rg.visit(true)
		if took := time.Since(start); took != time.Second {
			t.Fatalf("the request waited %v, want the 1s timeout", took)
		}
		if !ok || !cs.Stale || cleared(resp) || ca.calls.Load() != 2 {
			t.Fatalf("past the timeout: %+v, live %v, cleared %v, %d calls; want stale, kept", cs, ok, cleared(resp), ca.calls.Load())
		}
	})
}

func TestSessionCheckRequire(t *testing.T) {
	tests := []struct {
		name       string
		opts       []sessioncheck.Option
		cookie     bool
		wantStatus int
	}{
		{"a live session passes", nil, true, http.StatusNoContent},
		{"no session: 401", nil, false, http.StatusUnauthorized},
		{"no session: the app's own handler", []sessioncheck.Option{sessioncheck.WithUnauthorized(http.RedirectHandler("/login", http.StatusSeeOther))}, false, http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ca := &userinfo{answer: func(string) (remote.User, error) { return ada, nil }}
				rg := newCheckRig(t, ca, tt.opts...)
				h := rg.check.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(http.StatusNoContent)
				}))
				// Under Middleware too: the check runs once.
				h = rg.check.Middleware(h)
				r := httptest.NewRequest(http.MethodGet, "https://app.example/account", nil)
				if tt.cookie {
					r.AddCookie(rg.cookie)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if rec.Code != tt.wantStatus || ca.calls.Load() > 1 {
					t.Fatalf("status %d, %d calls; want %d, at most 1", rec.Code, ca.calls.Load(), tt.wantStatus)
				}
			})
		})
	}
}

// require makes one request through Require and returns the response.
func (rg *checkRig) require() *http.Response {
	h := rg.check.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	r := httptest.NewRequest(http.MethodGet, "https://app.example/account", nil)
	r.AddCookie(rg.cookie)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Result()
}

// TestSessionCheckAnswersAreForOneToken is audit finding 1: answers were
// cached by session ID only, so a session saved again under its ID with
// another user's token was vouched for as the first user, with no call.
func TestSessionCheckAnswersAreForOneToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bob := remote.User{ID: "usr_bob", Email: "bob@example.test"}
		ca := &userinfo{answer: func(token string) (remote.User, error) {
			if token == "eyJ.bob.token" {
				return bob, nil
			}
			return ada, nil
		}}
		rg := newCheckRig(t, ca)
		if cs, ok, _ := rg.visit(true); !ok || cs.User.ID != ada.ID {
			t.Fatalf("ada's visit: %+v, live %v", cs, ok)
		}
		r := httptest.NewRequest(http.MethodGet, "https://app.example/", nil)
		r.AddCookie(rg.cookie)
		sess, err := rg.store.Load(r)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		if err := rg.store.Save(rec, &session.Session{ID: sess.ID, AccessToken: "eyJ.bob.token"}); err != nil {
			t.Fatal(err)
		}
		rg.cookie = rec.Result().Cookies()[0]
		if cs, ok, _ := rg.visit(true); !ok || cs.User.ID != bob.ID || ca.calls.Load() != 2 {
			t.Fatalf("the same session ID with bob's token: %+v, live %v, %d calls; want bob, 2 calls", cs, ok, ca.calls.Load())
		}
	})
}

// TestSessionCheckBlockedUser is audit finding 2: Require let in a user
// whom CentralAuth reports blocked. A blocked user is not a live session,
// on a fresh answer, a cached one, or a stale one; the cookie is kept
// (CentralAuth may unblock the user, whose session still stands).
func TestSessionCheckBlockedUser(t *testing.T) {
	blocked := ada
	blocked.Blocked = true
	tests := []struct {
		name       string
		then       error         // the second answer; nil: blocked
		wait       time.Duration // between the two requests
		wantCalls  int64
		wantLogged string
	}{
		{name: "fresh", wait: 31 * time.Second, wantCalls: 2, wantLogged: "level=INFO msg=\"session check: CentralAuth reports the user blocked"},
		{name: "cached", wait: 10 * time.Second, wantCalls: 1, wantLogged: "outcome=blocked"},
		{name: "stale", then: errDown, wait: 31 * time.Second, wantCalls: 2, wantLogged: "outcome=unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ca := &userinfo{}
				ca.answer = func(string) (remote.User, error) {
					if ca.calls.Load() > 1 && tt.then != nil {
						return remote.User{}, tt.then
					}
					return blocked, nil
				}
				rg := newCheckRig(t, ca)
				if resp := rg.require(); resp.StatusCode != http.StatusUnauthorized || cleared(resp) {
					t.Fatalf("first request: status %d, cleared %v; want 401, kept", resp.StatusCode, cleared(resp))
				}
				time.Sleep(tt.wait)
				rg.logs.Reset()
				if _, ok, _ := rg.visit(true); ok {
					t.Fatal("From says a blocked user is live")
				}
				if resp := rg.require(); resp.StatusCode != http.StatusUnauthorized || cleared(resp) || ca.calls.Load() != tt.wantCalls {
					t.Fatalf("status %d, cleared %v, %d calls; want 401, kept, %d calls", resp.StatusCode, cleared(resp), ca.calls.Load(), tt.wantCalls)
				}
				if !strings.Contains(rg.logs.String(), tt.wantLogged) {
					t.Fatalf("log lacks %q:\n%s", tt.wantLogged, rg.logs)
				}
			})
		})
	}
}

// TestSessionCheckTimesAreMonotonic is audit finding 6: times were kept
// as wall-clock Unix nanoseconds, so a clock step backwards stretched
// cached answers and the stale window. Checked now carries the monotonic
// reading the entry keeps (outside a synctest bubble, whose clock has
// none), so time.Since(Checked) is immune to clock steps too.
func TestSessionCheckTimesAreMonotonic(t *testing.T) {
	tests := []struct {
		name      string
		interval  time.Duration
		then      error
		wantStale bool
	}{
		{name: "cached", interval: time.Hour},
		{name: "stale", interval: 0, then: errDown, wantStale: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca := &userinfo{}
			ca.answer = func(string) (remote.User, error) {
				if ca.calls.Load() > 1 && tt.then != nil {
					return remote.User{}, tt.then
				}
				return ada, nil
			}
			rg := newCheckRig(t, ca, sessioncheck.WithInterval(tt.interval))
			rg.visit(true)
			cs, ok, _ := rg.visit(true)
			if !ok || cs.Stale != tt.wantStale {
				t.Fatalf("second visit: %+v, live %v", cs, ok)
			}
			if cs.Checked == cs.Checked.Round(0) {
				t.Fatalf("Checked %v has no monotonic reading", cs.Checked)
			}
		})
	}
}

// TestSessionCheckNeedsAnAppOrigin is audit finding 7: a *remote.Client
// made without remote.WithAppOrigin was accepted, then failed every check.
func TestSessionCheckNeedsAnAppOrigin(t *testing.T) {
	store, err := session.NewStore(hashKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		opts    []remote.Option
		wantErr bool
	}{
		{"without an app origin", nil, true},
		{"with one", []remote.Option{remote.WithAppOrigin("https://app.example")}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := remote.NewClient("id", "secret", tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = sessioncheck.New(store, rc)
			if tt.wantErr != (err != nil) || (err != nil && (!errors.Is(err, sessioncheck.ErrInvalidConfig) || !strings.Contains(err.Error(), "remote.WithAppOrigin"))) {
				t.Fatalf("New = %v; want an error %v, matching ErrInvalidConfig and naming remote.WithAppOrigin", err, tt.wantErr)
			}
		})
	}
}

// TestSessionCheckMisconfiguredLogsErrorOncePerInterval: CentralAuth
// refusing the app's credentials or origin is logged at Error once per
// check interval, whatever the requests and sessions, not at Warn on each.
func TestSessionCheckMisconfiguredLogsErrorOncePerInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ca := &userinfo{release: make(chan struct{}), answer: func(string) (remote.User, error) { return remote.User{}, errConfig }}
		release := sync.OnceFunc(func() { close(ca.release) })
		defer release()
		rg := newCheckRig(t, ca)
		rec := httptest.NewRecorder()
		if err := rg.store.Save(rec, &session.Session{AccessToken: "eyJ.bob.token"}); err != nil {
			t.Fatal(err)
		}
		other := rec.Result().Cookies()[0]
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() { rg.visit(true) })
		}
		synctest.Wait()
		release()
		wg.Wait()
		rg.cookie = other // another session, within the interval
		rg.visit(true)
		time.Sleep(31 * time.Second)
		rg.visit(true)
		logs := rg.logs.String()
		if n := strings.Count(logs, "level=ERROR"); n != 2 || strings.Contains(logs, "level=WARN") || ca.calls.Load() != 3 {
			t.Fatalf("%d lines at Error (want 2, one per interval), %d calls (want 3), Warn lines %v:\n%s", n, ca.calls.Load(), strings.Contains(logs, "level=WARN"), logs)
		}
	})
}

func TestSessionCheckConfig(t *testing.T) {
	store, _ := session.NewStore(hashKey)
	ca := &userinfo{}
	tests := []struct {
		name  string
		store sessioncheck.Store
		users sessioncheck.Users
		opts  []sessioncheck.Option
	}{
		{name: "no store", users: ca},
		{name: "a typed nil store", store: (*session.Store)(nil), users: ca},
		{name: "no users", store: store},
		{name: "a typed nil client", store: store, users: (*remote.Client)(nil)},
		{name: "nil option", store: store, users: ca, opts: []sessioncheck.Option{nil}},
		{name: "negative interval", store: store, users: ca, opts: []sessioncheck.Option{sessioncheck.WithInterval(-1)}},
		{name: "negative staleness", store: store, users: ca, opts: []sessioncheck.Option{sessioncheck.WithMaxStale(-1)}},
		{name: "zero timeout", store: store, users: ca, opts: []sessioncheck.Option{sessioncheck.WithTimeout(0)}},
		{name: "nil unauthorized handler", store: store, users: ca, opts: []sessioncheck.Option{sessioncheck.WithUnauthorized(nil)}},
		{name: "nil logger", store: store, users: ca, opts: []sessioncheck.Option{sessioncheck.WithLogger(nil)}},
		{name: "nil OnCheck hook", store: store, users: ca, opts: []sessioncheck.Option{sessioncheck.WithOnCheck(nil)}},
		{name: "a trusted proxy that is not an IP", store: store, users: ca, opts: []sessioncheck.Option{sessioncheck.WithTrustedProxies("not-an-ip")}},
		{name: "ended sessions without a token.Decrypter", store: store, users: ca, opts: []sessioncheck.Option{sessioncheck.WithEndedSessions(nil, nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sessioncheck.New(tt.store, tt.users, tt.opts...); !errors.Is(err, sessioncheck.ErrInvalidConfig) ||
				!strings.HasPrefix(err.Error(), "sessioncheck: invalid configuration: ") {
				t.Fatalf("error %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func newDebugLogger(w *testutil.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
