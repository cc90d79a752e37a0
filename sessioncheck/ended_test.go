package sessioncheck_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
	"github.com/centralauth-go/logout/sessioncheck"
	"github.com/centralauth-go/logout/token"
)

// orgSecret is 32 bytes, so the fake's tokens are real JWEs (dir,
// A256GCM) that token.Decrypter reads; otherOrgSecret is the organization
// next door's.
const (
	orgSecret      = "an-organization-s-secret-32bytes"
	otherOrgSecret = "the-organization-next-door-s-key"
)

// The origins of two apps of the organization.
const (
	originA = "https://a.example"
	originB = "https://b.example"
)

// startOrg starts a fake CentralAuth that issues real JWEs, and returns it
// with a Decrypter of its tokens.
func startOrg(t *testing.T) (*centralauthtest.Server, *token.Decrypter) {
	t.Helper()
	fake := centralauthtest.Start(t, "org", orgSecret)
	dec, err := token.NewDecrypter(orgSecret)
	if err != nil {
		t.Fatal(err)
	}
	return fake, dec
}

// clientFor is the *remote.Client of the app at origin.
func clientFor(t *testing.T, fake *centralauthtest.Server, origin string, opts ...remote.Option) *remote.Client {
	t.Helper()
	rc, err := remote.NewClient("org", orgSecret, append([]remote.Option{remote.WithBaseURL(fake.URL()), remote.WithAppOrigin(origin)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// userinfoCalls counts the userinfo calls the fake received from the app
// at origin.
func userinfoCalls(fake *centralauthtest.Server, origin string) int {
	n := 0
	for _, c := range fake.Calls() {
		if c.Path == "/api/v1/userinfo" && c.Domain == origin {
			n++
		}
	}
	return n
}

// app is one app of the organization: its own Store, and a Check whose
// events it records.
type app struct {
	store  *session.Store
	check  *sessioncheck.Check
	logs   *testutil.Buffer
	mu     sync.Mutex
	events []sessioncheck.Event
}

func newApp(t *testing.T, users sessioncheck.Users, opts ...sessioncheck.Option) *app {
	t.Helper()
	store, err := session.NewStore(hashKey)
	if err != nil {
		t.Fatal(err)
	}
	a := &app{store: store, logs: &testutil.Buffer{}}
	record := sessioncheck.WithOnCheck(func(_ *http.Request, ev sessioncheck.Event) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.events = append(a.events, ev)
	})
	a.check, err = sessioncheck.New(store, users, append([]sessioncheck.Option{sessioncheck.WithLogger(newDebugLogger(a.logs)), record}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// signIn saves sess, as the app's login would, and returns its cookie.
func (a *app) signIn(t *testing.T, sess *session.Session) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := a.store.Save(rec, sess); err != nil {
		t.Fatal(err)
	}
	return rec.Result().Cookies()[0]
}

// visit makes one request with cookie through the check, and returns
// whether the handler saw a live session, the one event the check reported,
// and the response.
func (a *app) visit(t *testing.T, cookie *http.Cookie) (bool, sessioncheck.Event, *http.Response) {
	t.Helper()
	a.mu.Lock()
	before := len(a.events)
	a.mu.Unlock()
	var live bool
	h := a.check.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, live = sessioncheck.From(r.Context())
	}))
	r := httptest.NewRequest(http.MethodGet, "https://app.example/", nil)
	r.AddCookie(cookie)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	a.mu.Lock()
	defer a.mu.Unlock()
	if n := len(a.events) - before; n != 1 {
		t.Fatalf("%d events for one request, want 1", n)
	}
	return live, a.events[len(a.events)-1], rec.Result()
}

// loads reports whether the store still loads cookie: false once the
// session was revoked.
func (a *app) loads(cookie *http.Cookie) bool {
	r := httptest.NewRequest(http.MethodGet, "https://app.example/", nil)
	r.AddCookie(cookie)
	_, err := a.store.Load(r)
	return err == nil
}

// sessionIDOf is the CentralAuth session a token of the fake names.
func sessionIDOf(t *testing.T, dec *token.Decrypter, tok string) string {
	t.Helper()
	c, ok := dec.Decrypt(tok)
	if !ok {
		t.Fatal("a token of the fake does not decrypt")
	}
	return c.SessionID
}

// endSoon is a time to keep an entry of the list until, for the tests.
func endSoon() time.Time { return time.Now().Add(time.Hour) }

// TestEndedSessionsEndWithoutACall: a session whose CentralAuth session is
// on the list of ended sessions is Ended on its next request without a
// userinfo call, even on a cached, fresh answer: its cookie is cleared and
// its app session revoked.
func TestEndedSessionsEndWithoutACall(t *testing.T) {
	tests := []struct {
		name      string
		idToken   bool // the app keeps the ID token, not the access token
		firstSeen bool // the app checked the session before it ended
	}{
		{name: "cached and fresh", firstSeen: true},
		{name: "cached and fresh, an ID token", idToken: true, firstSeen: true},
		{name: "never checked before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, dec := startOrg(t)
			list, err := session.NewMemoryRevocations(100)
			if err != nil {
				t.Fatal(err)
			}
			a := newApp(t, clientFor(t, fake, originA), sessioncheck.WithInterval(10*time.Minute), sessioncheck.WithEndedSessions(dec, list))
			ca := fake.SignIn("ada@example.com")
			sess := &session.Session{AccessToken: ca.AccessToken}
			if tt.idToken {
				sess = &session.Session{IDToken: ca.IDToken}
			}
			cookie := a.signIn(t, sess)
			wantCalls := 0
			if tt.firstSeen {
				if live, ev, _ := a.visit(t, cookie); !live || ev.Outcome != sessioncheck.Fresh {
					t.Fatalf("first visit: live %v, %+v; want fresh", live, ev)
				}
				if live, ev, _ := a.visit(t, cookie); !live || ev.Outcome != sessioncheck.Cached {
					t.Fatalf("second visit: live %v, %+v; want cached", live, ev)
				}
				wantCalls = 1
			}
			if err := list.Revoke(context.Background(), sessionIDOf(t, dec, ca.AccessToken), endSoon()); err != nil {
				t.Fatal(err)
			}
			live, ev, resp := a.visit(t, cookie)
			if live || ev.Outcome != sessioncheck.Ended || ev.Err == nil || !cleared(resp) {
				t.Fatalf("after the end: live %v, %+v, cleared %v; want ended with an error, cleared", live, ev, cleared(resp))
			}
			if a.loads(cookie) {
				t.Fatal("the ended session's cookie still loads: not revoked")
			}
			if n := userinfoCalls(fake, originA); n != wantCalls {
				t.Fatalf("%d userinfo calls, want %d", n, wantCalls)
			}
			if logs := a.logs.String(); !strings.Contains(logs, "level=INFO") || !strings.Contains(logs, "ended in another app") {
				t.Fatalf("the end is not logged at Info:\n%s", logs)
			}
		})
	}
}

// TestEndedSessionsAcrossApps: two apps of one organization share the
// list. When A learns from CentralAuth that the session ended, B refuses
// its own session of the same CentralAuth session on its next request,
// within its 10-minute interval and without a call.
func TestEndedSessionsAcrossApps(t *testing.T) {
	fake, dec := startOrg(t)
	shared, err := session.NewMemoryRevocations(100)
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t, clientFor(t, fake, originA), sessioncheck.WithInterval(0), sessioncheck.WithEndedSessions(dec, shared))
	b := newApp(t, clientFor(t, fake, originB), sessioncheck.WithInterval(10*time.Minute), sessioncheck.WithEndedSessions(dec, shared))
	// With autologin, the fake hands B the very tokens of the session A
	// logged into.
	ca := fake.SignIn("ada@example.com")
	cookieA := a.signIn(t, &session.Session{AccessToken: ca.AccessToken})
	cookieB := b.signIn(t, &session.Session{AccessToken: ca.AccessToken})
	if live, _, _ := a.visit(t, cookieA); !live {
		t.Fatal("A: not live")
	}
	if live, _, _ := b.visit(t, cookieB); !live {
		t.Fatal("B: not live")
	}
	bCalls := userinfoCalls(fake, originB)

	fake.EndSession(ca.AccessToken) // "log out everywhere", as another app would
	if live, ev, _ := a.visit(t, cookieA); live || ev.Outcome != sessioncheck.Ended || !remote.IsSessionEnded(ev.Err) {
		t.Fatalf("A after the end: live %v, %+v; want ended by CentralAuth", live, ev)
	}
	live, ev, resp := b.visit(t, cookieB)
	if live || ev.Outcome != sessioncheck.Ended || ev.Err == nil || !cleared(resp) || b.loads(cookieB) {
		t.Fatalf("B after the end: live %v, %+v, cleared %v, loads %v; want ended, cleared, revoked", live, ev, cleared(resp), b.loads(cookieB))
	}
	if n := userinfoCalls(fake, originB); n != bCalls {
		t.Fatalf("B made %d userinfo calls after the end, want 0", n-bCalls)
	}
}

// TestEndedSessionsPrivateList: without a list of its own, a Check keeps
// one in memory. CentralAuth saying that one app session ended ends
// another of the same CentralAuth session without a call, although the
// interval of 0 would have asked.
func TestEndedSessionsPrivateList(t *testing.T) {
	fake, dec := startOrg(t)
	a := newApp(t, clientFor(t, fake, originA), sessioncheck.WithInterval(0), sessioncheck.WithEndedSessions(dec, nil))
	ca := fake.SignIn("ada@example.com")
	first := a.signIn(t, &session.Session{AccessToken: ca.AccessToken})
	second := a.signIn(t, &session.Session{IDToken: ca.IDToken})
	for _, c := range []*http.Cookie{first, second} {
		if live, _, _ := a.visit(t, c); !live {
			t.Fatal("not live before the end")
		}
	}
	fake.EndSession(ca.AccessToken)
	if live, ev, _ := a.visit(t, first); live || ev.Outcome != sessioncheck.Ended || !remote.IsSessionEnded(ev.Err) {
		t.Fatalf("first session: live %v, %+v; want ended by CentralAuth", live, ev)
	}
	calls := userinfoCalls(fake, originA)
	live, ev, resp := a.visit(t, second)
	if live || ev.Outcome != sessioncheck.Ended || ev.Err == nil || !cleared(resp) || a.loads(second) {
		t.Fatalf("second session: live %v, %+v, cleared %v, loads %v; want ended, cleared, revoked", live, ev, cleared(resp), a.loads(second))
	}
	if n := userinfoCalls(fake, originA) - calls; n != 0 {
		t.Fatalf("%d userinfo calls for the second session, want 0", n)
	}
}

// randomJunk is a random cookie value of n bytes: base64url text.
func randomJunk(n int) string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(n))[:n]
}

// jweShaped is a random string of a JWE's shape, under the header of the
// organization's tokens, that nothing decrypts.
func jweShaped() string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"dir","enc":"A256GCM"}`)) + ".." + enc(randomBytes(12)) + "." + enc(randomBytes(64)) + "." + enc(randomBytes(16))
}

// sealer encrypts tokens as a CentralAuth whose client secret is secret
// does: real JWEs of {sessionId}, for any session ID, issued or not.
func sealer(t testing.TB, secret string) func(sessionID string) string {
	t.Helper()
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.DIRECT, Key: []byte(secret)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return func(sessionID string) string {
		obj, err := enc.Encrypt([]byte(`{"sessionId":"` + sessionID + `"}`))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := obj.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
}

// foreignSealer makes tokens of the organization next door: real JWEs,
// under another secret.
func foreignSealer(t testing.TB) func() string {
	seal := sealer(t, otherOrgSecret)
	return func() string { return seal("ses_" + randomJunk(32)) }
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return b
}

// TestUnreadableTokens: a token that does not decrypt is asked about while
// no token has decrypted, and without the option; once one has, it is
// Foreign: not asked about, the request logged out, its cookie kept and
// nothing revoked.
func TestUnreadableTokens(t *testing.T) {
	foreign := foreignSealer(t)
	tests := []struct {
		name        string
		noOption    bool
		realFirst   bool // a real token decrypted first
		token       func() string
		wantForeign bool
	}{
		{name: "before any token decrypted: asked", token: func() string { return randomJunk(120) }},
		{name: "random bytes after a token decrypted: foreign", realFirst: true, token: func() string { return randomJunk(120) }, wantForeign: true},
		{name: "a string of a JWE's shape: foreign", realFirst: true, token: jweShaped, wantForeign: true},
		{name: "a JWE under another secret: foreign", realFirst: true, token: foreign, wantForeign: true},
		{name: "without the option: asked", noOption: true, realFirst: true, token: foreign},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, dec := startOrg(t)
			var opts []sessioncheck.Option
			if !tt.noOption {
				opts = append(opts, sessioncheck.WithEndedSessions(dec, nil))
			}
			a := newApp(t, clientFor(t, fake, originA), opts...)
			if tt.realFirst {
				if live, _, _ := a.visit(t, a.signIn(t, &session.Session{AccessToken: fake.SignIn("ada@example.com").AccessToken})); !live {
					t.Fatal("the real session is not live")
				}
			}
			calls := userinfoCalls(fake, originA)
			junk := a.signIn(t, &session.Session{AccessToken: tt.token()})
			for visit := range 2 {
				live, ev, resp := a.visit(t, junk)
				if !tt.wantForeign {
					if n := userinfoCalls(fake, originA) - calls; ev.Outcome == sessioncheck.Foreign || n != 1 {
						t.Fatalf("%+v, %d calls; want asked, 1 call", ev, n)
					}
					return
				}
				if live || ev.Outcome != sessioncheck.Foreign || ev.Err == nil {
					t.Fatalf("visit %d: live %v, %+v; want foreign with an error", visit, live, ev)
				}
				if cleared(resp) || !a.loads(junk) {
					t.Fatalf("visit %d: cleared %v, loads %v; want the cookie kept, nothing revoked", visit, cleared(resp), a.loads(junk))
				}
				if n := userinfoCalls(fake, originA) - calls; n != 0 {
					t.Fatalf("visit %d: %d userinfo calls, want 0", visit, n)
				}
			}
		})
	}
}

// fakeUsers is userinfo answered from the fake's sessions without HTTP,
// for a Check in a synctest bubble, whose clock would not move while a
// loopback call is pending. It counts the calls.
type fakeUsers struct {
	fake  *centralauthtest.Server
	calls atomic.Int64
}

func (u *fakeUsers) UserInfo(_ context.Context, tok string, _ remote.EndUser) (remote.User, error) {
	if tok == "" { // as a *remote.Client answers New's probe
		return remote.User{}, remote.ErrNoToken
	}
	u.calls.Add(1)
	if !u.fake.Active(tok) {
		return remote.User{}, errEnded
	}
	return ada, nil
}

// TestUnreadableTokensPastTheJunkWindow: when no token has decrypted for
// five minutes, a token that does not is asked about again (a change of
// CentralAuth's format must not log everyone out), with one line at Error
// per five minutes, not per request; a token that decrypts again brings
// the refusal back.
func TestUnreadableTokensPastTheJunkWindow(t *testing.T) {
	fake, dec := startOrg(t)
	foreign := foreignSealer(t)
	synctest.Test(t, func(t *testing.T) {
		users := &fakeUsers{fake: fake}
		a := newApp(t, users, sessioncheck.WithEndedSessions(dec, nil)) // in the bubble: the Check's clock is the bubble's
		visitJunk := func() sessioncheck.Event {
			_, ev, _ := a.visit(t, a.signIn(t, &session.Session{AccessToken: foreign()}))
			return ev
		}
		errorLines := func() int { return strings.Count(a.logs.String(), "level=ERROR") }
		if live, _, _ := a.visit(t, a.signIn(t, &session.Session{AccessToken: fake.SignIn("ada@example.com").AccessToken})); !live {
			t.Fatal("the real session is not live")
		}
		steps := []struct {
			name       string
			wait       time.Duration
			wantAsked  bool
			wantErrors int
		}{
			{name: "at once: foreign", wantErrors: 0},
			{name: "just inside the window: foreign", wait: 5*time.Minute - time.Second, wantErrors: 0},
			{name: "past it: asked, logged", wait: time.Second, wantAsked: true, wantErrors: 1},
			{name: "another one in the same window: asked, not logged again", wait: time.Minute, wantAsked: true, wantErrors: 1},
			{name: "a window later: asked, logged again", wait: 4 * time.Minute, wantAsked: true, wantErrors: 2},
		}
		for _, st := range steps {
			time.Sleep(st.wait)
			calls := users.calls.Load()
			ev := visitJunk()
			asked := users.calls.Load() - calls
			if (ev.Outcome == sessioncheck.Foreign) == st.wantAsked || asked != map[bool]int64{true: 1}[st.wantAsked] || errorLines() != st.wantErrors {
				t.Fatalf("%s: %+v, %d calls, %d lines at Error; want asked %v, %d lines:\n%s", st.name, ev, asked, errorLines(), st.wantAsked, st.wantErrors, a.logs)
			}
		}
		if !strings.Contains(a.logs.String(), "token.WithPreviousSecret") {
			t.Fatalf("the Error line does not say what to check:\n%s", a.logs)
		}
		// A token that decrypts again: junk is refused again.
		a.visit(t, a.signIn(t, &session.Session{AccessToken: fake.SignIn("bob@example.com").AccessToken}))
		calls := users.calls.Load()
		if ev := visitJunk(); ev.Outcome != sessioncheck.Foreign || users.calls.Load() != calls {
			t.Fatalf("after a token decrypted again: %+v, %d calls; want foreign, 0 calls", ev, users.calls.Load()-calls)
		}
	})
}

// failingList is a list of ended sessions that cannot be asked: Redis
// down.
type failingList struct{}

var errListDown = errors.New("list down")

func (failingList) Revoke(context.Context, string, time.Time) error { return errListDown }
func (failingList) Revoked(context.Context, string) (bool, error)   { return false, errListDown }

// TestEndedSessionsListDown: a list that cannot be asked is not a logout.
// Sessions stay live on their cached answers, nothing is cleared, and the
// Check logs it at Warn once per interval, whatever the requests and
// sessions; CentralAuth saying a session ended still ends it.
func TestEndedSessionsListDown(t *testing.T) {
	fake, dec := startOrg(t)
	synctest.Test(t, func(t *testing.T) {
		users := &fakeUsers{fake: fake}
		a := newApp(t, users, sessioncheck.WithInterval(30*time.Second), sessioncheck.WithEndedSessions(dec, failingList{}))
		first := fake.SignIn("ada@example.com")
		cookies := []*http.Cookie{
			a.signIn(t, &session.Session{AccessToken: first.AccessToken}),
			a.signIn(t, &session.Session{AccessToken: fake.SignIn("bob@example.com").AccessToken}),
		}
		warns := func() int { return strings.Count(a.logs.String(), "the list of ended sessions cannot be asked") }
		for round, wantWarns := range []int{1, 2} {
			for visit := range 3 {
				for _, c := range cookies {
					live, ev, resp := a.visit(t, c)
					if !live || cleared(resp) || (visit > 0 && ev.Outcome != sessioncheck.Cached) {
						t.Fatalf("round %d, visit %d: live %v, %+v, cleared %v; want live, cached after the first", round, visit, live, ev, cleared(resp))
					}
				}
			}
			if warns() != wantWarns {
				t.Fatalf("round %d: %d lines at Warn, want %d (one per interval):\n%s", round, warns(), wantWarns, a.logs)
			}
			time.Sleep(31 * time.Second)
		}
		fake.EndSession(first.AccessToken)
		if live, ev, resp := a.visit(t, cookies[0]); live || ev.Outcome != sessioncheck.Ended || !cleared(resp) {
			t.Fatalf("ended at CentralAuth with the list down: live %v, %+v, cleared %v; want ended", live, ev, cleared(resp))
		}
		if !strings.Contains(a.logs.String(), "could not add an ended session") {
			t.Fatalf("the failed write is not logged:\n%s", a.logs)
		}
	})
}

// TestTokensAreReadOncePerSession: the token is decrypted at a session's
// first check, not on every request. A decryption allocates (go-jose's
// parsing and the payload's JSON), so a cached check with the option makes
// exactly the allocations of one without it, while a request whose token
// is decrypted every time (a foreign one, which leaves no entry) makes
// more: the measure sees a decryption.
func TestTokensAreReadOncePerSession(t *testing.T) {
	fake, dec := startOrg(t)
	store := fixedStore{
		"real":    {ID: "s-real", AccessToken: fake.SignIn("ada@example.com").AccessToken},
		"foreign": {ID: "s-foreign", AccessToken: foreignSealer(t)()},
	}
	allocs := func(name string, opts ...sessioncheck.Option) float64 {
		ca := &userinfo{answer: func(string) (remote.User, error) { return ada, nil }}
		check, err := sessioncheck.New(store, ca, append([]sessioncheck.Option{sessioncheck.WithInterval(time.Hour), sessioncheck.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		h := check.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("X-Session", "real")
		w := newDiscardWriter()
		h.ServeHTTP(w, r) // the first check; the rest are cached
		r.Header.Set("X-Session", name)
		n := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, r) })
		if ca.calls.Load() != 1 {
			t.Fatalf("%d userinfo calls, want 1", ca.calls.Load())
		}
		return n
	}
	without := allocs("real")
	with := allocs("real", sessioncheck.WithEndedSessions(dec, nil))
	foreign := allocs("foreign", sessioncheck.WithEndedSessions(dec, nil))
	if with != without || foreign <= with {
		t.Fatalf("allocations per request: %v cached with the option, %v without, %v decrypting a foreign token; want the first two equal, the third above", with, without, foreign)
	}
}

// countingUsers counts the userinfo calls a Check makes through next.
type countingUsers struct {
	next  sessioncheck.Users
	calls atomic.Int64
}

func (u *countingUsers) UserInfo(ctx context.Context, tok string, eu remote.EndUser) (remote.User, error) {
	if tok != "" { // New's probe is not a call
		u.calls.Add(1)
	}
	return u.next.UserInfo(ctx, tok, eu)
}

// TestRandomTokenFloodCostsNoCall is issue 21's flood proof: with the raw
// token cookie, every random cookie is a session of its own. 1,000 real
// users are checked once; then, with CentralAuth down, 100,000 requests
// each bring a fresh random token (base64url junk, strings of a JWE's
// shape, JWEs of another organization). None costs a userinfo call, each
// is Foreign, and every real user still gets their cached answer: none
// was evicted.
//
// The refusal holds for five minutes after the last token that decrypted,
// wall-clock time on a Check outside a bubble, and the flood takes tens of
// seconds under -race on one CPU. So the Check lives in a synctest bubble,
// whose clock moves only when every goroutine in it waits: the flood,
// which never waits, takes no time on it, on any machine. The real users'
// first checks go to the fake over loopback, which the bubble's clock
// does not move during either.
func TestRandomTokenFloodCostsNoCall(t *testing.T) {
	const users, flood = 1_000, 100_000
	fake, dec := startOrg(t)
	foreign := foreignSealer(t)
	synctest.Test(t, func(t *testing.T) {
		// No connection outlives its call: the bubble ends only once the
		// goroutines of its connections do, also when the test fails with
		// a call in flight.
		hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		rc := &countingUsers{next: clientFor(t, fake, originA, remote.WithHTTPClient(hc))}
		store, err := session.NewTokenCookie()
		if err != nil {
			t.Fatal(err)
		}
		outcomes := map[sessioncheck.Outcome]int{}
		check, err := sessioncheck.New(store, rc, sessioncheck.WithEndedSessions(dec, nil), sessioncheck.WithLogger(slog.New(slog.DiscardHandler)),
			sessioncheck.WithOnCheck(func(_ *http.Request, ev sessioncheck.Event) { outcomes[ev.Outcome]++ }))
		if err != nil {
			t.Fatal(err)
		}
		var live bool
		h := check.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			_, live = sessioncheck.From(r.Context())
		}))
		visit := func(tok string) bool {
			r := httptest.NewRequest(http.MethodGet, originA+"/", nil)
			r.AddCookie(&http.Cookie{Name: "access_token", Value: tok})
			live = false
			h.ServeHTTP(newDiscardWriter(), r)
			return live
		}

		real := make([]string, users)
		for i := range real {
			real[i] = fake.SignIn("user" + strconv.Itoa(i) + "@example.com").AccessToken
			if !visit(real[i]) {
				t.Fatalf("user %d is not live", i)
			}
		}
		if outcomes[sessioncheck.Fresh] != users || rc.calls.Load() != users {
			t.Fatalf("the users' first checks: %v, %d calls; want %d fresh", outcomes, rc.calls.Load(), users)
		}

		fake.InjectFault(centralauthtest.Fault{Status: http.StatusServiceUnavailable, Times: flood})
		clear(outcomes)
		calls := rc.calls.Load()
		for i := range flood {
			var tok string
			switch i % 3 {
			case 0:
				tok = randomJunk(16 + i%1000)
			case 1:
				tok = jweShaped()
			default:
				tok = foreign()
			}
			if visit(tok) || rc.calls.Load() != calls || outcomes[sessioncheck.Foreign] != i+1 {
				t.Fatalf("flood request %d: live %v, %d userinfo calls, outcomes %v; want logged out, 0 calls, all foreign", i, live, rc.calls.Load()-calls, outcomes)
			}
		}

		clear(outcomes)
		evicted := 0
		for _, tok := range real {
			if !visit(tok) {
				evicted++
			}
		}
		if evicted != 0 || outcomes[sessioncheck.Cached] != users || rc.calls.Load() != calls {
			t.Fatalf("after the flood: %d of %d users logged out, outcomes %v, %d calls; want all cached, 0 calls", evicted, users, outcomes, rc.calls.Load()-calls)
		}
		if n := userinfoCalls(fake, originA); n != users {
			t.Fatalf("the fake received %d userinfo calls, want %d", n, users)
		}
	})
}

// TestEndedSessionsOnlyWhenTheSessionEnded: CentralAuth refusing one token
// (tokenInvalid: a token it no longer takes, such as an expired one) ends
// that app session, not the CentralAuth session, which the other apps'
// tokens still stand for: it must not go on the list, or one stale token
// would log its user out of every app.
func TestEndedSessionsOnlyWhenTheSessionEnded(t *testing.T) {
	fake, dec := startOrg(t)
	shared, err := session.NewMemoryRevocations(100)
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t, clientFor(t, fake, originA), sessioncheck.WithInterval(0), sessioncheck.WithEndedSessions(dec, shared))
	b := newApp(t, clientFor(t, fake, originB), sessioncheck.WithInterval(10*time.Minute), sessioncheck.WithEndedSessions(dec, shared))
	ca := fake.SignIn("ada@example.com")
	cookieB := b.signIn(t, &session.Session{AccessToken: ca.AccessToken})
	if live, _, _ := b.visit(t, cookieB); !live {
		t.Fatal("B: not live")
	}
	// A holds a token of the same session that CentralAuth does not take.
	stale := sealer(t, orgSecret)(ca.ID)
	if live, ev, _ := a.visit(t, a.signIn(t, &session.Session{AccessToken: stale})); live || ev.Outcome != sessioncheck.Ended {
		t.Fatalf("A with a token CentralAuth refuses: live %v, %+v; want ended", live, ev)
	}
	if live, ev, _ := b.visit(t, cookieB); !live || ev.Outcome != sessioncheck.Cached {
		t.Fatalf("B, whose token stands: live %v, %+v; want live, cached", live, ev)
	}
}

// TestEndedSessionsRawTokenCookie: with session.TokenCookie, which keeps
// no revocation list, a replayed cookie of an ended session loads again;
// the list ends it again, still without a call.
func TestEndedSessionsRawTokenCookie(t *testing.T) {
	fake, dec := startOrg(t)
	store, err := session.NewTokenCookie()
	if err != nil {
		t.Fatal(err)
	}
	list, err := session.NewMemoryRevocations(100)
	if err != nil {
		t.Fatal(err)
	}
	var last sessioncheck.Event
	check, err := sessioncheck.New(store, clientFor(t, fake, originA), sessioncheck.WithInterval(10*time.Minute), sessioncheck.WithEndedSessions(dec, list),
		sessioncheck.WithLogger(slog.New(slog.DiscardHandler)), sessioncheck.WithOnCheck(func(_ *http.Request, ev sessioncheck.Event) { last = ev }))
	if err != nil {
		t.Fatal(err)
	}
	ca := fake.SignIn("ada@example.com")
	visit := func() (bool, *http.Response) {
		var live bool
		r := httptest.NewRequest(http.MethodGet, originA+"/", nil)
		r.AddCookie(&http.Cookie{Name: "access_token", Value: ca.AccessToken})
		rec := httptest.NewRecorder()
		check.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			_, live = sessioncheck.From(r.Context())
		})).ServeHTTP(rec, r)
		return live, rec.Result()
	}
	if live, _ := visit(); !live {
		t.Fatal("not live before the end")
	}
	if err := list.Revoke(context.Background(), ca.ID, endSoon()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"next request", "replayed cookie"} {
		live, resp := visit()
		clearedRaw := strings.HasPrefix(resp.Header.Get("Set-Cookie"), "access_token=;")
		if live || last.Outcome != sessioncheck.Ended || last.Err == nil || !clearedRaw {
			t.Fatalf("%s: live %v, %+v, Set-Cookie %q; want ended, the cookie cleared", name, live, last, resp.Header.Get("Set-Cookie"))
		}
	}
	if n := userinfoCalls(fake, originA); n != 1 {
		t.Fatalf("%d userinfo calls, want the first check's only", n)
	}
}
