package login_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/login"
	"github.com/centralauth-go/logout/session"
)

// failingStore is a Store whose Save fails.
type failingStore struct{}

var errStoreDown = errors.New("store down")

func (failingStore) Save(http.ResponseWriter, *session.Session) error { return errStoreDown }

// WithErrorHandler receives a *RequestError whose Status fits the cause,
// and the logger one line at a level that tells whose fault it was.
func TestErrorHandler(t *testing.T) {
	for _, tc := range []struct {
		name     string
		store    login.Store
		exchange error  // the stub's Exchange error
		query    string // the callback's query; {state} is the login's
		want     error
		status   int
		level    string // of the one log line
	}{
		{"a wrong state", nil, nil, "state=AAAAAAAAAAAAAAAAAAAAAA&code=code-{state}", login.ErrState, http.StatusBadRequest, "INFO"},
		{"no code", nil, nil, "state={state}", login.ErrNoCode, http.StatusBadRequest, "INFO"},
		{"an error from CentralAuth", nil, nil, "state={state}&error=access_denied", login.ErrRefused, http.StatusBadRequest, "INFO"},
		{"a refused exchange", nil, errors.New("remote: no"), "state={state}&code=code-{state}", login.ErrExchange, http.StatusBadGateway, "WARN"},
		{"a failed save", failingStore{}, nil, "state={state}&code=code-{state}", errStoreDown, http.StatusInternalServerError, "ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := newStubClient()
			client.err = tc.exchange
			store := tc.store
			if store == nil {
				store = newStore(t)
			}
			var got []error
			hooked := 0
			var logged testutil.Buffer
			h, err := login.New(store, client, "https://app.example.com/auth/callback",
				login.WithErrorHandler(func(w http.ResponseWriter, _ *http.Request, err error) {
					got = append(got, err)
					w.WriteHeader(http.StatusTeapot)
				}),
				login.WithOnLogin(func(*http.Request, *session.Session) { hooked++ }),
				login.WithLogger(slog.New(slog.NewJSONHandler(&logged, nil))))
			if err != nil {
				t.Fatal(err)
			}
			cookie, state := startStub(t, h, "https://app.example.com/login")
			query := strings.ReplaceAll(tc.query, "{state}", state)
			req := httptest.NewRequest(http.MethodGet, "https://app.example.com/auth/callback?"+query, nil)
			req.AddCookie(cookie)
			rec := httptest.NewRecorder()
			h.Callback(rec, req)
			if lines := strings.Split(strings.TrimSuffix(logged.String(), "\n"), "\n"); len(lines) != 1 || !strings.Contains(lines[0], `"level":"`+tc.level+`"`) {
				t.Errorf("logged %q, want one %s line", lines, tc.level)
			}
			if len(got) != 1 {
				t.Fatalf("the error handler was called %d times, want once", len(got))
			}
			re, ok := errors.AsType[*login.RequestError](got[0])
			if !ok {
				t.Fatalf("error %T %v, want a *login.RequestError", got[0], got[0])
			}
			if re.Status != tc.status || !errors.Is(re, tc.want) {
				t.Errorf("RequestError{%d, %v}, want status %d and %v", re.Status, re.Err, tc.status, tc.want)
			}
			if rec.Code != http.StatusTeapot {
				t.Errorf("answered %d, not by the error handler", rec.Code)
			}
			if c := rec.Result().Cookies(); len(c) > 1 || len(c) == 1 && c[0].MaxAge >= 0 {
				t.Errorf("the failed callback set cookies other than removing the state: %v", c)
			}
			if hooked != 0 {
				t.Error("the login hook was called on a failed login")
			}
		})
	}
}

// startStub runs h.Login on a request to target and returns the state
// cookie that it sets and the login's state.
func startStub(t *testing.T, h *login.Handler, target string) (*http.Cookie, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.Login(rec, httptest.NewRequest(http.MethodGet, target, nil))
	cookies := rec.Result().Cookies()
	if rec.Code != http.StatusSeeOther || len(cookies) != 1 {
		t.Fatalf("Login = %d, cookies %v; want 303 and a state cookie", rec.Code, cookies)
	}
	return cookies[0], stateOf(t, rec.Header().Get("Location"))
}

func TestOnLogin(t *testing.T) {
	var (
		mu    sync.Mutex
		calls []session.Session
	)
	a := newApp(t, setup{opts: []login.Option{login.WithOnLogin(func(r *http.Request, s *session.Session) {
		if r.URL.Path != "/auth/callback" {
			t.Errorf("hook called with a request for %q", r.URL.Path)
		}
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, *s)
	})}})
	b := newBrowser(t)
	callback := b.authorize(a, b.startLogin(a, "/"), "alice")
	b.get(callback)
	b.get(callback) // replayed: fails
	a.lastError()
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 1 {
		t.Fatalf("the hook was called %d times, want once", len(calls))
	}
	saved, ok := b.session(a)
	if !ok {
		t.Fatal("no session")
	}
	if got := calls[0]; got.ID == "" || got != saved {
		t.Errorf("the hook got %+v, want the saved session %+v", got, saved)
	}
}

// The logger gets one line per callback, at a level that tells whose fault
// it was, and no line holds a token, a code, a verifier or a state.
func TestLogger(t *testing.T) {
	var buf testutil.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := newApp(t, setup{opts: []login.Option{login.WithLogger(logger)}})
	var secrets []string
	var all strings.Builder // every line, from logins and callbacks

	for _, tc := range []struct {
		name   string
		refuse bool                            // CentralAuth answers with an error
		before func(a *app, callback *url.URL) // may change the callback
		replay bool                            // the line of a second callback
		level  string
		want   string // in the line
	}{
		{name: "ok", level: "INFO", want: `"outcome":"ok"`},
		{name: "replayed", replay: true, level: "INFO", want: `"status":400`},
		{name: "refused", refuse: true, level: "INFO", want: `"status":400`},
		{name: "no code", before: func(_ *app, cb *url.URL) {
			q := cb.Query()
			q.Del("code")
			cb.RawQuery = q.Encode()
		}, level: "INFO", want: `"status":400`},
		{name: "exchange refused", before: func(a *app, _ *url.URL) {
			a.ca.EndSession(a.fakeSession("alice").AccessToken)
		}, level: "WARN", want: `"status":502`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t)
			if tc.refuse {
				a.ca.FailNextLogin("access_denied", "no")
			}
			buf.Reset()
			loginPage := b.startLogin(a, "https://evil.example/") // logs the unsafe return_to
			all.WriteString(buf.String())
			for _, c := range b.stateCookies(a.callback) {
				state, verifier, _, _, _ := login.DecodeStateCookie(c.Value)
				secrets = append(secrets, state, verifier)
			}
			cb, err := url.Parse(b.authorize(a, loginPage, "alice"))
			if err != nil {
				t.Fatal(err)
			}
			secrets = append(secrets, cb.Query().Get("code"))
			s := a.fakeSession("alice")
			secrets = append(secrets, s.AccessToken, s.IDToken)
			if tc.before != nil {
				tc.before(a, cb)
			}
			if tc.replay {
				b.get(cb.String())
			}
			buf.Reset()
			b.get(cb.String())
			out := buf.String()
			all.WriteString(out)
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 1 || lines[0] == "" {
				t.Fatalf("the callback logged %d lines, want 1:\n%s", len(lines), out)
			}
			var line map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
				t.Fatal(err)
			}
			if line["level"] != tc.level || !strings.Contains(lines[0], tc.want) {
				t.Errorf("line %s, want level %s and %s", lines[0], tc.level, tc.want)
			}
			if tc.want != `"outcome":"ok"` {
				a.lastError()
			}
		})
	}
	if !strings.Contains(all.String(), "unsafe return_to") {
		t.Errorf("Login did not log the unsafe return_to:\n%s", all.String())
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(all.String(), s) {
			t.Errorf("a log line holds the secret %q:\n%s", s, all.String())
		}
	}
}
