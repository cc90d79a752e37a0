package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/middleware"
	"github.com/centralauth-go/logout/outbox"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
)

func TestSessionWideLogout(t *testing.T) {
	tests := []struct {
		name       string
		opts       []middleware.Option
		session    func(centralauthtest.Session) *session.Session // nil: no cookie
		bearer     func(centralauthtest.Session) string
		wantSent   func(centralauthtest.Session) string // token CentralAuth must receive; "" for no call
		wantWide   bool
		wantActive bool
	}{
		{
			name: "access token from the session",
			opts: []middleware.Option{middleware.WithSessionWide(true)},
			session: func(s centralauthtest.Session) *session.Session {
				return &session.Session{AccessToken: s.AccessToken, IDToken: s.IDToken}
			},
			wantSent: func(s centralauthtest.Session) string { return s.AccessToken }, wantWide: true,
		},
		{
			name:     "ID token when there is no access token",
			opts:     []middleware.Option{middleware.WithSessionWide(true)},
			session:  func(s centralauthtest.Session) *session.Session { return &session.Session{IDToken: s.IDToken} },
			wantSent: func(s centralauthtest.Session) string { return s.IDToken }, wantWide: true,
		},
		{
			name:     "bearer header wins over the cookie, when turned on",
			opts:     []middleware.Option{middleware.WithSessionWide(true), middleware.WithBearerToken(true)},
			session:  func(s centralauthtest.Session) *session.Session { return &session.Session{AccessToken: "other-token"} },
			bearer:   func(s centralauthtest.Session) string { return s.AccessToken },
			wantSent: func(s centralauthtest.Session) string { return s.AccessToken }, wantWide: true,
		},
		{
			name:     "bearer header without a cookie, when turned on",
			opts:     []middleware.Option{middleware.WithSessionWide(true), middleware.WithBearerToken(true)},
			bearer:   func(s centralauthtest.Session) string { return s.IDToken },
			wantSent: func(s centralauthtest.Session) string { return s.IDToken }, wantWide: true,
		},
		{
			name:     "bearer header ignored by default",
			opts:     []middleware.Option{middleware.WithSessionWide(true)},
			session:  func(s centralauthtest.Session) *session.Session { return &session.Session{AccessToken: s.AccessToken} },
			bearer:   func(s centralauthtest.Session) string { return s.IDToken },
			wantSent: func(s centralauthtest.Session) string { return s.AccessToken }, wantWide: true,
		},
		{
			name:     "bearer header alone ignored by default",
			opts:     []middleware.Option{middleware.WithSessionWide(true)},
			bearer:   func(s centralauthtest.Session) string { return s.IDToken },
			wantWide: true, wantActive: true,
		},
		{
			name:     "malformed bearer header ignored",
			opts:     []middleware.Option{middleware.WithSessionWide(true), middleware.WithBearerToken(true)},
			session:  func(s centralauthtest.Session) *session.Session { return &session.Session{AccessToken: s.AccessToken} },
			bearer:   func(s centralauthtest.Session) string { return "not a token" },
			wantSent: func(s centralauthtest.Session) string { return s.AccessToken }, wantWide: true,
		},
		{
			name:     "bearer header over 8 KiB ignored",
			opts:     []middleware.Option{middleware.WithSessionWide(true), middleware.WithBearerToken(true)},
			bearer:   func(s centralauthtest.Session) string { return strings.Repeat("a", 8<<10) + ".b.c" },
			wantWide: true, wantActive: true,
		},
		{
			name:     "no token, nothing posted",
			opts:     []middleware.Option{middleware.WithSessionWide(true)},
			wantWide: true, wantActive: true,
		},
		{
			name:       "local logout by default",
			session:    func(s centralauthtest.Session) *session.Session { return &session.Session{AccessToken: s.AccessToken} },
			wantActive: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := newRig(t, true, tt.opts...)
			s := rg.ca.SignIn("ann@example.com")
			r := req{headers: map[string]string{}}
			if tt.session != nil {
				r.cookie = rg.cookieFor(t, tt.session(s))
			}
			if tt.bearer != nil {
				r.headers["Authorization"] = "Bearer " + tt.bearer(s)
			}
			resp := rg.do(r)
			if resp.StatusCode != http.StatusSeeOther || !cleared(resp) {
				t.Fatalf("status %d, cleared %v", resp.StatusCode, cleared(resp))
			}
			calls := rg.ca.Calls()
			kind := map[string]string{s.AccessToken: "access", s.IDToken: "id"} // as a Call names them
			want := ""
			if tt.wantSent != nil {
				want = tt.wantSent(s)
			}
			switch {
			case want == "" && len(calls) != 0:
				t.Fatalf("%d calls to CentralAuth, want none", len(calls))
			case want != "" && (len(calls) != 1 || calls[0].SessionID != s.ID || calls[0].Token != kind[want] || calls[0].Status != 200):
				t.Fatalf("calls %+v, want one with the expected token", calls)
			}
			if rg.ca.Active(s.AccessToken) != tt.wantActive {
				t.Fatalf("CentralAuth session active %v, want %v", rg.ca.Active(s.AccessToken), tt.wantActive)
			}
			wantOutcome := middleware.RemoteNone
			if want != "" {
				wantOutcome = middleware.RemoteDelivered
			}
			if ev := rg.lastEvent(t); ev.SessionWide != tt.wantWide || ev.RemoteErr != nil || ev.Remote != wantOutcome {
				t.Fatalf("event %+v, want SessionWide %v, outcome %v and no error", ev, tt.wantWide, wantOutcome)
			}
		})
	}
}

func TestRemoteFailureNeverBlocksLocalLogout(t *testing.T) {
	tests := []struct {
		name  string
		fault centralauthtest.Fault
		check func(error) bool
	}{
		{"CentralAuth down (503 twice)", centralauthtest.Fault{Status: 503, Times: 2}, remote.IsRetryable},
		{"credentials refused", centralauthtest.Fault{Status: 401}, func(err error) bool {
			var re *remote.Error
			return errors.As(err, &re) && re.StatusCode == 401 && re.Code == "noPermission"
		}},
		{"garbage answer", centralauthtest.Fault{Status: 502, Body: "<html>bad gateway</html>", Times: 2}, remote.IsRetryable},
		{"connection dropped", centralauthtest.Fault{DropConnection: true, Times: 2}, remote.IsRetryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := newRig(t, true, middleware.WithSessionWide(true))
			s := rg.ca.SignIn("ann@example.com")
			rg.ca.InjectFault(tt.fault)
			resp := rg.do(req{cookie: rg.cookieFor(t, &session.Session{AccessToken: s.AccessToken})})
			if resp.StatusCode != http.StatusSeeOther || !cleared(resp) || resp.Header.Get("Location") != "/" {
				t.Fatalf("status %d, cleared %v, Location %q", resp.StatusCode, cleared(resp), resp.Header.Get("Location"))
			}
			ev := rg.lastEvent(t)
			if ev.Remote != middleware.RemoteFailed || ev.RemoteErr == nil || !tt.check(ev.RemoteErr) {
				t.Fatalf("Event.RemoteErr = %v", ev.RemoteErr)
			}
			logs := rg.logs.String()
			if !strings.Contains(logs, "level=ERROR") {
				t.Fatalf("no error log line:\n%s", logs)
			}
			for _, secret := range []string{s.AccessToken, clientSecret} {
				if strings.Contains(logs, secret) || strings.Contains(ev.RemoteErr.Error(), secret) {
					t.Fatalf("a token or the secret leaked into the log or error:\n%s", logs)
				}
			}
		})
	}
}

func TestSlowCentralAuthDelaysLogoutByAtMostTheTimeout(t *testing.T) {
	rg := newRig(t, true, middleware.WithSessionWide(true), middleware.WithRemoteTimeout(100*time.Millisecond))
	s := rg.ca.SignIn("ann@example.com")
	never := make(chan struct{})
	defer close(never)
	rg.ca.InjectFault(centralauthtest.Fault{Block: never, Times: 10})
	start := time.Now()
	resp := rg.do(req{cookie: rg.cookieFor(t, &session.Session{AccessToken: s.AccessToken})})
	// The fake never answers, so only the handler's own bound can end the
	// request; the generous margin only absorbs scheduling noise.
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("logout took %v with a 100ms remote timeout", took)
	}
	if resp.StatusCode != http.StatusSeeOther || !cleared(resp) {
		t.Fatalf("status %d, cleared %v", resp.StatusCode, cleared(resp))
	}
	if err := rg.lastEvent(t).RemoteErr; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RemoteErr %v, want a deadline error", err)
	}
}

func TestRetryableFailureGoesToTheOutbox(t *testing.T) {
	tests := []struct {
		name        string
		fault       centralauthtest.Fault
		queueLimit  int
		prefill     int
		wantOutcome middleware.RemoteOutcome
		wantPending int64
	}{
		{"CentralAuth down: queued", centralauthtest.Fault{Status: 503, Times: 2}, 10, 0, middleware.RemoteQueued, 1},
		{"refused credentials: not queued", centralauthtest.Fault{Status: 401}, 10, 0, middleware.RemoteFailed, 0},
		{"full outbox: reported", centralauthtest.Fault{Status: 503, Times: 2}, 1, 1, middleware.RemoteFailed, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := newRig(t, true)
			rc, err := remote.NewClient(clientID, clientSecret, remote.WithBaseURL(rg.ca.URL()), remote.WithRetries(1))
			if err != nil {
				t.Fatal(err)
			}
			q, err := outbox.NewMemoryQueue(tt.queueLimit)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.prefill {
				if err := q.Enqueue(t.Context(), string(rune('a'+i)), []byte("other-token"), time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			retries, err := outbox.New(rc, q)
			if err != nil {
				t.Fatal(err)
			}
			store, _ := session.NewStore(hashKey)
			var ev middleware.Event
			h, err := middleware.NewLogoutHandler(store, middleware.WithRemote(rc),
				middleware.WithSessionWide(true), middleware.WithOutbox(retries),
				middleware.WithOnLogout(func(_ *http.Request, e middleware.Event) { ev = e }))
			if err != nil {
				t.Fatal(err)
			}
			rg.h = h
			s := rg.ca.SignIn("ann@example.com")
			rg.ca.InjectFault(tt.fault)
			resp := rg.do(req{cookie: rg.cookieFor(t, &session.Session{AccessToken: s.AccessToken})})
			if resp.StatusCode != http.StatusSeeOther || !cleared(resp) {
				t.Fatalf("status %d, cleared %v", resp.StatusCode, cleared(resp))
			}
			if ev.Remote != tt.wantOutcome || ev.RemoteErr == nil {
				t.Fatalf("event outcome %v (%v), want %v with an error", ev.Remote, ev.RemoteErr, tt.wantOutcome)
			}
			if st, _ := retries.Stats(t.Context()); st.Pending != tt.wantPending {
				t.Fatalf("pending %d, want %d", st.Pending, tt.wantPending)
			}
		})
	}
}
