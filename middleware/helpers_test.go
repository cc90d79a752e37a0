package middleware_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/middleware"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
)

const (
	clientID     = "client-123"
	clientSecret = "s3cr3t:with%odd@chars"
)

var hashKey = bytes.Repeat([]byte("k"), 32)

// rig is a LogoutHandler wired to a real session.Store and, when asked, a
// fake CentralAuth, with its log and events captured.
type rig struct {
	h      *middleware.LogoutHandler
	store  *session.Store
	ca     *centralauthtest.Server
	logs   *testutil.Buffer
	log    *slog.Logger
	mu     sync.Mutex
	events []middleware.Event
}

func newRig(t *testing.T, withRemote bool, opts ...middleware.Option) *rig {
	t.Helper()
	return newRigWithSecret(t, clientSecret, withRemote, opts...)
}

// newRigWithSecret is newRig for an organization whose client secret is
// secret: one of 16, 24, 32, 48 or 64 bytes makes the fake's tokens JWEs.
func newRigWithSecret(t *testing.T, secret string, withRemote bool, opts ...middleware.Option) *rig {
	t.Helper()
	store, err := session.NewStore(hashKey)
	if err != nil {
		t.Fatal(err)
	}
	rg := &rig{store: store, logs: &testutil.Buffer{}}
	logger := slog.New(slog.NewTextHandler(rg.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rg.log = logger
	base := []middleware.Option{
		middleware.WithLogger(logger),
		middleware.WithOnLogout(func(_ *http.Request, ev middleware.Event) {
			rg.mu.Lock()
			defer rg.mu.Unlock()
			rg.events = append(rg.events, ev)
		}),
	}
	if withRemote {
		ca := centralauthtest.Start(t, clientID, secret)
		rc, err := remote.NewClient(clientID, secret, remote.WithBaseURL(ca.URL()), remote.WithRetries(1))
		if err != nil {
			t.Fatal(err)
		}
		rg.ca = ca
		base = append(base, middleware.WithRemote(rc))
	}
	h, err := middleware.NewLogoutHandler(store, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	rg.h = h
	return rg
}

func (rg *rig) lastEvent(t *testing.T) middleware.Event {
	t.Helper()
	rg.mu.Lock()
	defer rg.mu.Unlock()
	if len(rg.events) == 0 {
		t.Fatal("no logout event")
	}
	return rg.events[len(rg.events)-1]
}

func (rg *rig) eventCount() int {
	rg.mu.Lock()
	defer rg.mu.Unlock()
	return len(rg.events)
}

// cookieFor saves a session and returns its cookie header value.
func (rg *rig) cookieFor(t *testing.T, s *session.Session) string {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := rg.store.Save(rec, s); err != nil {
		t.Fatal(err)
	}
	c, err := http.ParseSetCookie(rec.Header().Get("Set-Cookie"))
	if err != nil {
		t.Fatal(err)
	}
	return c.Name + "=" + c.Value
}

type req struct {
	method  string
	target  string
	form    string // urlencoded body
	cookie  string
	headers map[string]string
}

func (rg *rig) do(r req) *http.Response {
	if r.method == "" {
		r.method = http.MethodPost
	}
	if r.target == "" {
		r.target = "/logout"
	}
	var body *strings.Reader
	if r.form != "" {
		body = strings.NewReader(r.form)
	}
	var hr *http.Request
	if body != nil {
		hr = httptest.NewRequest(r.method, "https://app.example"+r.target, body)
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		hr = httptest.NewRequest(r.method, "https://app.example"+r.target, nil)
	}
	if r.cookie != "" {
		hr.Header.Set("Cookie", r.cookie)
	}
	for k, v := range r.headers {
		hr.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	rg.h.ServeHTTP(rec, hr)
	return rec.Result()
}

// cleared reports whether resp removes the session cookie.
func cleared(resp *http.Response) bool {
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-centralauth_session" && c.Value == "" && c.MaxAge < 0 {
			return true
		}
	}
	return false
}
