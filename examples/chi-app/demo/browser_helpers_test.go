package demo

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"

	"github.com/centralauth-go/logout/internal/testenv"
)

// browserTimeout bounds one browser test, Chromium's start included;
// clickTimeout one click and the page load it causes; stepTimeout a look at
// a page that has loaded. A broken flow then fails at the step that broke,
// with the page it was on, rather than at the end of the test's time.
const (
	browserTimeout = 60 * time.Second
	clickTimeout   = 15 * time.Second
	stepTimeout    = 5 * time.Second
)

// newBrowser starts a headless Chromium for one test (see testenv.Browser),
// bounded by browserTimeout.
func newBrowser(t *testing.T, flags map[string]any) context.Context {
	t.Helper()
	return testenv.Browser(t, browserTimeout, flags)
}

// do runs browser steps, failing the test with what was being done.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v (at %s)", what, err, currentURL(ctx))
	}
}

// open loads url in the tab.
func open(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	do(t, ctx, "open "+url, chromedp.Navigate(url))
}

// click clicks the element that the CSS selector finds, and returns once
// the page it leads to (after any redirects) has loaded.
func click(t *testing.T, ctx context.Context, sel string) *network.Response {
	t.Helper()
	cctx, cancel := context.WithTimeout(ctx, clickTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(cctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("click %s: %v (at %s)", sel, err, currentURL(ctx))
	}
	return resp
}

// waitState checks that the app page in the tab says "logged-in" or
// "logged-out". The pages are rendered on the server and every open and
// click waits for the load, so there is nothing to wait for but the look.
func waitState(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	got, err := chromedp.Run(sctx, chromedp.AttributeValue(chromedp.CSS("#status"), "data-state"))
	if err != nil {
		t.Fatalf("want an app page that says %s: no status on the page at %s (%v)", want, currentURL(ctx), err)
	}
	if got.Value != want {
		t.Fatalf("the page at %s says %q (%s), want %s", currentURL(ctx), got.Value, text(t, ctx, "#status"), want)
	}
}

// stateOf is what the app page in the tab says: "logged-in", "logged-out",
// or "" when the page has no status.
func stateOf(t *testing.T, ctx context.Context) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	got, err := chromedp.Run(sctx, chromedp.AttributeValue(chromedp.CSS("#status"), "data-state"))
	if err != nil {
		return ""
	}
	return got.Value
}

// pageText is the text of the page's body.
func pageText(t *testing.T, ctx context.Context) string {
	t.Helper()
	return text(t, ctx, "body")
}

// text returns the text of the element that the CSS selector finds.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v (at %s)", sel, err, currentURL(ctx))
	}
	return s
}

// currentURL is the tab's URL, from its history (no script needed).
func currentURL(ctx context.Context) string {
	h, err := chromedp.Run(ctx, chromedp.NavigationEntries())
	if err != nil || int(h.CurrentIndex) >= len(h.Entries) || h.CurrentIndex < 0 {
		return "(unknown URL)"
	}
	return h.Entries[h.CurrentIndex].URL
}

// cookie returns the browser's cookie of that name, read from its cookie
// jar through the DevTools protocol, or nil if the jar has none.
func cookie(t *testing.T, ctx context.Context, name string) *network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		t.Fatalf("reading the cookie jar: %v", err)
	}
	var found *network.Cookie
	for _, c := range res.Cookies {
		if c.Name == name {
			if found != nil {
				t.Fatalf("the jar holds two %s cookies: %s and %s", name, describe(found), describe(c))
			}
			found = c
		}
	}
	return found
}

// cookiesNamed returns the jar's cookies whose name starts with prefix.
func cookiesNamed(t *testing.T, ctx context.Context, prefix string) []*network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		t.Fatalf("reading the cookie jar: %v", err)
	}
	var found []*network.Cookie
	for _, c := range res.Cookies {
		if strings.HasPrefix(c.Name, prefix) {
			found = append(found, c)
		}
	}
	return found
}

// describe shows a cookie's attributes, not its value: the value is the
// encrypted session, tokens inside, and has no place in a test log.
func describe(c *network.Cookie) string {
	if c == nil {
		return "no cookie"
	}
	return fmt.Sprintf("%s (Domain=%s Path=%s HttpOnly=%v Secure=%v SameSite=%s Session=%v Expires=%.0f)",
		c.Name, c.Domain, c.Path, c.HTTPOnly, c.Secure, c.SameSite, c.Session, c.Expires)
}

// demoLogin clicks "Log in (demo)" on the app page that the tab shows. If
// CentralAuth asks (no session yet), it signs in as the name prefilled in
// the form; with autologin it does not ask. It returns once the app shows
// the login, and fails if CentralAuth asked when it should not have, or
// the other way round.
func demoLogin(t *testing.T, ctx context.Context, appURL string, wantForm bool) {
	t.Helper()
	click(t, ctx, "#login")
	if u := currentURL(ctx); strings.Contains(u, "/login?") {
		if !wantForm {
			t.Fatalf("CentralAuth asked to sign in again (at %s); want autologin", u)
		}
		click(t, ctx, "#sign-in")
	} else if wantForm {
		t.Fatalf("CentralAuth did not ask to sign in (at %s); want its form", u)
	}
	waitState(t, ctx, "logged-in")
	if u := currentURL(ctx); u != appURL+"/" {
		t.Fatalf("after login the tab is at %s, want %s/", u, appURL)
	}
}
