package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/redistest"
	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/redisstore"
)

// The apps share a list of ended CentralAuth sessions: a "Log out
// everywhere" in one reaches the other on its next request, without a
// userinfo call. These tests give both apps a check interval of 10 minutes,
// so that a refusal with no userinfo call from B can only be the list's.

// longInterval is the apps' check interval here: far longer than any test.
const longInterval = 10 * time.Minute

// TestExampleAppsShareEndedSessions: with the embedded CentralAuth's
// generated secret, both apps read its tokens and share one list; with an
// organization's secret that cannot decrypt tokens, neither has a list,
// and one Warn line says that logouts elsewhere wait for the interval.
func TestExampleAppsShareEndedSessions(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		wantList bool
	}{
		{"embedded CentralAuth, generated secret", nil, true},
		{"embedded CentralAuth, a 32-byte secret", map[string]string{envClientSecret: strings.Repeat("s", 32)}, true},
		{"an organization's secret that cannot decrypt", map[string]string{
			envBaseURL: "https://centralauth.example", envClientID: "acme-app", envClientSecret: "acme-s3cret",
			envHashKey: strings.Repeat("ab", 32), envEncryptionKey: strings.Repeat("cd", 32),
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig(env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			logs := &testutil.Buffer{}
			apps, err := exampleApps(cfg, "http://127.0.0.1:1", nil, "http://127.0.0.1:2", "http://127.0.0.1:3",
				slog.New(slog.NewTextHandler(logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			a, b := apps[0], apps[1]
			warnings := strings.Count(logs.String(), "level=WARN")
			if !tt.wantList {
				if a.Tokens != nil || a.Ended != nil || b.Tokens != nil || b.Ended != nil {
					t.Fatal("the apps have a list of ended sessions, with a secret that cannot decrypt tokens")
				}
				if warnings != 1 || !strings.Contains(logs.String(), "check interval") {
					t.Fatalf("%d warnings, want one that names the check interval:\n%s", warnings, logs)
				}
				if strings.Contains(logs.String(), cfg.ClientSecret) {
					t.Fatal("the warning holds the client secret")
				}
				return
			}
			if a.Tokens == nil || a.Ended == nil || a.Ended != b.Ended || a.Tokens != b.Tokens {
				t.Fatal("want both apps to read tokens and share one list of ended sessions")
			}
			if warnings != 0 {
				t.Fatalf("warnings with a usable secret:\n%s", logs)
			}
			// The embedded CentralAuth issues real JWEs under this secret.
			ca := centralauthtest.Start(t, cfg.ClientID, cfg.ClientSecret)
			s := ca.SignIn("ada@example.com")
			for _, tok := range []string{s.AccessToken, s.IDToken} {
				if claims, ok := a.Tokens.Decrypt(tok); !ok || claims.SessionID != s.ID {
					t.Fatalf("a token of the embedded CentralAuth reads as %q (ok %v), want session %s", claims.SessionID, ok, s.ID)
				}
			}
		})
	}
}

// TestLogoutEverywhereReachesBOverHTTP is the in-memory list, without
// REDIS_URL: the two apps of one process share it, and B refuses the
// session on its next request without asking CentralAuth.
func TestLogoutEverywhereReachesBOverHTTP(t *testing.T) {
	d := startDemo(t, func(c *appConfig) { c.CheckInterval = longInterval })
	c := newClient(t)
	c.login(d.a, "ada@example.com")
	p := c.login(d.b, "")
	if p.state() != "logged-in" {
		t.Fatalf("App B after autologin: %q", p.state())
	}
	if !strings.Contains(p.body, "shows here on the next page load") {
		t.Error("App B's page does not say that a logout everywhere shows on the next page load")
	}
	before := len(d.ca.Calls())
	if userInfoFrom(d.ca.Calls(), d.b) == 0 {
		t.Fatal("App B made no userinfo call at its login: counting its calls would prove nothing")
	}
	c.do(http.MethodPost, d.a+everywherePath, url.Values{})
	if p := c.get(d.b + "/"); p.state() != "logged-out" || !strings.Contains(p.body, `id="notice"`) {
		t.Fatalf("App B after log out everywhere on A: state %q, want logged-out with a notice", p.state())
	}
	if n := userInfoFrom(d.ca.Calls()[before:], d.b); n != 0 {
		t.Fatalf("App B made %d userinfo calls after the logout; want 0: the shared list decides", n)
	}
	if c.cookie(d.b, "app_b_session") != "" {
		t.Error("App B kept its cookie")
	}
}

// userInfoFrom counts the userinfo calls among calls that the app at
// origin made: it sends its origin as the domain.
func userInfoFrom(calls []centralauthtest.Call, origin string) int {
	n := 0
	for _, c := range calls {
		if c.Path == "/api/v1/userinfo" && c.Domain == origin {
			n++
		}
	}
	return n
}

// startOnRedis runs the embedded CentralAuth, App A and App B as Start
// does with REDIS_URL=redisURL and CENTRALAUTH_CHECK_INTERVAL=10m: the
// revocations, the outboxes and the list of ended CentralAuth sessions
// are in that Redis, and the outbox workers run. editB, if not nil,
// changes App B's configuration first. Log lines at level and above go to
// the test's output and to the demo's logs.
func startOnRedis(tb testing.TB, redisURL string, level slog.Level, editB func(*appConfig)) *demo {
	tb.Helper()
	cfg, err := parseConfig(env(map[string]string{envRedisURL: redisURL, envInterval: longInterval.String()}))
	if err != nil {
		tb.Fatal(err)
	}
	ca := centralauthtest.Start(tb, cfg.ClientID, cfg.ClientSecret)
	d := &demo{ca: ca, logs: &testutil.Buffer{}}
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(tb.Output(), d.logs), &slog.HandlerOptions{Level: level}))
	lnA, lnB := listen(tb), listen(tb)
	d.a, d.b = "http://"+lnA.Addr().String(), "http://"+lnB.Addr().String()
	apps, err := exampleApps(cfg, ca.URL(), ca, d.a, d.b, logger)
	if err != nil {
		tb.Fatal(err)
	}
	rn := &Running{cfg: cfg}
	err = rn.serverSide(cfg, apps)
	// As Wait does, once the servers (whose cleanups run first) are closed.
	tb.Cleanup(func() {
		rn.stopWork()
		rn.workers.wg.Wait()
		rn.close()
	})
	if err != nil {
		tb.Fatal(err)
	}
	if editB != nil {
		editB(&apps[1])
	}
	for i, ln := range []net.Listener{lnA, lnB} {
		h, err := newApp(apps[i])
		if err != nil {
			tb.Fatal(err)
		}
		serve(tb, h, ln)
	}
	return d
}

// The browser proof of the issue, in Chromium: two example apps on one
// Redis, both with a check interval of 10 minutes. Login on A, autologin on
// B, "Log out everywhere" on A: B shows logged out on its next loads, long
// before its interval, and without asking CentralAuth, so the shared list
// in Redis did it. The broken configurations show that the proof would
// catch a list that does not reach B.
func TestBrowserLogoutEverywhereIsInstant(t *testing.T) {
	srv := redistest.Start(t)

	t.Run("one list in Redis", func(t *testing.T) {
		d := startOnRedis(t, srv.URL(), slog.LevelInfo, nil)
		tab := newBrowser(t, nil)
		took, loads, err := proveInstantLogout(t, tab, d)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("App B refused the session %v after the click on App A, at its load number %d", took, loads)
		if got := text(t, tab, "#notice"); !strings.Contains(got, "session ended") {
			t.Errorf("App B says %q, want it to say the session ended", got)
		}
		if c := cookie(t, tab, "app_b_session"); c != nil {
			t.Errorf("App B kept its cookie: %s", describe(c))
		}
		sessions := slices.Collect(d.ca.Sessions())
		keys := srv.Client(t).Keys(t.Context(), endedPrefix+"revoked:*").Val()
		if len(sessions) != 1 || !slices.Equal(keys, []string{endedPrefix + "revoked:" + sessions[0].ID}) {
			t.Errorf("ended sessions in Redis: %v; want the one CentralAuth session of %s", keys, d.sessionStates())
		}
		d.checkNoWholeToken(t, "the log", d.logs.String())
	})

	// Each break must leave B signed in: the proof above can fail.
	breaks := []struct {
		name  string
		editB func(t *testing.T) func(*appConfig)
	}{
		{"B reads another list", func(t *testing.T) func(*appConfig) {
			other, err := redisstore.NewRevocations(srv.Client(t), "centralauth-example:ended-elsewhere:", redisstore.WithLocalCache(100), redisstore.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = other.Close() })
			return func(c *appConfig) { c.Ended = other }
		}},
		{"B reads no list", func(*testing.T) func(*appConfig) {
			return func(c *appConfig) { c.Tokens, c.Ended = nil, nil }
		}},
	}
	for _, br := range breaks {
		t.Run("broken: "+br.name, func(t *testing.T) {
			d := startOnRedis(t, srv.URL(), slog.LevelInfo, br.editB(t))
			tab := newBrowser(t, nil)
			_, loads, err := proveInstantLogout(t, tab, d)
			if !errors.Is(err, errStillSignedIn) {
				t.Fatalf("the proof says %v after %d loads of App B; want %v", err, loads, errStillSignedIn)
			}
		})
	}
}

// errStillSignedIn is proveInstantLogout's verdict when App B still shows
// the user signed in.
var errStillSignedIn = errors.New("demo: App B still shows the user signed in after \"Log out everywhere\" on App A")

// The bounds of proveInstantLogout's wait for App B: far below B's check
// interval, and far above what the list takes.
const (
	maxLoadsOfB = 50
	loadWindow  = 5 * time.Second
)

// proveInstantLogout, in tab: a login on App A, autologin on App B, then
// "Log out everywhere" on A. It then loads B's page until B shows logged
// out, at most maxLoadsOfB times and for at most loadWindow, and returns
// how long after the click B first did, and at which load. The error is
// errStillSignedIn if B never did, or says that B asked CentralAuth, which
// would mean that the list did not decide. A step before the verdict that
// fails ends the test.
func proveInstantLogout(t *testing.T, tab context.Context, d *demo) (time.Duration, int, error) {
	t.Helper()
	open(t, tab, d.a+"/")
	demoLogin(t, tab, d.a, true)
	open(t, tab, d.b+"/")
	demoLogin(t, tab, d.b, false)
	if userInfoFrom(d.ca.Calls(), d.b) == 0 {
		t.Fatal("App B made no userinfo call at its login: counting its calls would prove nothing")
	}
	open(t, tab, d.a+"/")
	waitState(t, tab, "logged-in")
	before := len(d.ca.Calls())
	clicked := time.Now()
	click(t, tab, "#logout-everywhere")
	waitState(t, tab, "logged-out")
	if s := slices.Collect(d.ca.Sessions()); len(s) != 1 || s[0].Active {
		t.Fatalf("CentralAuth sessions: %s; want the one session ended", d.sessionStates())
	}
	var verdict error
	loads := 0
	for loads < maxLoadsOfB && time.Since(clicked) < loadWindow {
		loads++
		open(t, tab, d.b+"/")
		if stateOf(t, tab) == "logged-out" {
			took := time.Since(clicked)
			if n := userInfoFrom(d.ca.Calls()[before:], d.b); n != 0 {
				return took, loads, fmt.Errorf("App B made %d userinfo calls after the click: CentralAuth, not the list, logged it out", n)
			}
			return took, loads, nil
		}
		verdict = errStillSignedIn
	}
	return 0, loads, verdict
}

// BenchmarkLogoutEverywhereLatency is the end-to-end latency of the list
// of ended sessions, for the closing note: two example apps on one
// real Redis (REDIS_URL, with the local cache), both with a check interval
// of 10 minutes, over plain HTTP on loopback. Each iteration is one
// CentralAuth session: a login on A and autologin on B, each with their own
// cookie, then "Log out everywhere" POSTed to A, then B's page loaded with
// B's cookie until B refuses the session. The latency runs from the POST's
// start to the end of B's first refusal; p50-µs and p99-µs are over the
// iterations, so -benchtime 1000x measures 1,000 sessions:
//
//	CENTRALAUTH_REQUIRE_SYSTEM_DEPS=1 go test -run '^$' -bench LogoutEverywhereLatency -benchtime 1000x ./examples/chi-app/demo
//
// B-loads/op is how many loads of B that took. B may make one userinfo
// call per session, at its login, and none after: the benchmark fails
// otherwise, as the list, not CentralAuth, must have refused the session.
func BenchmarkLogoutEverywhereLatency(b *testing.B) {
	const (
		maxLoads = 1000            // of B, per session
		window   = 5 * time.Second // per session, from the POST
	)
	srv := redistest.Start(b)
	d := startOnRedis(b, srv.URL(), slog.LevelWarn, nil)
	var (
		latencies []time.Duration
		loads     int
	)
	for b.Loop() {
		c := newClient(b) // a browser of its own: a new CentralAuth session
		if p := c.login(d.a, fmt.Sprintf("user%d@example.test", len(latencies))); p.state() != "logged-in" {
			b.Fatalf("App A after login: %q", p.state())
		}
		if p := c.login(d.b, ""); p.state() != "logged-in" {
			b.Fatalf("App B after autologin: %q", p.state())
		}
		start := time.Now()
		if status := postOnce(b, c, d.a+everywherePath); status != http.StatusSeeOther {
			b.Fatalf("log out everywhere on A: status %d, want 303", status)
		}
		for n := 1; ; n++ {
			if c.get(d.b+"/").state() == "logged-out" {
				latencies = append(latencies, time.Since(start))
				loads += n
				break
			}
			if n == maxLoads || time.Since(start) > window {
				b.Fatalf("App B still shows the session after %d loads, %v after the logout on A", n, time.Since(start))
			}
		}
	}
	if n := userInfoFrom(d.ca.Calls(), d.b); n != len(latencies) {
		b.Fatalf("App B made %d userinfo calls for %d sessions; want one each, at its login", n, len(latencies))
	}
	slices.Sort(latencies)
	b.ReportMetric(micros(percentile(latencies, 50)), "p50-µs")
	b.ReportMetric(micros(percentile(latencies, 99)), "p99-µs")
	b.ReportMetric(float64(loads)/float64(len(latencies)), "B-loads/op")
}

// postOnce POSTs an empty form to target with c's cookies, without
// following the redirect, and returns the status.
func postOnce(tb testing.TB, c *client, target string) int {
	tb.Helper()
	hc := &http.Client{Jar: c.hc.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodPost, target, strings.NewReader(""))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// percentile is the nearest-rank p-th percentile of sorted, which is not
// empty.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (len(sorted)*p + 99) / 100 // ⌈n·p/100⌉
	return sorted[max(rank, 1)-1]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
