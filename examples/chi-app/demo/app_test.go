package demo

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// These tests drive the apps over HTTP with Go's client and a cookie jar
// (which, like a browser, shares cookies across ports): quick checks of
// the flow and of what the pages and logs show. browser_test.go proves the
// same in a real browser.

// client is a browser stand-in: it keeps cookies and follows redirects.
type client struct {
	t  testing.TB
	hc *http.Client
}

func newClient(t testing.TB) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, hc: &http.Client{Jar: jar}}
}

// page is an answer, after redirects.
type page struct {
	status int
	url    *url.URL
	header http.Header
	body   string
}

func (c *client) do(method, target string, form url.Values) page {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, target, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL, header: resp.Header, body: string(b)}
}

func (c *client) get(target string) page { return c.do(http.MethodGet, target, nil) }

// login clicks "Log in (demo)" on the app at appURL. If CentralAuth shows
// its form, it signs in with email; with autologin it does not ask.
func (c *client) login(appURL, email string) page {
	c.t.Helper()
	p := c.get(appURL + loginPath)
	if p.url.Path == "/login" { // CentralAuth's form
		form := p.url.Query()
		form.Set("email", email)
		p = c.do(http.MethodPost, p.url.Scheme+"://"+p.url.Host+"/login", form)
	}
	return p
}

// cookie returns the value of the named cookie that the jar sends to u.
func (c *client) cookie(u, name string) string {
	parsed, _ := url.Parse(u)
	for _, ck := range c.hc.Jar.Cookies(parsed) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

var (
	reState       = regexp.MustCompile(`id="status" data-state="([a-z-]+)"`)
	reCASession   = regexp.MustCompile(`id="centralauth-session">([^<]*)<`)
	reTokenPrefix = regexp.MustCompile(`id="token-prefix">([^<]*)<`)
	reScript      = regexp.MustCompile(`(?i)<script|\son[a-z]+=`)
)

// state is what a home page says: "logged-in" or "logged-out".
func (p page) state() string {
	m := reState.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return m[1]
}

func (p page) field(re *regexp.Regexp) string {
	m := re.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestFlowOverHTTP(t *testing.T) {
	// Every page load asks CentralAuth; the browser proofs wait for the
	// interval.
	d := startDemo(t, func(c *appConfig) { c.CheckInterval = 0 })
	c := newClient(t)

	if p := c.get(d.a + "/"); p.state() != "logged-out" || !strings.Contains(p.body, `id="login"`) {
		t.Fatalf("App A before login: state %q, want logged-out with a login button", p.state())
	}

	// The email is taken as typed, and is what userinfo answers.
	pa := c.login(d.a, "alice@example.com")
	if pa.url.String() != d.a+"/" || pa.state() != "logged-in" || !strings.Contains(pa.body, "<strong>alice@example.com</strong>") {
		t.Fatalf("after login on App A: at %s, state %q; want App A's home, logged in as alice@example.com:\n%s", pa.url, pa.state(), pa.body)
	}
	sessions := slices.Collect(d.ca.Sessions())
	if len(sessions) != 1 {
		t.Fatalf("CentralAuth has %d sessions, want 1", len(sessions))
	}
	s := sessions[0]
	if got := pa.field(reCASession); got != s.ID {
		t.Errorf("App A shows CentralAuth session %q, want %q", got, s.ID)
	}
	if got, want := pa.field(reTokenPrefix), s.AccessToken[:8]+"…"; got != want {
		t.Errorf("App A shows token %q, want the prefix %q", got, want)
	}

	pb := c.login(d.b, "someone-else")
	if pb.url.String() != d.b+"/" || pb.state() != "logged-in" || pb.field(reCASession) != s.ID {
		t.Fatalf("after login on App B: at %s, state %q, session %q; want autologin into %s",
			pb.url, pb.state(), pb.field(reCASession), s.ID)
	}
	if n := len(slices.Collect(d.ca.Sessions())); n != 1 {
		t.Errorf("CentralAuth has %d sessions after App B's login, want autologin to reuse 1", n)
	}
	if c.cookie(d.a, "app_a_session") == "" || c.cookie(d.b, "app_b_session") == "" {
		t.Fatal("each app should hold its own session cookie")
	}

	// Log out everywhere on App A ends the session at CentralAuth...
	p := c.do(http.MethodPost, d.a+everywherePath, url.Values{})
	if p.url.String() != d.a+"/" || p.state() != "logged-out" {
		t.Fatalf("after log out everywhere: at %s, state %q", p.url, p.state())
	}
	if d.ca.Active(s.AccessToken) {
		t.Fatal("the CentralAuth session is still active after log out everywhere")
	}
	// ...which App B learns on its next page load.
	p = c.get(d.b + "/")
	if p.state() != "logged-out" || !strings.Contains(p.body, `id="notice"`) {
		t.Errorf("App B after log out everywhere: state %q, want logged-out with a notice", p.state())
	}
	if c.cookie(d.b, "app_b_session") != "" {
		t.Error("App B kept its cookie after CentralAuth said the session ended")
	}
	if !strings.Contains(p.body, `data-session-id="`+s.ID+`" data-active="false"`) {
		t.Error("the demo's session list does not show the session as ended")
	}

	for _, text := range []struct{ where, text string }{
		{"App A's page", pa.body}, {"App B's page", pb.body}, {"the log", d.logs.String()},
	} {
		d.checkNoWholeToken(t, text.where, text.text)
	}
	for _, want := range []string{"msg=login", "msg=logout", "session_wide=true", "CentralAuth session ended"} {
		if !strings.Contains(d.logs.String(), want) {
			t.Errorf("the log has no %q:\n%s", want, d.logs.String())
		}
	}
}

func TestLocalLogoutKeepsTheOtherApp(t *testing.T) {
	d := startDemo(t)
	c := newClient(t)
	c.login(d.a, "ada@example.com")
	c.login(d.b, "")

	p := c.do(http.MethodPost, d.a+logoutPath, url.Values{})
	if p.state() != "logged-out" || c.cookie(d.a, "app_a_session") != "" {
		t.Fatalf("App A after Log out: state %q", p.state())
	}
	if p := c.get(d.b + "/"); p.state() != "logged-in" {
		t.Errorf("App B after App A's local logout: state %q, want still logged in", p.state())
	}
	// Logging in again is autologin: the CentralAuth session still stands.
	if p := c.login(d.a, ""); p.state() != "logged-in" || len(slices.Collect(d.ca.Sessions())) != 1 {
		t.Errorf("App A's second login: state %q, %d sessions; want autologin", p.state(), len(slices.Collect(d.ca.Sessions())))
	}
}

func TestReplayedCookieAfterLogout(t *testing.T) {
	d := startDemo(t)
	c := newClient(t)
	c.login(d.a, "ada@example.com")
	stolen := c.cookie(d.a, "app_a_session")
	c.do(http.MethodPost, d.a+logoutPath, url.Values{})

	req, _ := http.NewRequest(http.MethodGet, d.a+"/", nil)
	req.AddCookie(&http.Cookie{Name: "app_a_session", Value: stolen})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if p := (page{body: string(b)}); p.state() != "logged-out" {
		t.Errorf("a copy of the cookie taken before logout still logs in: state %q", p.state())
	}
}

func TestCentralAuthDown(t *testing.T) {
	// Every page load asks, so the next one finds CentralAuth down.
	d := startDemo(t, func(c *appConfig) { c.CheckInterval = 0 })
	c := newClient(t)
	c.login(d.a, "ada@example.com")
	d.ca.Close()

	p := c.get(d.a + "/")
	if p.state() != "logged-in" || !strings.Contains(p.body, `id="warning"`) {
		t.Errorf("with CentralAuth down: state %q, want the local session with a warning", p.state())
	}
	if c.cookie(d.a, "app_a_session") == "" {
		t.Error("an outage of CentralAuth logged the user out")
	}
}

func TestCallbackRefusesABadState(t *testing.T) {
	d := startDemo(t)
	tests := []struct {
		name   string
		cookie string // the state cookie; "" for none
		query  string
	}{
		{"no state cookie", "", "code=x&state=abc"},
		{"state differs", "abc", "code=x&state=abd"},
		{"no state in the query", "abc", "code=x"},
		{"no code", "abc", "state=abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(d.ca.Calls())
			req, _ := http.NewRequest(http.MethodGet, d.a+callbackPath+"?"+tt.query, nil)
			if tt.cookie != "" {
				req.AddCookie(&http.Cookie{Name: "app_a_session_state", Value: tt.cookie})
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", resp.StatusCode)
			}
			for _, sc := range resp.Header.Values("Set-Cookie") {
				if strings.HasPrefix(sc, "app_a_session=") {
					t.Errorf("a refused login set the session cookie: %s", sc)
				}
			}
			if calls := d.ca.Calls()[before:]; len(calls) != 0 {
				t.Errorf("a refused login called CentralAuth: %+v", calls)
			}
		})
	}
}

func TestPagesAllowNoScript(t *testing.T) {
	d := startDemo(t)
	c := newClient(t)
	for _, u := range []string{d.a + "/", d.b + "/", d.a + callbackPath} {
		p := c.get(u)
		csp := p.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy = %q", u, csp)
		}
		if p.header.Get("Cache-Control") != "no-store" || p.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: Cache-Control %q, X-Frame-Options %q", u, p.header.Get("Cache-Control"), p.header.Get("X-Frame-Options"))
		}
		if reScript.MatchString(p.body) {
			t.Errorf("%s has a script or an event handler", u)
		}
	}
}

func TestMountStyles(t *testing.T) {
	d := startDemo(t)
	for _, base := range []string{d.a, d.b} {
		for _, path := range []string{logoutPath, everywherePath} {
			resp, err := http.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "<h1>Log out?</h1>") {
				t.Errorf("GET %s%s = %d, want the confirmation page", base, path, resp.StatusCode)
			}
		}
		resp, err := http.Get(base + "/nowhere")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s/nowhere = %d, want 404 from the router", base, resp.StatusCode)
		}
	}
}

func TestTokenPrefix(t *testing.T) {
	tests := []struct{ token, want string }{
		{"", "…"},
		{"short", "…"},
		{"0123456789abcdef", "…"},
		{"0123456789abcdefg", "01234567…"},
		{"eyJhbGciOiJBMjU2S1ciLCJlbmMiOiJBMjU2R0NNIn0.x.y.z.w", "eyJhbGci…"},
	}
	for _, tt := range tests {
		if got := tokenPrefix(tt.token); got != tt.want {
			t.Errorf("tokenPrefix(%q) = %q, want %q", tt.token, got, tt.want)
		}
	}
}
