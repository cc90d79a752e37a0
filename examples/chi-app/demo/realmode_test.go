package demo

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/centralauth-go/logout/centralauthtest"
)

// startReal runs the example as a user with their own organization would:
// CENTRALAUTH_BASE_URL and the credentials set, so no embedded CentralAuth
// and no demo code path. The organization is a fake of its own, on its
// own port.
func startReal(t *testing.T) (*Running, *centralauthtest.Server) {
	t.Helper()
	org := centralauthtest.Start(t, "acme-app", "acme-s3cret")
	rn, err := Start(env(map[string]string{
		envBaseURL: org.URL(), envClientID: "acme-app", envClientSecret: "acme-s3cret",
		envHashKey: hex.EncodeToString(randomBytes(32)), envEncryptionKey: hex.EncodeToString(randomBytes(32)),
		envAddr: "127.0.0.1:0", envAddrB: "127.0.0.1:0",
	}), slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = rn.Wait(ctx)
	})
	if rn.CentralAuth != nil {
		t.Fatal("an embedded CentralAuth runs although CENTRALAUTH_BASE_URL is set")
	}
	return rn, org
}

// The proof against a real organization, in Chromium: the full login flow
// (PKCE, state, the organization's sign-in page), the user's email from
// userinfo, and "Log out everywhere", which ends the session there.
func TestBrowserAgainstARealOrganization(t *testing.T) {
	rn, org := startReal(t)
	tab := newBrowser(t, nil)
	open(t, tab, rn.URLA+"/")
	waitState(t, tab, "logged-out")
	if got := text(t, tab, "#centralauth-at"); !strings.Contains(got, org.URL()) || strings.Contains(got, "demo") {
		t.Errorf("the page says %q, want the organization's CentralAuth", got)
	}
	demoLogin(t, tab, rn.URLA, true) // the organization's sign-in page, then back
	if got := text(t, tab, "#status"); !strings.Contains(got, "demo@example.test") {
		t.Errorf("the page says %q, want the user's email from userinfo", got)
	}
	sessions := slices.Collect(org.Sessions())
	if len(sessions) != 1 || !sessions[0].Active {
		t.Fatalf("the organization has %d sessions", len(sessions))
	}
	click(t, tab, "#logout-everywhere")
	waitState(t, tab, "logged-out")
	if org.Active(sessions[0].AccessToken) {
		t.Fatal("log out everywhere did not end the session at the organization")
	}
}

// TestCallback is the login's callback, case by case, against the
// embedded CentralAuth.
func TestCallback(t *testing.T) {
	d := newDemo(t, false) // some cases replay a code, or send another verifier

	// begin starts a login and returns the client, the login page's URL
	// at CentralAuth, and the callback URL that signing in leads to.
	begin := func(t *testing.T, query string) (*client, string) {
		c := newClient(t)
		c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp := c.raw(http.MethodGet, d.a+loginPath+query, nil)
		return c, resp.Header.Get("Location")
	}
	// signIn posts the fake's form for the login at loginURL and returns
	// the callback URL with the code.
	signIn := func(t *testing.T, c *client, loginURL string) string {
		u, _ := url.Parse(loginURL)
		form := u.Query()
		form.Set("email", "ada@example.com")
		req, _ := http.NewRequest(http.MethodPost, d.ca.URL()+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Location")
	}
	tests := []struct {
		name       string
		run        func(t *testing.T) *http.Response
		wantStatus int
		wantText   string // in the page, or the Location for a redirect
	}{
		{"a good login", func(t *testing.T) *http.Response {
			c, login := begin(t, "")
			return c.raw(http.MethodGet, signIn(t, c, login), nil)
		}, http.StatusSeeOther, "/"},
		{"return_to is kept", func(t *testing.T) *http.Response {
			c, login := begin(t, "?return_to=/account?tab=1")
			return c.raw(http.MethodGet, signIn(t, c, login), nil)
		}, http.StatusSeeOther, "/account?tab=1"},
		{"a hostile return_to ends home", func(t *testing.T) *http.Response {
			c, login := begin(t, "?return_to=https://evil.example/")
			return c.raw(http.MethodGet, signIn(t, c, login), nil)
		}, http.StatusSeeOther, "/"},
		{"no state cookie", func(t *testing.T) *http.Response {
			c, login := begin(t, "")
			cb := signIn(t, c, login)
			return newClient(t).raw(http.MethodGet, cb, nil)
		}, http.StatusBadRequest, "state"},
		{"a wrong state", func(t *testing.T) *http.Response {
			c, login := begin(t, "")
			cb := strings.Replace(signIn(t, c, login), "state=", "state=x", 1)
			return c.raw(http.MethodGet, cb, nil)
		}, http.StatusBadRequest, "state"},
		{"a reused state", func(t *testing.T) *http.Response {
			c, login := begin(t, "")
			cb := signIn(t, c, login)
			c.raw(http.MethodGet, cb, nil)
			return c.raw(http.MethodGet, cb, nil)
		}, http.StatusBadRequest, "state"},
		{"an error from CentralAuth", func(t *testing.T) *http.Response {
			c, login := begin(t, "")
			d.ca.FailNextLogin("access_denied", "the user said no")
			resp := c.raw(http.MethodGet, login, nil)
			return c.raw(http.MethodGet, resp.Header.Get("Location"), nil)
		}, http.StatusBadRequest, "the user said no"},
		{"a verifier CentralAuth refuses", func(t *testing.T) *http.Response {
			c, login := begin(t, "")
			cb := signIn(t, c, login)
			u, _ := url.Parse(cb)
			tampered := 0
			for _, ck := range c.hc.Jar.Cookies(u) {
				if strings.HasPrefix(ck.Name, "centralauth-login-") {
					// "1.<started>.<state>.<verifier>.<return_to>"
					parts := strings.Split(ck.Value, ".")
					parts[3] = strings.Repeat("A", 43) // well-formed, but not the login's
					c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: strings.Join(parts, "."), Path: callbackPath}})
					tampered++
				}
			}
			if tampered != 1 {
				t.Fatalf("found %d state cookies for %s", tampered, u)
			}
			return c.raw(http.MethodGet, cb, nil)
		}, http.StatusBadGateway, "did not accept"},
		{"a code used twice", func(t *testing.T) *http.Response {
			c, login := begin(t, "")
			cb := signIn(t, c, login)
			c.raw(http.MethodGet, cb, nil)
			// The state is spent too; put it back to reach the exchange.
			c2, login2 := begin(t, "")
			cb2 := signIn(t, c2, login2)
			u, _ := url.Parse(cb)
			u2, _ := url.Parse(cb2)
			q := u2.Query()
			q.Set("code", u.Query().Get("code"))
			u2.RawQuery = q.Encode()
			return c2.raw(http.MethodGet, u2.String(), nil)
		}, http.StatusBadGateway, "did not accept"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := tt.run(t)
			defer resp.Body.Close()
			var body strings.Builder
			_, _ = io.Copy(&body, resp.Body)
			got := body.String()
			if resp.StatusCode == http.StatusSeeOther {
				got = resp.Header.Get("Location")
			}
			if resp.StatusCode != tt.wantStatus || !strings.Contains(got, tt.wantText) {
				t.Fatalf("callback: %d %q, want %d with %q", resp.StatusCode, got, tt.wantStatus, tt.wantText)
			}
		})
	}
}

// raw does one request and returns the answer unread; the client follows
// redirects or not, as its CheckRedirect says.
func (c *client) raw(method, target string, body io.Reader) *http.Response {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, target, body)
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, target, err)
	}
	return resp
}
