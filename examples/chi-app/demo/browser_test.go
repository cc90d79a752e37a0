package demo

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/testutil"
)

// The browser tests drive Debian's Chromium, headless, through the
// example's real pages. Each test has its own browser and profile, and the
// example runs in the test process on ports the test picked. Together they
// prove the six claims of the example: see each test's comment.

// Proof 1: after "Log in (demo)" the browser holds the session cookie
// with HttpOnly, SameSite=Lax and the configured Path; after "Log out" its
// cookie jar really has no such cookie any more, and the page says so.
func TestBrowserLoginThenLogout(t *testing.T) {
	d := startDemo(t)
	tab := newBrowser(t, nil)

	open(t, tab, d.a+"/")
	waitState(t, tab, "logged-out")
	if c := cookie(t, tab, "app_a_session"); c != nil {
		t.Fatalf("a fresh browser already holds %s", describe(c))
	}
	demoLogin(t, tab, d.a, true)
	if got := text(t, tab, "#token-prefix"); !strings.HasSuffix(got, "…") || len(got) > 12 {
		t.Errorf("the page shows the token as %q, want a short prefix", got)
	}

	c := cookie(t, tab, "app_a_session")
	if c == nil {
		t.Fatal("after login the cookie jar has no app_a_session")
	}
	if !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax || c.Path != cookiePath || c.Domain != "127.0.0.1" {
		t.Errorf("cookie = %s; want HttpOnly, SameSite=Lax, Path=%s, host-only on 127.0.0.1", describe(c), cookiePath)
	}
	if c.Session || time.Unix(int64(c.Expires), 0).Before(time.Now()) {
		t.Errorf("cookie expires %v (session cookie: %v); want a Max-Age in the future", c.Expires, c.Session)
	}

	click(t, tab, "#logout")
	waitState(t, tab, "logged-out")
	if got := text(t, tab, "#status"); !strings.Contains(got, "logged out") {
		t.Errorf("the page says %q, want \"logged out\"", got)
	}
	if u := currentURL(tab); u != d.a+"/" {
		t.Errorf("after logout the tab is at %s, want %s/", u, d.a)
	}
	if c := cookie(t, tab, "app_a_session"); c != nil {
		t.Errorf("after logout the cookie jar still holds %s", describe(c))
	}
}

// Proof 2, also the login package's: a login on App A, autologin on App B
// (both through package login), then "Log out everywhere" on App A logs
// the user out of App B on B's first page load after the check interval,
// through the embedded CentralAuth's session: B's session check asks
// userinfo, hears that the session ended, and drops its cookie. This is the
// fallback, as with a client secret that cannot decrypt tokens: the apps
// share no list of ended sessions (TestBrowserLogoutEverywhereIsInstant
// proves the list).
func TestBrowserLogoutEverywhere(t *testing.T) {
	const interval = time.Second
	d := startDemo(t, func(c *appConfig) { c.CheckInterval, c.Tokens, c.Ended = interval, nil, nil })
	tab := newBrowser(t, nil)

	open(t, tab, d.a+"/")
	demoLogin(t, tab, d.a, true)
	sessionA := text(t, tab, "#centralauth-session")

	open(t, tab, d.b+"/")
	waitState(t, tab, "logged-out")
	beforeCheckB := time.Now()    // B's session check vouches for the session after this
	demoLogin(t, tab, d.b, false) // autologin: CentralAuth does not ask again
	if sessionB := text(t, tab, "#centralauth-session"); sessionB != sessionA {
		t.Fatalf("App B is on CentralAuth session %q, App A on %q; want one session", sessionB, sessionA)
	}
	if cookie(t, tab, "app_a_session") == nil || cookie(t, tab, "app_b_session") == nil {
		t.Fatal("want both apps' cookies in the jar")
	}
	// Both logins went through package login, whose state cookie works
	// once: the callbacks used them up.
	if left := cookiesNamed(t, tab, "centralauth-login-"); len(left) != 0 {
		t.Errorf("login state cookies left after both logins: %s", describe(left[0]))
	}
	if got := text(t, tab, "#check-interval"); !strings.Contains(got, interval.String()) {
		t.Errorf("App B says %q, want it to state its check interval", got)
	}

	open(t, tab, d.a+"/")
	waitState(t, tab, "logged-in")
	click(t, tab, "#logout-everywhere")
	waitState(t, tab, "logged-out")
	if s := slices.Collect(d.ca.Sessions()); len(s) != 1 || s[0].Active {
		t.Fatalf("CentralAuth sessions: %s; want the one session ended", d.sessionStates())
	}

	// Within the interval B's answer stands; after it, the first page load
	// asks again and logs out.
	var sawLoggedOut time.Time
	testutil.WaitFor(t, interval+10*time.Second, "App B to notice the logout", func() bool {
		open(t, tab, d.b+"/")
		if stateOf(t, tab) != "logged-out" {
			return false
		}
		sawLoggedOut = time.Now()
		return true
	})
	if waited := sawLoggedOut.Sub(beforeCheckB); waited < interval {
		t.Errorf("App B logged out %v after its last check, within the %v interval: it did not use its cached answer", waited, interval)
	}
	if got := text(t, tab, "#notice"); !strings.Contains(got, "session ended") {
		t.Errorf("App B says %q, want it to explain that the CentralAuth session ended", got)
	}
	if c := cookie(t, tab, "app_b_session"); c != nil {
		t.Errorf("App B's cookie is still in the jar: %s", describe(c))
	}
}

// Proof 4: while CentralAuth fails (5xx, then dropped connections), App B
// stays logged in and says its answer is stale, never clearing its cookie;
// past the maximum staleness it shows logged out, cookie kept; once
// CentralAuth answers again, B is logged in again with the same cookie.
func TestBrowserCentralAuthOutage(t *testing.T) {
	const interval, maxStale = 300 * time.Millisecond, 2 * time.Second
	d := startDemo(t, func(c *appConfig) { c.CheckInterval, c.MaxStale = interval, maxStale })
	tab := newBrowser(t, nil)
	open(t, tab, d.b+"/")
	demoLogin(t, tab, d.b, true)
	before := cookie(t, tab, "app_b_session")
	if before == nil {
		t.Fatal("no cookie after login")
	}

	d.ca.InjectFault(centralauthtest.Fault{Status: http.StatusServiceUnavailable, Times: 6})
	d.ca.InjectFault(centralauthtest.Fault{DropConnection: true, Times: 1 << 20})
	testutil.WaitFor(t, 10*time.Second, "App B to say its answer is stale", func() bool {
		open(t, tab, d.b+"/")
		return stateOf(t, tab) == "logged-in" && strings.Contains(pageText(t, tab), "stale")
	})
	testutil.WaitFor(t, maxStale+10*time.Second, "App B to stop trusting its stale answer", func() bool {
		open(t, tab, d.b+"/")
		if c := cookie(t, tab, "app_b_session"); c == nil || c.Value != before.Value {
			t.Fatalf("App B changed or cleared its cookie during the outage: %v", c)
		}
		return stateOf(t, tab) == "logged-out"
	})
	if got := text(t, tab, "#warning"); !strings.Contains(got, "could not be asked") {
		t.Errorf("App B says %q, want it to say CentralAuth could not be asked", got)
	}

	d.ca.ClearFaults()
	testutil.WaitFor(t, 10*time.Second, "App B to log back in once CentralAuth answers", func() bool {
		open(t, tab, d.b+"/")
		return stateOf(t, tab) == "logged-in" && !strings.Contains(pageText(t, tab), "stale")
	})
	if c := cookie(t, tab, "app_b_session"); c == nil || c.Value != before.Value {
		t.Fatalf("App B is back with another cookie: %v", c)
	}
	for _, call := range d.ca.Calls() {
		if call.Path == "/api/v1/logout" {
			t.Fatalf("the outage led to a logout call: %+v", call)
		}
	}
}

// Proof 3: /logout?return_to=https://evil.example/ ends on the app's own
// default page. evil.example resolves to a recording HTTPS server inside
// the browser, so a wrong redirect would really load there; the server must
// see no connection at all.
func TestBrowserOpenRedirectStaysHome(t *testing.T) {
	d := startDemo(t)
	evil := newRecorder(t)
	tab := newBrowser(t, map[string]any{
		"host-resolver-rules":       "MAP evil.example " + evil.addr,
		"ignore-certificate-errors": true, // the recorder's certificate is self-signed
	})

	// Arm the trap: prove that the browser really reaches the recorder.
	open(t, tab, "https://evil.example/trap-check")
	if got := text(t, tab, "#evil"); got != "evil.example" || !slices.Equal(evil.paths(), []string{"/trap-check"}) {
		t.Fatalf("the recorder is not reachable as evil.example (page %q, requests %q)", got, evil.paths())
	}
	evil.reset()

	open(t, tab, d.a+"/")
	demoLogin(t, tab, d.a, true)
	click(t, tab, "#evil") // GET /logout?return_to=…: the confirmation page
	if u := currentURL(tab); u != d.a+"/logout?return_to=https://evil.example/" {
		t.Fatalf("the link led to %s", u)
	}
	click(t, tab, confirmButton) // its button POSTs, return_to included
	if u := currentURL(tab); u != d.a+"/" {
		t.Errorf("the logout ended at %s, want %s/", u, d.a)
	}
	if p, c := evil.paths(), evil.conns.Load(); len(p) != 0 || c != 0 {
		t.Fatalf("evil.example got requests %q on %d connections, want none", p, c)
	}
	waitState(t, tab, "logged-out")
}

// Proof 4: a form on another origin (another loopback port) that
// auto-submits a POST to /logout does not log the user out: the answer is
// 403, and the cookie stays.
func TestBrowserCrossOriginLogoutRefused(t *testing.T) {
	d := startDemo(t)
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Win a prize</title>
<body onload="document.forms[0].submit()">
<form method="post" action="%s/logout"><input type="hidden" name="return_to" value="/"></form>
</body>`, d.a)
	}))
	t.Cleanup(attacker.Close)
	tab := newBrowser(t, nil)

	open(t, tab, d.a+"/")
	demoLogin(t, tab, d.a, true)
	before := cookie(t, tab, "app_a_session")

	status := answerTo(t, tab, d.a+logoutPath, func() { open(t, tab, attacker.URL) })
	if status != http.StatusForbidden {
		t.Errorf("the cross-origin POST got %d, want 403", status)
	}
	after := cookie(t, tab, "app_a_session")
	if after == nil || after.Value != before.Value {
		t.Fatalf("the cross-origin POST changed the cookie: before %s, after %s", describe(before), describe(after))
	}
	open(t, tab, d.a+"/")
	waitState(t, tab, "logged-in")
}

// Proof 5: GET /logout shows the confirmation page without logging out,
// and its button logs out.
func TestBrowserConfirmationPage(t *testing.T) {
	d := startDemo(t)
	tab := newBrowser(t, nil)

	open(t, tab, d.a+"/")
	demoLogin(t, tab, d.a, true)
	click(t, tab, "#confirm-link")
	if got := text(t, tab, "h1"); got != "Log out?" {
		t.Fatalf("GET /logout shows %q, want the confirmation page", got)
	}
	if cookie(t, tab, "app_a_session") == nil {
		t.Fatal("GET /logout logged out before the button was pressed")
	}
	click(t, tab, confirmButton)
	waitState(t, tab, "logged-out")
	if c := cookie(t, tab, "app_a_session"); c != nil {
		t.Errorf("after the confirmation page's button the jar still holds %s", describe(c))
	}
}

// Proof 6: the whole flow works with JavaScript off: logins, autologin,
// both logout buttons, the confirmation page and log out everywhere are
// plain HTML forms and links.
func TestBrowserWithoutJavaScript(t *testing.T) {
	d := startDemo(t)
	canary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><p id="canary">script off</p>
<script>document.getElementById("canary").textContent = "script on"</script>`)
	}))
	t.Cleanup(canary.Close)
	tab := newBrowser(t, nil)
	if _, err := chromedp.Call(tab, emulation.SetScriptExecutionDisabled,
		emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	checkScriptOff := func() {
		t.Helper()
		open(t, tab, canary.URL)
		if got := text(t, tab, "#canary"); got != "script off" {
			t.Fatalf("JavaScript is not off: the canary says %q", got)
		}
	}
	checkScriptOff()

	open(t, tab, d.a+"/")
	demoLogin(t, tab, d.a, true)
	open(t, tab, d.b+"/")
	demoLogin(t, tab, d.b, false)
	click(t, tab, "#logout") // App B, mounted with h.Middleware
	waitState(t, tab, "logged-out")
	if cookie(t, tab, "app_b_session") != nil {
		t.Error("App B's Log out left its cookie")
	}

	open(t, tab, d.a+"/")
	waitState(t, tab, "logged-in")
	click(t, tab, "#evil") // the confirmation page, return_to and all
	click(t, tab, confirmButton)
	waitState(t, tab, "logged-out")
	if u := currentURL(tab); u != d.a+"/" || cookie(t, tab, "app_a_session") != nil {
		t.Errorf("App A's confirmed logout ended at %s with cookie %v", u, cookie(t, tab, "app_a_session") != nil)
	}

	demoLogin(t, tab, d.a, false) // the CentralAuth session still stands
	click(t, tab, "#logout-everywhere")
	waitState(t, tab, "logged-out")
	open(t, tab, d.b+"/")
	waitState(t, tab, "logged-out")
	if s := slices.Collect(d.ca.Sessions()); len(s) != 1 || s[0].Active {
		t.Errorf("CentralAuth sessions: %s; want the one session ended", d.sessionStates())
	}
	checkScriptOff() // still off at the end
}

// answerTo runs action and returns the status of the browser's answer to
// the first document request for url that it causes, redirects included
// (Chrome reports a redirect on the request that follows it).
func answerTo(t *testing.T, tab context.Context, url string, action func()) int64 {
	t.Helper()
	statuses := make(chan int64, 1)
	report := func(status int64) {
		select {
		case statuses <- status:
		default: // only the first counts
		}
	}
	err := chromedp.Listen(tab, func(ev any) {
		// This runs in the tab's event loop: record, and return.
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if r := ev.RedirectResponse; r != nil && r.URL == url {
				report(r.Status)
			}
		case *network.EventResponseReceived:
			if ev.Type == network.ResourceTypeDocument && ev.Response.URL == url {
				report(ev.Response.Status)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	action()
	select {
	case status := <-statuses:
		return status
	case <-time.After(clickTimeout):
		t.Fatalf("no answer to %s within %v (at %s)", url, clickTimeout, currentURL(tab))
		return 0
	}
}

// confirmButton is the button of the library's confirmation page
// (GET /logout), which POSTs back to the same URL.
const confirmButton = `form[method="post"] button[type="submit"]`

// recorder is a stand-in for evil.example: an HTTPS server that counts
// connections and requests.
type recorder struct {
	srv   *httptest.Server
	addr  string
	conns atomic.Int64

	mu   sync.Mutex
	hits []string // the paths requested
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.hits = append(rec.hits, r.URL.Path)
		rec.mu.Unlock()
		// The empty icon keeps the browser from asking for /favicon.ico
		// later, when the test counts again.
		fmt.Fprint(w, `<!doctype html><link rel="icon" href="data:,"><p id="evil">evil.example</p>`)
	}))
	rec.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			rec.conns.Add(1)
		}
	}
	rec.srv.StartTLS()
	t.Cleanup(rec.srv.Close)
	rec.addr = rec.srv.Listener.Addr().String()
	return rec
}

// reset closes the browser's connections and forgets what was recorded,
// so that any later visit shows as a new connection and a new request.
func (r *recorder) reset() {
	r.srv.CloseClientConnections()
	r.mu.Lock()
	r.hits = nil
	r.mu.Unlock()
	r.conns.Store(0)
}

// paths returns the paths requested since the start or the last reset.
func (r *recorder) paths() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.hits)
}
