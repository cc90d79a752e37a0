package observability_test

import (
	"bytes"
	"context"
	"errors"
	"expvar"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/redistest"
	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/middleware"
	"github.com/centralauth-go/logout/outbox"
	"github.com/centralauth-go/logout/redisstore"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
	"github.com/centralauth-go/logout/sessioncheck"
)

const (
	clientID     = "observability-client"
	clientSecret = "observability-s3cr3t"
)

// TestEveryHookIsCounted drives the four components for real, wired with
// docs/observability.md's countOutcomes, against the fake CentralAuth and a
// redis-server, and checks that every hook counted what happened.
func TestEveryHookIsCounted(t *testing.T) {
	srv := redistest.Start(t)
	ca := centralauthtest.Start(t, clientID, clientSecret)
	log := slog.New(slog.NewTextHandler(t.Output(), nil))

	counts := new(expvar.Map)
	onLogout, onCheck, onDelivery, onCacheHealth := countOutcomes(counts)
	got := func(key string) int64 {
		if v, ok := counts.Get(key).(*expvar.Int); ok {
			return v.Value()
		}
		return 0
	}
	wait := func(d time.Duration, key string, n int64) {
		t.Helper()
		testutil.WaitFor(t, d, fmt.Sprintf("%s to reach %d", key, n), func() bool { return got(key) >= n }, counts.String)
	}

	revocations, err := redisstore.NewRevocations(srv.Client(t), "centralauth:",
		redisstore.WithLocalCache(1000), redisstore.WithLogger(log), onCacheHealth)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = revocations.Close() })
	wait(10*time.Second, "redis_cache.healthy", 1)

	store, err := session.NewStore(bytes.Repeat([]byte("h"), 32),
		session.WithEncryptionKey(bytes.Repeat([]byte("e"), 32)), session.WithRevocations(revocations))
	if err != nil {
		t.Fatal(err)
	}
	// No retries inside a call: each 503 below is one outcome.
	rc, err := remote.NewClient(clientID, clientSecret, remote.WithBaseURL(ca.URL()),
		remote.WithAppOrigin("https://app.example"), remote.WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	queue, err := outbox.NewMemoryQueue(10)
	if err != nil {
		t.Fatal(err)
	}
	retries, err := outbox.New(rc, queue, outbox.WithLogger(log), outbox.WithPollInterval(10*time.Millisecond), onDelivery)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- retries.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	})
	everywhere, err := middleware.NewLogoutHandler(store, middleware.WithRemote(rc), middleware.WithSessionWide(true),
		middleware.WithOutbox(retries), middleware.WithLogger(log), onLogout)
	if err != nil {
		t.Fatal(err)
	}
	local, err := middleware.NewLogoutHandler(store, middleware.WithLogger(log), onLogout)
	if err != nil {
		t.Fatal(err)
	}
	// Every request asks CentralAuth, so that the second sees the end.
	check, err := sessioncheck.New(store, rc, sessioncheck.WithInterval(0), sessioncheck.WithLogger(log), onCheck)
	if err != nil {
		t.Fatal(err)
	}
	page := check.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))

	// The session check: fresh, then ended once CentralAuth ends the session.
	ada, adaCookie := login(t, ca, store, "ada")
	serve(page, http.MethodGet, "/", adaCookie)
	ca.EndSession(ada.AccessToken)
	serve(page, http.MethodGet, "/", adaCookie)

	// A local logout, and a session-wide one that CentralAuth refuses
	// twice: queued by the handler, retried by the outbox, then delivered.
	_, cyCookie := login(t, ca, store, "cy")
	serve(local, http.MethodPost, "/logout", cyCookie)
	bob, bobCookie := login(t, ca, store, "bob")
	ca.InjectFault(centralauthtest.Fault{Status: http.StatusServiceUnavailable, Times: 2})
	serve(everywhere, http.MethodPost, "/logout", bobCookie)
	wait(30*time.Second, "outbox.delivered", 1)
	if ca.Active(bob.AccessToken) {
		t.Error("bob's CentralAuth session is still active after the outbox delivered its logout")
	}

	// The Redis cache: unhealthy while Redis is down, healthy once back.
	srv.Kill()
	wait(20*time.Second, "redis_cache.unhealthy", 1)
	srv.Restart()
	wait(30*time.Second, "redis_cache.healthy", 2)

	for key, least := range map[string]int64{
		"logout.none": 1, "logout.queued": 1,
		"sessioncheck.fresh": 1, "sessioncheck.ended": 1,
		"outbox.retried": 1, "outbox.delivered": 1,
		"redis_cache.healthy": 2, "redis_cache.unhealthy": 1,
	} {
		if got(key) < least {
			t.Errorf("%s counted %d times, want at least %d", key, got(key), least)
		}
	}
	t.Logf("counts: %s", counts)
}

// login starts a CentralAuth session for user and saves it in a cookie, as
// a login callback would; it returns the session and the cookie's
// "name=value".
func login(t *testing.T, ca *centralauthtest.Server, store *session.Store, user string) (centralauthtest.Session, string) {
	t.Helper()
	s := ca.SignIn(user)
	rec := httptest.NewRecorder()
	if err := store.Save(rec, &session.Session{AccessToken: s.AccessToken, IDToken: s.IDToken}); err != nil {
		t.Fatal(err)
	}
	ck, err := http.ParseSetCookie(rec.Header().Get("Set-Cookie"))
	if err != nil {
		t.Fatal(err)
	}
	return s, ck.Name + "=" + ck.Value
}

func serve(h http.Handler, method, target, cookie string) {
	r := httptest.NewRequest(method, target, nil)
	r.Header.Set("Cookie", cookie)
	h.ServeHTTP(httptest.NewRecorder(), r)
}
