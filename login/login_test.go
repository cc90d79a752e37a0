package login_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/centralauth-go/logout/login"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
)

var (
	stateRE    = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)       // 128 bits of base64url
	verifierRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`) // RFC 7636's unreserved characters
	sessionIDs = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

func TestLoginRedirect(t *testing.T) {
	a := newApp(t, setup{})
	b := newBrowser(t)
	seen := map[string]bool{}
	for range 2 {
		p := b.get(a.url("/login"))
		if p.status != http.StatusSeeOther {
			t.Fatalf("GET /login = %d, want 303", p.status)
		}
		if got := p.header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", got)
		}
		loc, err := url.Parse(p.location())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := loc.Scheme+"://"+loc.Host+loc.Path, a.ca.URL()+"/login"; got != want {
			t.Errorf("redirected to %q, want %q", got, want)
		}
		q := loc.Query()
		for k, want := range map[string]string{
			"client_id":             testID,
			"response_type":         "code",
			"redirect_uri":          a.callback,
			"code_challenge_method": "S256",
		} {
			if got := q.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		state := q.Get("state")
		if !stateRE.MatchString(state) {
			t.Errorf("state = %q, want 22 base64url characters (128 bits)", state)
		}
		c := p.setCookie(stateCookiePrefix)
		if c == nil {
			t.Fatalf("no state cookie in %q", p.header["Set-Cookie"])
		}
		cState, verifier, _, _, err := login.DecodeStateCookie(c.Value)
		if err != nil {
			t.Fatalf("state cookie %q: %v", c.Value, err)
		}
		if cState != state {
			t.Errorf("the cookie's state %q is not the login's %q", cState, state)
		}
		if !verifierRE.MatchString(verifier) {
			t.Errorf("verifier %q is not 43 to 128 RFC 7636 characters", verifier)
		}
		if got, want := q.Get("code_challenge"), challengeOf(verifier); got != want {
			t.Errorf("code_challenge = %q, want S256 of the cookie's verifier, %q", got, want)
		}
		for _, v := range []string{state, verifier, c.Name} {
			if seen[v] {
				t.Errorf("%q is the same in two logins", v)
			}
			seen[v] = true
		}
	}
}

func TestStateCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		name, callback string
		namePrefix     string
		path           string
		secure         bool
	}{
		{"http", "http://127.0.0.1:8080/auth/callback", "centralauth-login-", "/auth/callback", false},
		{"http under a prefix", "http://localhost/app/auth/callback", "centralauth-login-", "/app/auth/callback", false},
		{"https", "https://app.example.com/auth/callback", "__Host-centralauth-login-", "/", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := login.New(newStore(t), newStubClient(), tc.callback, quiet)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.Login(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
			raw := rec.Result().Header["Set-Cookie"]
			if len(raw) != 1 {
				t.Fatalf("Set-Cookie = %q, want one state cookie", raw)
			}
			c, err := http.ParseSetCookie(raw[0])
			if err != nil {
				t.Fatal(err)
			}
			suffix, ok := strings.CutPrefix(c.Name, tc.namePrefix)
			if !ok || suffix == "" {
				t.Errorf("name = %q, want %q and a suffix", c.Name, tc.namePrefix)
			}
			if c.Path != tc.path {
				t.Errorf("Path = %q, want %q", c.Path, tc.path)
			}
			if c.Secure != tc.secure {
				t.Errorf("Secure = %v, want %v", c.Secure, tc.secure)
			}
			if !c.HttpOnly {
				t.Error("not HttpOnly")
			}
			if c.SameSite != http.SameSiteLaxMode {
				t.Errorf("SameSite = %v, want Lax", c.SameSite)
			}
			if c.MaxAge != 600 {
				t.Errorf("Max-Age = %d, want 600 (10 minutes)", c.MaxAge)
			}
			if c.Domain != "" {
				t.Errorf("Domain = %q, want none (host-only)", c.Domain)
			}
		})
	}
}

func TestFullLogin(t *testing.T) {
	a := newApp(t, setup{})
	b := newBrowser(t)
	loginPage := b.startLogin(a, "/account?tab=2")
	if got := len(b.stateCookies(a.callback)); got != 1 {
		t.Fatalf("the browser holds %d state cookies for the callback, want 1", got)
	}
	p := b.get(b.authorize(a, loginPage, "alice"))
	a.noErrors()
	if p.status != http.StatusSeeOther || p.location() != "/account?tab=2" {
		t.Fatalf("callback = %d to %q, want 303 to the return_to /account?tab=2", p.status, p.location())
	}
	if got := p.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if !p.setsSession() {
		t.Errorf("the callback set no session cookie: %q", p.header["Set-Cookie"])
	}
	sess, ok := b.session(a)
	if !ok {
		t.Fatal("no session after the login")
	}
	fake := a.fakeSession("alice")
	if sess.AccessToken != fake.AccessToken || sess.IDToken != fake.IDToken {
		t.Error("the session does not hold the tokens of alice's session at CentralAuth")
	}
	if !sessionIDs.MatchString(sess.ID) || sess.ID == fake.ID {
		t.Errorf("session ID = %q, want a fresh one of 32 hex digits", sess.ID)
	}
	if left := b.stateCookies(a.callback); len(left) != 0 {
		t.Errorf("state cookies left after the login: %v", left)
	}
}

// Logins started in three tabs before any finishes all complete, whatever
// the order in which the tabs come back.
func TestThreeTabs(t *testing.T) {
	a := newApp(t, setup{})
	orders := [][]int{{0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {2, 0, 1}}
	for _, order := range orders {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			b := newBrowser(t)
			var pages [3]*url.URL
			for i := range pages {
				pages[i] = b.startLogin(a, fmt.Sprintf("/tab/%d", i))
			}
			var callbacks [3]string
			for i, p := range pages {
				callbacks[i] = b.authorize(a, p, "alice") // the first signs in, the others autologin
			}
			for _, i := range order {
				p := b.get(callbacks[i])
				if want := fmt.Sprintf("/tab/%d", i); p.status != http.StatusSeeOther || p.location() != want {
					t.Fatalf("tab %d: callback = %d to %q, want 303 to %q", i, p.status, p.location(), want)
				}
				if _, ok := b.session(a); !ok {
					t.Fatalf("tab %d: no session", i)
				}
			}
			a.noErrors()
		})
	}
}

// On https, Login sees the state cookies (Path=/): a fourth login under way
// drops the one started first, and the three others still complete.
func TestFourthLoginDropsOldest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client := newStubClient()
		var errs []error
		h, err := login.New(newStore(t), client, "https://app.example.com/auth/callback",
			login.WithErrorHandler(func(w http.ResponseWriter, _ *http.Request, err error) {
				errs = append(errs, err)
				w.WriteHeader(http.StatusBadRequest)
			}), quiet)
		if err != nil {
			t.Fatal(err)
		}
		site, _ := url.Parse("https://app.example.com/")
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		// send makes a request with the jar's cookies, newest first so
		// that the oldest is not simply the first one seen.
		send := func(handler http.HandlerFunc, target string) *http.Response {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			cookies := jar.Cookies(site)
			slices.Reverse(cookies)
			for _, c := range cookies {
				req.AddCookie(c)
			}
			rec := httptest.NewRecorder()
			handler(rec, req)
			jar.SetCookies(site, rec.Result().Cookies())
			return rec.Result()
		}
		var states []string
		for i := range 4 {
			resp := send(h.Login, fmt.Sprintf("https://app.example.com/login?return_to=/tab/%d", i))
			states = append(states, stateOf(t, resp.Header.Get("Location")))
			time.Sleep(time.Second) // the bubble's clock: each login starts a second later
		}
		if got := len(jar.Cookies(site)); got != 3 {
			t.Fatalf("the browser holds %d state cookies after four logins, want 3", got)
		}
		resp := send(h.Callback, "https://app.example.com/auth/callback?code=code-"+states[0]+"&state="+states[0])
		if len(errs) != 1 || !errors.Is(errs[0], login.ErrState) {
			t.Errorf("the first login's callback: %d, errors %v; want ErrState: its state was dropped", resp.StatusCode, errs)
		}
		for i := 1; i < 4; i++ {
			resp := send(h.Callback, "https://app.example.com/auth/callback?code=code-"+states[i]+"&state="+states[i])
			if want := fmt.Sprintf("/tab/%d", i); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
				t.Errorf("login %d: callback = %d to %q, want 303 to %q", i, resp.StatusCode, resp.Header.Get("Location"), want)
			}
		}
	})
}

func TestReplayedCallback(t *testing.T) {
	for _, tc := range []struct {
		name        string
		keepCookies bool // the replay brings back the state cookies of the first try
		want        error
		status      int
	}{
		{"the same URL", false, login.ErrState, http.StatusBadRequest},
		// The state cookie is the browser's to keep; the code still works
		// once, at CentralAuth.
		{"the same URL and state cookie", true, login.ErrExchange, http.StatusBadGateway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, setup{breaksContract: tc.keepCookies}) // the code is exchanged twice
			b := newBrowser(t)
			callback := b.authorize(a, b.startLogin(a, "/"), "alice")
			saved := b.stateCookies(a.callback)
			if p := b.get(callback); p.status != http.StatusSeeOther {
				t.Fatalf("the first callback = %d, want 303", p.status)
			}
			if tc.keepCookies {
				u, _ := url.Parse(a.callback)
				b.jar.SetCookies(u, saved)
			}
			p := b.get(callback)
			if p.status != tc.status {
				t.Errorf("replayed callback = %d, want %d", p.status, tc.status)
			}
			if err := a.lastError(); !errors.Is(err, tc.want) {
				t.Errorf("error = %v, want %v", err, tc.want)
			}
			if p.setsSession() {
				t.Error("the replayed callback set a session cookie")
			}
		})
	}
}

// A callback meant for browser B, delivered to browser A (a login CSRF),
// fails in A and leaves B's login intact.
func TestForeignState(t *testing.T) {
	for _, tc := range []struct {
		name     string
		aStarted bool // A has a login of its own under way
	}{
		{"A started no login", false},
		{"A has a login of its own", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, setup{})
			browserA, browserB := newBrowser(t), newBrowser(t)
			var ownPage *url.URL
			if tc.aStarted {
				ownPage = browserA.startLogin(a, "/a")
			}
			foreign := browserB.authorize(a, browserB.startLogin(a, "/b"), "mallory")
			p := browserA.get(foreign)
			if p.status != http.StatusBadRequest {
				t.Errorf("foreign callback = %d, want 400", p.status)
			}
			if err := a.lastError(); !errors.Is(err, login.ErrState) {
				t.Errorf("error = %v, want ErrState", err)
			}
			if _, ok := browserA.session(a); ok || p.setsSession() {
				t.Error("browser A got a session from B's login")
			}
			if tc.aStarted {
				if p := browserA.finish(a, ownPage, "alice"); p.location() != "/a" {
					t.Errorf("A's own login, after the foreign callback: %d to %q, want 303 to /a", p.status, p.location())
				}
			}
			if p := browserB.get(foreign); p.status != http.StatusSeeOther || p.location() != "/b" {
				t.Errorf("B's own callback, after A got it: %d to %q, want 303 to /b", p.status, p.location())
			}
		})
	}
}

func TestCallbackWithoutStateOrCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(q url.Values)
		want error
	}{
		{"no state", func(q url.Values) { q.Del("state") }, login.ErrState},
		{"an empty state", func(q url.Values) { q.Set("state", "") }, login.ErrState},
		{"a state one character short", func(q url.Values) { q.Set("state", q.Get("state")[1:]) }, login.ErrState},
		{"no code", func(q url.Values) { q.Del("code") }, login.ErrNoCode},
		{"an empty code", func(q url.Values) { q.Set("code", "") }, login.ErrNoCode},
		{"neither", func(q url.Values) { q.Del("state"); q.Del("code") }, login.ErrState},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, setup{})
			b := newBrowser(t)
			u, err := url.Parse(b.authorize(a, b.startLogin(a, "/"), "alice"))
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			tc.edit(q)
			u.RawQuery = q.Encode()
			p := b.get(u.String())
			if p.status != http.StatusBadRequest {
				t.Errorf("callback = %d, want 400", p.status)
			}
			if err := a.lastError(); !errors.Is(err, tc.want) {
				t.Errorf("error = %v, want %v", err, tc.want)
			}
			if p.setsSession() {
				t.Error("a session cookie was set")
			}
		})
	}
}

// CentralAuth's error and error_description come back through the
// browser: they are quoted, never markup, and bounded.
func TestErrorCallback(t *testing.T) {
	const code = `access_denied"<b>`
	for _, tc := range []struct {
		name, description string
		quoted            string // what the error and the page show of the description
	}{
		{"markup and quotes", `<script>alert("hi")</script> it's "you"` + "\nSet-Cookie: x=1",
			strconv.Quote(`<script>alert("hi")</script> it's "you"` + "\nSet-Cookie: x=1")},
		{"long", strings.Repeat("é", 1000), strconv.Quote(strings.Repeat("é", 100))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("error", func(t *testing.T) {
				a := newApp(t, setup{})
				b := newBrowser(t)
				a.ca.FailNextLogin(code, tc.description)
				p := b.login(a, "/", "alice")
				if p.status != http.StatusBadRequest {
					t.Errorf("callback = %d, want 400", p.status)
				}
				err := a.lastError()
				if !errors.Is(err, login.ErrRefused) || errors.Is(err, login.ErrState) {
					t.Errorf("error = %v, want ErrRefused alone", err)
				}
				if msg := err.Error(); !strings.Contains(msg, strconv.Quote(code)) || !strings.Contains(msg, tc.quoted) {
					t.Errorf("error %q does not quote the code and the description, %s", msg, tc.quoted)
				}
				if p.setsSession() {
					t.Error("a session cookie was set")
				}
				if _, ok := b.session(a); ok {
					t.Error("the browser has a session")
				}
			})
			t.Run("default page", func(t *testing.T) {
				a := newApp(t, setup{defaultPage: true})
				b := newBrowser(t)
				a.ca.FailNextLogin(code, tc.description)
				p := b.login(a, "/", "alice")
				if p.status != http.StatusBadRequest {
					t.Errorf("callback = %d, want 400", p.status)
				}
				for k, want := range map[string]string{
					"Content-Type":           "text/plain; charset=utf-8",
					"X-Content-Type-Options": "nosniff",
					"Cache-Control":          "no-store",
				} {
					if got := p.header.Get(k); got != want {
						t.Errorf("%s = %q, want %q", k, got, want)
					}
				}
				if !strings.Contains(p.body, strconv.Quote(code)) || !strings.Contains(p.body, tc.quoted) {
					t.Errorf("page %q does not quote the code and the description, %s", p.body, tc.quoted)
				}
				if strings.Contains(p.body, "\nSet-Cookie") || len(p.body) > 600 {
					t.Errorf("page %q is not bounded to quoted lines", p.body)
				}
				if p.setsSession() {
					t.Error("a session cookie was set")
				}
			})
		})
	}
}

// An error callback is the browser's to send: without the login's state
// it is a forged one.
func TestErrorCallbackWithoutState(t *testing.T) {
	a := newApp(t, setup{})
	b := newBrowser(t)
	b.startLogin(a, "/")
	p := b.get(a.callback + "?error=access_denied&error_description=no")
	if p.status != http.StatusBadRequest {
		t.Errorf("callback = %d, want 400", p.status)
	}
	if err := a.lastError(); !errors.Is(err, login.ErrState) {
		t.Errorf("error = %v, want ErrState", err)
	}
}

func TestRefusedExchange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  setup
		before func(a *app)                  // between CentralAuth's redirect and the callback
		check  func(t *testing.T, err error) // more about the error
	}{
		{
			name:   "the session ended before the callback",
			before: func(a *app) { a.ca.EndSession(a.fakeSession("alice").AccessToken) },
			check: func(t *testing.T, err error) {
				if re, ok := errors.AsType[*remote.Error](err); !ok || re.Code != "sessionInactive" {
					t.Errorf("error = %v, want remote's *Error with %s", err, "sessionInactive")
				}
			},
		},
		{
			name:  "a wrong client secret",
			setup: setup{secret: "not-the-secret"},
			check: func(t *testing.T, err error) {
				if re, ok := errors.AsType[*remote.Error](err); !ok || re.StatusCode != http.StatusUnauthorized {
					t.Errorf("error = %v, want remote's *Error with status 401", err)
				}
				if strings.Contains(err.Error(), "not-the-secret") {
					t.Errorf("error %q holds the client secret", err)
				}
			},
		},
		{
			name:   "CentralAuth down",
			setup:  setup{clientOpts: []remote.Option{remote.WithRetries(0)}},
			before: func(a *app) { a.ca.Close() },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, tc.setup)
			b := newBrowser(t)
			callback := b.authorize(a, b.startLogin(a, "/account"), "alice")
			if tc.before != nil {
				tc.before(a)
			}
			p := b.get(callback)
			if p.status != http.StatusBadGateway {
				t.Errorf("callback = %d, want 502", p.status)
			}
			err := a.lastError()
			if !errors.Is(err, login.ErrExchange) {
				t.Errorf("error = %v, want ErrExchange", err)
			}
			if tc.check != nil {
				tc.check(t, err)
			}
			u, _ := url.Parse(callback)
			if code := u.Query().Get("code"); strings.Contains(err.Error(), code) {
				t.Errorf("error %q holds the code", err)
			}
			if p.setsSession() {
				t.Error("a session cookie was set")
			}
			if _, ok := b.session(a); ok {
				t.Error("the browser has a session")
			}
		})
	}
}

// A hostile return_to given to Login is replaced by the default, and so is
// one in the state cookie when the browser comes back.
func TestHostileReturnTo(t *testing.T) {
	hostile := []string{
		"https://evil.example/",
		"//evil.example",
		"/\\evil.example",
		"javascript:alert(document.cookie)",
		"https://app.example.com@evil.example/",
		"http://127.0.0.1:1/",
	}
	t.Run("at login", func(t *testing.T) {
		for _, tc := range []struct {
			name, returnTo, want string
			opts                 []login.Option
		}{
			{"a path is kept", "/account?tab=2", "/account?tab=2", nil},
			{"an allowed host is kept", "https://app.example.com/x", "https://app.example.com/x", []login.Option{login.WithAllowedHosts("app.example.com")}},
			{"none: the default", "", "/", nil},
			{"hostile, own default", "https://evil.example/", "/home", []login.Option{login.WithDefaultReturnTo("/home")}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a := newApp(t, setup{opts: tc.opts})
				if p := newBrowser(t).login(a, tc.returnTo, "alice"); p.location() != tc.want {
					t.Errorf("return_to %q: callback = %d to %q, want 303 to %q", tc.returnTo, p.status, p.location(), tc.want)
				}
			})
		}
		a := newApp(t, setup{})
		for _, returnTo := range hostile {
			t.Run(returnTo, func(t *testing.T) {
				b := newBrowser(t)
				loginPage := b.startLogin(a, returnTo)
				for _, c := range b.stateCookies(a.callback) {
					if _, _, kept, _, _ := login.DecodeStateCookie(c.Value); kept != "/" {
						t.Errorf("the state cookie keeps return_to %q, want /", kept)
					}
				}
				if p := b.finish(a, loginPage, "alice"); p.status != http.StatusSeeOther || p.location() != "/" {
					t.Errorf("callback = %d to %q, want 303 to /", p.status, p.location())
				}
			})
		}
	})
	t.Run("at callback", func(t *testing.T) {
		a := newApp(t, setup{})
		cb, _ := url.Parse(a.callback)
		// The forged cookie works: a safe return_to planted in it is where
		// the browser goes.
		for _, returnTo := range append([]string{"/planted"}, hostile...) {
			t.Run(returnTo, func(t *testing.T) {
				b := newBrowser(t)
				loginPage := b.startLogin(a, "/account")
				cookies := b.stateCookies(a.callback)
				if len(cookies) != 1 {
					t.Fatalf("%d state cookies, want 1", len(cookies))
				}
				c := cookies[0]
				state, verifier, _, started, err := login.DecodeStateCookie(c.Value)
				if err != nil {
					t.Fatal(err)
				}
				b.jar.SetCookies(cb, []*http.Cookie{{Name: c.Name, Value: login.EncodeStateCookie(state, verifier, returnTo, started), Path: cb.Path}})
				want := "/"
				if returnTo == "/planted" {
					want = returnTo
				}
				if p := b.finish(a, loginPage, "alice"); p.status != http.StatusSeeOther || p.location() != want {
					t.Errorf("callback = %d to %q, want 303 to %q", p.status, p.location(), want)
				}
			})
		}
	})
}

// A login saves a new session under a fresh ID, whatever session cookie
// the browser brought (no session fixation).
func TestFreshSessionID(t *testing.T) {
	a := newApp(t, setup{})
	b := newBrowser(t)
	planted := &session.Session{ID: "0123456789abcdef0123456789abcdef", AccessToken: "planted-token"}
	rec := httptest.NewRecorder()
	if err := a.store.Save(rec, planted); err != nil {
		t.Fatal(err)
	}
	site, _ := url.Parse(a.srv.URL)
	b.jar.SetCookies(site, rec.Result().Cookies())
	if s, ok := b.session(a); !ok || s.ID != planted.ID {
		t.Fatal("the planted session does not load")
	}
	var ids []string
	for range 2 {
		if p := b.login(a, "/", "alice"); !p.setsSession() {
			t.Fatalf("the callback set no session cookie: %d", p.status)
		}
		s, ok := b.session(a)
		if !ok {
			t.Fatal("no session after the login")
		}
		if s.ID == planted.ID || slices.Contains(ids, s.ID) {
			t.Errorf("session ID %q carried on, want a fresh one", s.ID)
		}
		if s.AccessToken != a.fakeSession("alice").AccessToken {
			t.Error("the session does not hold the new login's access token")
		}
		ids = append(ids, s.ID)
	}
}

// The session expires with the tokens: expires_in from when CentralAuth
// answered, expires_at, or the sooner of both.
func TestTokenExpiry(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		expiresIn, expiresAt time.Duration
		want                 time.Duration // 0: no Expires
	}{
		{"expires_in only", time.Hour, 0, time.Hour},
		{"expires_at only", 0, 2 * time.Hour, 2 * time.Hour},
		{"expires_in sooner", time.Hour, 2 * time.Hour, time.Hour},
		{"expires_at sooner", 3 * time.Hour, 2 * time.Hour, 2 * time.Hour},
		{"neither", 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, setup{})
			a.ca.SetTokenExpiry(tc.expiresIn, tc.expiresAt)
			b := newBrowser(t)
			before := time.Now().Truncate(time.Second)
			b.login(a, "/", "alice")
			after := time.Now()
			s, ok := b.session(a)
			if !ok {
				t.Fatal("no session")
			}
			if tc.want == 0 {
				if !s.Expires.IsZero() {
					t.Errorf("Expires = %v, want none", s.Expires)
				}
				return
			}
			// Expires is kept to the second; the fake writes expires_at to
			// the second too.
			lo, hi := before.Add(tc.want), after.Add(tc.want)
			if s.Expires.Before(lo) || s.Expires.After(hi) {
				t.Errorf("Expires = %v, want %v after the login, between %v and %v", s.Expires, tc.want, lo, hi)
			}
		})
	}
}

func TestMethods(t *testing.T) {
	h, err := login.New(newStore(t), newStubClient(), "https://app.example.com/auth/callback", quiet)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		handler string
		method  string
		want    int
	}{
		{"Login", http.MethodGet, http.StatusSeeOther},
		{"Login", http.MethodHead, http.StatusSeeOther},
		{"Login", http.MethodPost, http.StatusSeeOther},
		{"Login", http.MethodPut, http.StatusMethodNotAllowed},
		{"Login", http.MethodDelete, http.StatusMethodNotAllowed},
		{"Login", http.MethodOptions, http.StatusMethodNotAllowed},
		{"Callback", http.MethodGet, http.StatusBadRequest}, // no state
		{"Callback", http.MethodHead, http.StatusMethodNotAllowed},
		{"Callback", http.MethodPost, http.StatusMethodNotAllowed},
		{"Callback", http.MethodPut, http.StatusMethodNotAllowed},
	} {
		t.Run(tc.handler+" "+tc.method, func(t *testing.T) {
			rec := httptest.NewRecorder()
			serve, allow := h.Login, "GET, HEAD, POST"
			if tc.handler == "Callback" {
				serve, allow = h.Callback, "GET"
			}
			serve(rec, httptest.NewRequest(tc.method, "https://app.example.com/x", nil))
			if rec.Code != tc.want {
				t.Errorf("%s %s = %d, want %d", tc.method, tc.handler, rec.Code, tc.want)
			}
			if tc.want == http.StatusMethodNotAllowed {
				if got := rec.Header().Get("Allow"); got != allow {
					t.Errorf("Allow = %q, want %q", got, allow)
				}
				if got := rec.Header()["Set-Cookie"]; len(got) != 0 {
					t.Errorf("a refused %s set cookies: %q", tc.method, got)
				}
			}
		})
	}
}

func TestNewConfigErrors(t *testing.T) {
	store, client := newStore(t), newStubClient()
	const cb = "https://app.example.com/auth/callback"
	var nilStore *session.Store
	var nilClient *remote.Client
	for _, tc := range []struct {
		name     string
		store    login.Store
		client   login.Client
		callback string
		opts     []login.Option
	}{
		{"nil store", nil, client, cb, nil},
		{"nil client", store, nil, cb, nil},
		{"typed nil store", nilStore, client, cb, nil},
		{"typed nil client", store, nilClient, cb, nil},
		{"empty callback", store, client, "", nil},
		{"relative callback", store, client, "/auth/callback", nil},
		{"callback without scheme", store, client, "app.example.com/auth/callback", nil},
		{"callback with a query", store, client, cb + "?next=1", nil},
		{"callback with an empty query", store, client, cb + "?", nil},
		{"callback with a fragment", store, client, cb + "#top", nil},
		{"callback with an empty fragment", store, client, cb + "#", nil},
		{"callback with a user", store, client, "https://user:pw@app.example.com/auth/callback", nil},
		{"callback without a path", store, client, "https://app.example.com", nil},
		{"callback without a host", store, client, "https:///auth/callback", nil},
		{"opaque callback", store, client, "https:app.example.com/auth/callback", nil},
		{"http callback on a public host", store, client, "http://app.example.com/auth/callback", nil},
		{"http callback on a host like localhost", store, client, "http://localhost.evil.example/auth/callback", nil},
		{"http callback on a private address", store, client, "http://10.0.0.1/auth/callback", nil},
		{"ftp callback", store, client, "ftp://app.example.com/auth/callback", nil},
		{"unsafe default return_to", store, client, cb, []login.Option{login.WithDefaultReturnTo("https://evil.example/")}},
		{"protocol-relative default return_to", store, client, cb, []login.Option{login.WithDefaultReturnTo("//evil.example")}},
		{"empty default return_to", store, client, cb, []login.Option{login.WithDefaultReturnTo("")}},
		{"bad host pattern", store, client, cb, []login.Option{login.WithAllowedHosts("*")}},
		{"empty host pattern", store, client, cb, []login.Option{login.WithAllowedHosts("")}},
		{"nil option", store, client, cb, []login.Option{nil}},
		{"nil error handler", store, client, cb, []login.Option{login.WithErrorHandler(nil)}},
		{"nil logger", store, client, cb, []login.Option{login.WithLogger(nil)}},
		{"nil login hook", store, client, cb, []login.Option{login.WithOnLogin(nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := login.New(tc.store, tc.client, tc.callback, tc.opts...)
			if !errors.Is(err, login.ErrInvalidConfig) || h != nil {
				t.Errorf("New = %v, %v; want nil and ErrInvalidConfig", h, err)
			}
		})
	}
	for _, tc := range []struct {
		name     string
		callback string
		opts     []login.Option
	}{
		{"https", cb, nil},
		{"https with a port", "https://app.example.com:8443/auth/callback", nil},
		{"http on 127.0.0.1", "http://127.0.0.1:8080/auth/callback", nil},
		{"http on localhost", "http://localhost/auth/callback", nil},
		{"http on ::1", "http://[::1]:8080/auth/callback", nil},
		{"an allowed default return_to", cb, []login.Option{login.WithAllowedHosts("*.example.com"), login.WithDefaultReturnTo("https://www.example.com/")}},
	} {
		t.Run("valid "+tc.name, func(t *testing.T) {
			if _, err := login.New(store, client, tc.callback, tc.opts...); err != nil {
				t.Errorf("New: %v", err)
			}
		})
	}
	t.Run("a real store and client fit", func(t *testing.T) {
		rc, err := remote.NewClient(testID, testSecret)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := login.New(store, rc, cb); err != nil {
			t.Errorf("New: %v", err)
		}
	})
}

// newStore is a Store with its secure defaults (an https app).
func newStore(t *testing.T) *session.Store {
	t.Helper()
	s, err := session.NewStore(hashKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
