package sessioncheck_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
	"github.com/centralauth-go/logout/sessioncheck"
)

// visitFrom makes one request with the session's cookie from peer, with
// the given X-Forwarded-For, through the check.
func (rg *checkRig) visitFrom(peer, xff string) {
	r := httptest.NewRequest(http.MethodGet, "https://app.example/", nil)
	r.RemoteAddr = peer
	if xff != "" {
		r.Header.Set("X-Forwarded-For", xff)
	}
	r.AddCookie(rg.cookie)
	rg.check.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(httptest.NewRecorder(), r)
}

// TestSessionCheckWarnsOfAnUntrustedProxy: requests from a private or
// loopback peer with X-Forwarded-For most likely came through a proxy
// that is not trusted, so CentralAuth sees the proxy's address as every
// user's; that is logged at Warn, once per Check, naming the option.
func TestSessionCheckWarnsOfAnUntrustedProxy(t *testing.T) {
	tests := []struct {
		name     string
		trusted  []string
		peer     string
		xff      string
		wantWarn bool
	}{
		{name: "a loopback proxy", peer: "127.0.0.1:50000", xff: "203.0.113.9", wantWarn: true},
		{name: "a private proxy", peer: "10.0.0.5:50000", xff: "203.0.113.9", wantWarn: true},
		{name: "a private IPv6 proxy", peer: "[fd00::5]:50000", xff: "203.0.113.9", wantWarn: true},
		{name: "a trusted proxy", trusted: []string{"10.0.0.0/8"}, peer: "10.0.0.5:50000", xff: "203.0.113.9"},
		{name: "a private peer without X-Forwarded-For", peer: "10.0.0.5:50000"},
		{name: "a public peer with X-Forwarded-For", peer: "198.51.100.1:50000", xff: "203.0.113.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca := &userinfo{answer: func(string) (remote.User, error) { return ada, nil }}
			rg := newCheckRig(t, ca, sessioncheck.WithInterval(0), sessioncheck.WithTrustedProxies(tt.trusted...))
			for range 3 {
				rg.visitFrom(tt.peer, tt.xff)
			}
			logs := rg.logs.String()
			warns := strings.Count(logs, "level=WARN")
			want := 0
			if tt.wantWarn {
				want = 1
			}
			if warns != want || (tt.wantWarn && !strings.Contains(logs, "sessioncheck.WithTrustedProxies")) {
				t.Fatalf("%d lines at Warn, want %d naming sessioncheck.WithTrustedProxies:\n%s", warns, want, logs)
			}
		})
	}
}

// TestSessionCheckSendsTheEndUser: a *remote.Client gets the end user's
// IP, as the trusted proxies tell it, and user agent, and sends both to
// CentralAuth.
func TestSessionCheckSendsTheEndUser(t *testing.T) {
	const origin = "https://app.example"
	fake := centralauthtest.Start(t, "id", "secret", centralauthtest.WithAppDomains(origin))
	rc, err := remote.NewClient("id", "secret", remote.WithBaseURL(fake.URL()), remote.WithAppOrigin(origin))
	if err != nil {
		t.Fatal(err)
	}
	store, err := session.NewStore(hashKey)
	if err != nil {
		t.Fatal(err)
	}
	check, err := sessioncheck.New(store, rc, sessioncheck.WithTrustedProxies("10.0.0.0/8"))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := store.Save(rec, &session.Session{AccessToken: fake.SignIn("ada@example.com").AccessToken}); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, origin+"/", nil)
	r.AddCookie(rec.Result().Cookies()[0])
	r.RemoteAddr = "10.0.0.5:50000"
	r.Header.Set("X-Forwarded-For", "6.6.6.6, 203.0.113.9")
	r.Header.Set("X-Real-IP", "6.6.6.7")
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11) test")
	var live bool
	check.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, live = sessioncheck.From(r.Context())
	})).ServeHTTP(httptest.NewRecorder(), r)
	calls := fake.Calls()
	if last := calls[len(calls)-1]; !live || last.AuthIP != "203.0.113.9" || last.UserAgent != "Mozilla/5.0 (X11) test" {
		t.Fatalf("live %v; CentralAuth got auth-ip %q, User-Agent %q; want 203.0.113.9, the browser's", live, last.AuthIP, last.UserAgent)
	}
}
