package login_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/login"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
)

const (
	testID     = "app-id"
	testSecret = "app-secret"
	// sessionCookie is the app's session cookie over http (WithInsecure
	// rules the __Host- prefix out).
	sessionCookie = "centralauth_session"
	// stateCookiePrefix starts the name of every state cookie over http.
	stateCookiePrefix = "centralauth-login-"
)

var hashKey = bytes.Repeat([]byte("k"), 32)

// quiet keeps the tests' output clean of the default logger's lines.
var quiet = login.WithLogger(slog.New(slog.DiscardHandler))

// setup is what a test changes about its app.
type setup struct {
	opts        []login.Option  // after the error recorder, so a test may replace it
	defaultPage bool            // keep login's default error page: no recorder
	secret      string          // the app's client secret; default testSecret
	clientOpts  []remote.Option // after WithBaseURL
	// breaksContract says that the test makes the app break CentralAuth's
	// contract on purpose, such as by replaying a code; otherwise the fake
	// fails the test if the app breaks it.
	breaksContract bool
}

// app is an app under test, on a loopback http server, signing in through
// a fake CentralAuth: /login and /auth/callback are the Handler's, /me
// reports the session that the app's store loads.
type app struct {
	t        *testing.T
	ca       *centralauthtest.Server
	srv      *httptest.Server
	store    *session.Store
	h        *login.Handler
	callback string

	mu   sync.Mutex
	errs []error // what the error handler received, in order
}

func newApp(t *testing.T, s setup) *app {
	t.Helper()
	var ca *centralauthtest.Server
	if s.secret == "" && !s.breaksContract {
		ca = centralauthtest.Start(t, testID, testSecret)
	} else {
		var err error
		if ca, err = centralauthtest.NewServer(testID, testSecret); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ca.Close)
	}
	if s.secret == "" {
		s.secret = testSecret
	}
	client, err := remote.NewClient(testID, s.secret, append([]remote.Option{remote.WithBaseURL(ca.URL())}, s.clientOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	store, err := session.NewStore(hashKey, session.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	a := &app{t: t, ca: ca, srv: srv, store: store, callback: "http://" + srv.Listener.Addr().String() + "/auth/callback"}
	opts := []login.Option{quiet}
	if !s.defaultPage {
		opts = append(opts, login.WithErrorHandler(a.recordError))
	}
	a.h, err = login.New(store, client, a.callback, append(opts, s.opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("/login", a.h.Login)
	mux.HandleFunc("/auth/callback", a.h.Callback)
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		sess, err := store.Load(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(sess)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return a
}

// recordError is the tests' error handler: it keeps the error and answers
// with the status it carries.
func (a *app) recordError(w http.ResponseWriter, _ *http.Request, err error) {
	a.mu.Lock()
	a.errs = append(a.errs, err)
	a.mu.Unlock()
	status := 0
	if re, ok := errors.AsType[*login.RequestError](err); ok {
		status = re.Status
	}
	http.Error(w, "failed", status)
}

// lastError returns the one error that the error handler received since
// the last call, failing the test if there was not exactly one.
func (a *app) lastError() error {
	a.t.Helper()
	a.mu.Lock()
	errs := a.errs
	a.errs = nil
	a.mu.Unlock()
	if len(errs) != 1 {
		a.t.Fatalf("the error handler got %d errors, want 1: %v", len(errs), errs)
	}
	return errs[0]
}

// noErrors fails the test if the error handler received anything.
func (a *app) noErrors() {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.errs) != 0 {
		a.t.Fatalf("the error handler got %v, want nothing", a.errs)
	}
}

func (a *app) url(path string) string { return a.srv.URL + path }

// fakeSession returns the fake's newest session of user.
func (a *app) fakeSession(user string) centralauthtest.Session {
	a.t.Helper()
	for s := range a.ca.Sessions() {
		if s.Email == user {
			return s
		}
	}
	a.t.Fatalf("the fake has no session of %q", user)
	return centralauthtest.Session{}
}

// browser is a browser with its own cookies that takes each redirect one
// step at a time, so that a test sees every Location and Set-Cookie.
type browser struct {
	t   *testing.T
	jar *cookiejar.Jar
	c   *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, jar: jar, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is a response, read.
type page struct {
	status int
	header http.Header
	body   string
}

func (p page) location() string { return p.header.Get("Location") }

// setCookie returns the cookie that the page sets whose name starts with
// prefix, or nil.
func (p page) setCookie(prefix string) *http.Cookie {
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if strings.HasPrefix(c.Name, prefix) {
			return c
		}
	}
	return nil
}

// setsSession reports whether the page sets the app's session cookie.
func (p page) setsSession() bool { return p.setCookie(sessionCookie) != nil }

func (b *browser) do(method, target string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(b.t.Context(), method, target, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin") // the fake's own form
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	read, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: reading the body: %v", method, target, err)
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(read)}
}

func (b *browser) get(target string) page {
	b.t.Helper()
	return b.do(http.MethodGet, target, nil)
}

// startLogin opens the app's /login with return_to (none if empty) and
// returns the fake's login page that it redirects to.
func (b *browser) startLogin(a *app, returnTo string) *url.URL {
	b.t.Helper()
	target := a.url("/login")
	if returnTo != "" {
		target += "?" + url.Values{"return_to": {returnTo}}.Encode()
	}
	p := b.get(target)
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("GET /login = %d %q, want 303", p.status, p.body)
	}
	u, err := url.Parse(p.location())
	if err != nil || u.Scheme+"://"+u.Host+u.Path != a.ca.URL()+"/login" {
		b.t.Fatalf("GET /login redirected to %q, want the fake's login page", p.location())
	}
	return u
}

// authorize takes the browser through the fake's login page, signing user
// in with the form unless the fake recognises the browser (autologin), and
// returns where the fake sends the browser back: the callback URL with a
// code and the state, or an error.
func (b *browser) authorize(a *app, loginPage *url.URL, user string) string {
	b.t.Helper()
	p := b.get(loginPage.String())
	if p.status == http.StatusOK {
		form := loginPage.Query()
		form.Set("email", user)
		p = b.do(http.MethodPost, a.ca.URL()+"/login", form)
	}
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), a.callback+"?") {
		b.t.Fatalf("the fake answered %d %q, Location %q; want 303 to the callback", p.status, p.body, p.location())
	}
	return p.location()
}

// finish takes a login started at loginPage through the fake and returns
// the callback's answer.
func (b *browser) finish(a *app, loginPage *url.URL, user string) page {
	b.t.Helper()
	return b.get(b.authorize(a, loginPage, user))
}

// login signs user in from start to end and returns the callback's answer.
func (b *browser) login(a *app, returnTo, user string) page {
	b.t.Helper()
	return b.finish(a, b.startLogin(a, returnTo), user)
}

// session returns the session that the app loads for this browser.
func (b *browser) session(a *app) (session.Session, bool) {
	b.t.Helper()
	p := b.get(a.url("/me"))
	if p.status != http.StatusOK {
		return session.Session{}, false
	}
	var s session.Session
	if err := json.Unmarshal([]byte(p.body), &s); err != nil {
		b.t.Fatalf("/me: %v", err)
	}
	return s, true
}

// stateCookies returns the state cookies that the browser would send to
// the callback at callbackURL.
func (b *browser) stateCookies(callbackURL string) []*http.Cookie {
	b.t.Helper()
	u, err := url.Parse(callbackURL)
	if err != nil {
		b.t.Fatal(err)
	}
	var out []*http.Cookie
	for _, c := range b.jar.Cookies(u) {
		if strings.Contains(c.Name, stateCookiePrefix) {
			out = append(out, c)
		}
	}
	return out
}

// challengeOf is PKCE S256.
func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// stubClient is a CentralAuth client without a network, for tests in a
// synctest bubble and of Login's response alone. Its login URL carries the
// redirect_uri, state and challenge; Exchange accepts a code "code-<state>"
// only with that login's redirect_uri and a verifier of its challenge, once.
type stubClient struct {
	mu         sync.Mutex
	challenges map[string]string // state -> challenge, until exchanged
	err        error             // what Exchange returns, if set
	expires    time.Time
}

func newStubClient() *stubClient { return &stubClient{challenges: make(map[string]string)} }

func (c *stubClient) LoginURL(redirectURI, state, codeChallenge string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.challenges[state] = codeChallenge
	return "https://centralauth.example/login?" + url.Values{
		"redirect_uri": {redirectURI}, "state": {state}, "code_challenge": {codeChallenge},
	}.Encode()
}

func (c *stubClient) Exchange(_ context.Context, code, _, verifier string) (remote.Tokens, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return remote.Tokens{}, c.err
	}
	state := strings.TrimPrefix(code, "code-")
	want, ok := c.challenges[state]
	delete(c.challenges, state)
	if !ok || challengeOf(verifier) != want {
		return remote.Tokens{}, errors.New("stub: unknown code, or a verifier of another challenge")
	}
	return remote.Tokens{AccessToken: "at-" + state, IDToken: "it-" + state, Expires: c.expires}, nil
}

// stateOf returns the state in a login URL of the stub client or the fake.
func stateOf(t *testing.T, loginURL string) string {
	t.Helper()
	u, err := url.Parse(loginURL)
	if err != nil {
		t.Fatal(err)
	}
	s := u.Query().Get("state")
	if s == "" {
		t.Fatalf("no state in %q", loginURL)
	}
	return s
}
