package demo

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/redistest"
	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/redisstore"
)

// TestRedisURLKeepsLogoutsInRedis runs the example with REDIS_URL against a
// real redis-server: a logout's revocation lands in Redis, and the cookie
// from before the logout stops loading.
func TestRedisURLKeepsLogoutsInRedis(t *testing.T) {
	srv := redistest.Start(t)
	rn, err := Start(env(map[string]string{envAddr: "127.0.0.1:0", envAddrB: "127.0.0.1:0", envRedisURL: srv.URL()}),
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // shut down at once
		_ = rn.Wait(ctx)
	})

	c := newClient(t)
	if p := c.login(rn.URLA, "redis"); p.state() != "logged-in" {
		t.Fatalf("after the demo login the page says %q", p.state())
	}
	old := c.cookie(rn.URLA, "app_a_session")
	c.do(http.MethodPost, rn.URLA+logoutPath, nil)

	keys := srv.Client(t).Keys(t.Context(), "centralauth-example:app_a_session:revoked:*").Val()
	if len(keys) != 1 {
		t.Fatalf("revocations in Redis: %v, want one", keys)
	}
	thief := newClient(t)
	u, _ := url.Parse(rn.URLA)
	thief.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "app_a_session", Value: old}})
	if p := thief.get(rn.URLA + "/"); p.state() != "logged-out" {
		t.Fatalf("the cookie from before the logout still loads: the page says %q", p.state())
	}
}

// TestRedisURLUnreachable: a REDIS_URL that answers nothing stops the
// example with a message naming the variable and without its password.
func TestRedisURLUnreachable(t *testing.T) {
	srv := redistest.Start(t)
	redisURL := strings.Replace(srv.URL(), "redis://", "redis://:pw-secret@", 1)
	srv.Stop()
	_, err := Start(env(map[string]string{envAddr: "127.0.0.1:0", envAddrB: "127.0.0.1:0", envRedisURL: redisURL}),
		slog.New(slog.DiscardHandler))
	if err == nil || !strings.HasPrefix(err.Error(), envRedisURL+": ") || strings.Contains(err.Error(), "pw-secret") {
		t.Fatalf("Start = %v, want an error naming %s without the password", err, envRedisURL)
	}
}

// Proof 5, in Chromium: with Redis, a session that instance B1 of App B
// found ended at CentralAuth is refused by instance B2 without B2 asking
// CentralAuth: B1 revoked it in the shared list.
func TestBrowserEndedSessionRefusedByEveryInstance(t *testing.T) {
	srv := redistest.Start(t)
	cfg, err := parseConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	ca := centralauthtest.Start(t, cfg.ClientID, cfg.ClientSecret)
	logs := &testutil.Buffer{}
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(t.Output(), logs), nil))
	revocations, err := redisstore.NewRevocations(srv.Client(t), "centralauth-example:app_b_session:")
	if err != nil {
		t.Fatal(err)
	}
	lnA, ln1, ln2 := listen(t), listen(t), listen(t)
	urlA, url1, url2 := "http://"+lnA.Addr().String(), "http://"+ln1.Addr().String(), "http://"+ln2.Addr().String()
	apps, err := exampleApps(cfg, ca.URL(), ca, urlA, url1, logger)
	if err != nil {
		t.Fatal(err)
	}
	b := apps[1]
	b.Revocations, b.CheckInterval = revocations, 0 // every page load asks, unless the list already says
	for _, inst := range []struct {
		ln  net.Listener
		url string
	}{{ln1, url1}, {ln2, url2}} {
		b.PublicURL = inst.url
		h, err := newApp(b)
		if err != nil {
			t.Fatal(err)
		}
		serve(t, h, inst.ln)
	}

	tab := newBrowser(t, nil)
	open(t, tab, url1+"/")
	demoLogin(t, tab, url1, true)
	stolen := cookie(t, tab, "app_b_session")
	sessions := slices.Collect(ca.Sessions())
	if stolen == nil || len(sessions) != 1 {
		t.Fatalf("after login: cookie %v, %d CentralAuth sessions", stolen, len(sessions))
	}
	// "Log out everywhere" in another app.
	ca.EndSession(sessions[0].AccessToken)

	open(t, tab, url1+"/")
	waitState(t, tab, "logged-out")
	if c := cookie(t, tab, "app_b_session"); c != nil {
		t.Fatalf("B1 kept the cookie: %s", describe(c))
	}
	asked := userInfoCalls(ca)

	// The same cookie, replayed to B2 (cookies ignore ports: both
	// instances are 127.0.0.1).
	if _, err := chromedp.Call(tab, network.SetCookie, network.SetCookieParams{
		Name: stolen.Name, Value: stolen.Value, Domain: stolen.Domain, Path: stolen.Path,
	}); err != nil {
		t.Fatalf("putting the old cookie back: %v", err)
	}
	open(t, tab, url2+"/")
	waitState(t, tab, "logged-out")
	if got := text(t, tab, "#notice"); !strings.Contains(got, "session ended") {
		t.Errorf("B2 says %q, want it to say the session ended", got)
	}
	if n := userInfoCalls(ca); n != asked {
		t.Fatalf("B2 asked CentralAuth (%d userinfo calls, %d before): it should have found the revocation in Redis", n, asked)
	}
}

func userInfoCalls(ca *centralauthtest.Server) int {
	n := 0
	for _, c := range ca.Calls() {
		if c.Path == "/api/v1/userinfo" {
			n++
		}
	}
	return n
}
