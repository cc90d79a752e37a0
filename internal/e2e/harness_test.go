package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
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
)

const (
	clientID     = "e2e-client"
	clientSecret = "e2e-client-s3cr3t-n0t-for-logs"
)

var (
	hashKey   = bytes.Repeat([]byte("h"), 32)
	cookieKey = bytes.Repeat([]byte("c"), 32)
	outboxKey = bytes.Repeat([]byte("o"), 32)
)

// backend is where the instances of one cluster share their state.
type backend struct {
	name  string
	redis bool
}

var (
	memory    = backend{"memory", false}
	redisBE   = backend{"redis", true}
	bothKinds = []backend{memory, redisBE}
)

// settings tune a cluster; zero fields take the defaults in newCluster.
type settings struct {
	lease time.Duration // outbox visibility timeout
	poll  time.Duration // outbox poll interval
	// remoteTimeout bounds the handlers' calls to CentralAuth; default
	// 3s, the middleware's own default.
	remoteTimeout time.Duration
}

// cluster is a fake CentralAuth, and for the redis backend a redis-server,
// shared by any number of app instances.
type cluster struct {
	t        *testing.T
	backend  backend
	set      settings
	ca       *centralauthtest.Server
	redis    *redistest.Server // nil for memory
	memList  *session.MemoryRevocations
	memQueue *outbox.MemoryQueue
	logs     *testutil.Buffer // every log line of every instance, at Debug
	logger   *slog.Logger
	wire     *wireWatch   // sees every request to CentralAuth
	http     *http.Client // shared by every remote.Client
}

func newCluster(t *testing.T, b backend, set settings) *cluster {
	t.Helper()
	if set.lease == 0 {
		set.lease = 2 * time.Second
	}
	if set.poll == 0 {
		set.poll = 20 * time.Millisecond
	}
	if set.remoteTimeout == 0 {
		set.remoteTimeout = 3 * time.Second
	}
	ca := centralauthtest.Start(t, clientID, clientSecret)
	c := &cluster{t: t, backend: b, set: set, ca: ca, logs: &testutil.Buffer{}}
	c.logger = slog.New(slog.NewTextHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	transport.MaxConnsPerHost = 128
	t.Cleanup(transport.CloseIdleConnections)
	c.wire = &wireWatch{next: transport, inFlight: map[string]int{}}
	c.http = &http.Client{Transport: c.wire, Timeout: 10 * time.Second}
	if b.redis {
		c.redis = redistest.Start(t)
	} else {
		var err error
		if c.memList, err = session.NewMemoryRevocations(100_000); err != nil {
			t.Fatal(err)
		}
		if c.memQueue, err = outbox.NewMemoryQueue(10_000); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// instance is one app instance: its own store, outbox and handler, and
// for the redis backend its own Redis client.
type instance struct {
	name    string
	c       *cluster
	store   *session.Store
	queue   *watchedQueue
	outbox  *outbox.Outbox
	handler *middleware.LogoutHandler

	mu     sync.Mutex
	events []middleware.Event
}

func (c *cluster) newInstance(name string) *instance {
	t := c.t
	t.Helper()
	var (
		list  session.RevocationList
		queue outbox.Queue
	)
	if c.redis != nil {
		rdb := c.redis.Client(t)
		l, err := redisstore.NewRevocations(rdb, "centralauth:")
		if err != nil {
			t.Fatal(err)
		}
		list = l
		q, err := redisstore.NewQueue(rdb, "centralauth:")
		if err != nil {
			t.Fatal(err)
		}
		queue = q
	} else {
		list, queue = c.memList, c.memQueue
	}
	store, err := session.NewStore(hashKey, session.WithEncryptionKey(cookieKey), session.WithRevocations(list))
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{name: name, c: c, store: store, queue: newWatchedQueue(queue)}
	// No retries inside a call: every attempt CentralAuth sees is one
	// the test can count, and the outbox does the retrying.
	rc, err := remote.NewClient(clientID, clientSecret,
		remote.WithBaseURL(c.ca.URL()), remote.WithRetries(0), remote.WithHTTPClient(c.http))
	if err != nil {
		t.Fatal(err)
	}
	log := c.logger.With("instance", name)
	in.outbox, err = outbox.New(rc, in.queue,
		outbox.WithEncryptionKey(outboxKey),
		outbox.WithPollInterval(c.set.poll),
		outbox.WithLease(c.set.lease),
		outbox.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	in.handler, err = middleware.NewLogoutHandler(store,
		middleware.WithRemote(rc),
		middleware.WithSessionWide(true),
		middleware.WithOutbox(in.outbox),
		middleware.WithLogger(log),
		middleware.WithRemoteTimeout(c.set.remoteTimeout),
		middleware.WithOnLogout(func(_ *http.Request, ev middleware.Event) {
			in.mu.Lock()
			defer in.mu.Unlock()
			in.events = append(in.events, ev)
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// user is a signed-in user: a CentralAuth session and the app's cookie.
type user struct {
	ca     centralauthtest.Session
	id     string // the app's session ID
	cookie string // "name=value", as a browser would send it
}

// login issues a CentralAuth session and saves it in a cookie, as a login
// callback would.
func (in *instance) login(name string) user {
	in.c.t.Helper()
	s := in.c.ca.SignIn(name)
	sess := &session.Session{AccessToken: s.AccessToken, IDToken: s.IDToken}
	rec := httptest.NewRecorder()
	if err := in.store.Save(rec, sess); err != nil {
		in.c.t.Fatal(err)
	}
	ck, err := http.ParseSetCookie(rec.Header().Get("Set-Cookie"))
	if err != nil {
		in.c.t.Fatal(err)
	}
	return user{ca: s, id: sess.ID, cookie: ck.Name + "=" + ck.Value}
}

// logout POSTs to the instance's logout handler with u's cookie. Safe to
// call from any goroutine.
func (in *instance) logout(u user) *http.Response {
	r := httptest.NewRequest(http.MethodPost, "/logout", nil)
	r.Header.Set("Cookie", u.cookie)
	rec := httptest.NewRecorder()
	in.handler.ServeHTTP(rec, r)
	return rec.Result()
}

// load replays u's cookie against the instance's store.
func (in *instance) load(u user) error {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Cookie", u.cookie)
	_, err := in.store.Load(r)
	return err
}

// event returns the logout event of u's session.
func (in *instance) event(u user) (middleware.Event, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, ev := range in.events {
		if slices.Contains(ev.SessionIDs, u.id) {
			return ev, true
		}
	}
	return middleware.Event{}, false
}

func (in *instance) allEvents() []middleware.Event {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]middleware.Event(nil), in.events...)
}

// wantLoggedOut checks the response of a logout: 303 and the cookie
// cleared.
func wantLoggedOut(t *testing.T, resp *http.Response) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout answered %d, want 303", resp.StatusCode)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "__Host-centralauth_session" && ck.MaxAge < 0 && ck.Value == "" {
			return
		}
	}
	t.Fatalf("logout did not clear the cookie: %q", resp.Header.Values("Set-Cookie"))
}

// worker is a running Outbox.Run.
type worker struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// startWorker runs the instance's outbox until stop or the end of the
// test. A panic inside fails the test rather than crash it.
func (in *instance) startWorker() *worker {
	t := in.c.t
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{cancel: cancel, done: make(chan error, 1)}
	go func() {
		defer func() {
			if p := recover(); p != nil {
				w.done <- fmt.Errorf("Run panicked: %v", p)
			}
		}()
		w.done <- in.outbox.Run(ctx)
	}()
	t.Cleanup(func() { w.stop(t) })
	return w
}

// stop cancels the worker and waits for Run to return; it may be called
// more than once.
func (w *worker) stop(t *testing.T) {
	t.Helper()
	w.once.Do(func() {
		w.cancel()
		select {
		case err := <-w.done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return within 10s of its context's end")
		}
	})
}

// stats is the instance's outbox Stats; Pending is -1 when the queue
// cannot be counted.
func (in *instance) stats() outbox.Stats {
	ctx, cancel := context.WithTimeout(in.c.t.Context(), 5*time.Second)
	defer cancel()
	s, _ := in.outbox.Stats(ctx)
	return s
}

// stats sums the outboxes' Stats; Pending is the queue's, the same for all.
func stats(ins ...*instance) outbox.Stats {
	var sum outbox.Stats
	for i, in := range ins {
		s := in.stats()
		if i == 0 {
			sum.Pending = s.Pending
		}
		sum.Delivered += s.Delivered
		sum.Dropped += s.Dropped
		sum.Retries += s.Retries
	}
	return sum
}

// progress describes how far the users' logouts got, for waitFor.
func (c *cluster) progress(us []user, ins ...*instance) func() string {
	return func() string {
		active := 0
		for _, u := range us {
			if c.ca.Active(u.ca.AccessToken) {
				active++
			}
		}
		return fmt.Sprintf("%d of %d CentralAuth sessions still active, outbox stats %+v", active, len(us), stats(ins...))
	}
}

// allInactive reports whether every user's CentralAuth session has ended.
func (c *cluster) allInactive(users []user) bool {
	for _, u := range users {
		if c.ca.Active(u.ca.AccessToken) {
			return false
		}
	}
	return true
}

// accepted counts, per CentralAuth session, the logouts CentralAuth
// answered 200.
func (c *cluster) accepted() map[string]int {
	n := map[string]int{}
	for _, call := range c.ca.Calls() {
		if call.Path == "/api/v1/logout" && call.Status == http.StatusOK {
			n[call.SessionID]++
		}
	}
	return n
}

// wireWatch is the transport of every remote.Client: it tracks how many
// logouts of each token are on the wire at once.
type wireWatch struct {
	next http.RoundTripper

	mu          sync.Mutex
	inFlight    map[string]int
	maxPerToken int
}

func (w *wireWatch) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	tok := string(body)
	w.mu.Lock()
	w.inFlight[tok]++
	w.maxPerToken = max(w.maxPerToken, w.inFlight[tok])
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.inFlight[tok]--
		w.mu.Unlock()
	}()
	// Until the answer's headers: the fake writes its small bodies
	// with them.
	return w.next.RoundTrip(r)
}

// maxConcurrent is the most logouts of one token that were ever on the
// wire at once.
func (w *wireWatch) maxConcurrent() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.maxPerToken
}

// watchedQueue is an outbox.Queue that records every Claim, so that tests
// can wait for workers to poll and see who held what when.
type watchedQueue struct {
	outbox.Queue

	mu      sync.Mutex
	changed chan struct{}
	claims  []claim // successful claims, in order
	empty   int     // claims that found nothing due
	failed  int     // claims that returned an error
}

type claim struct {
	now   time.Time // the worker's now: the lease runs from here
	entry string
	lease string
}

func newWatchedQueue(q outbox.Queue) *watchedQueue {
	return &watchedQueue{Queue: q, changed: make(chan struct{})}
}

func (q *watchedQueue) Claim(ctx context.Context, now time.Time, lease time.Duration) (outbox.Entry, bool, error) {
	e, ok, err := q.Queue.Claim(ctx, now, lease)
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case err != nil:
		q.failed++
	case ok:
		q.claims = append(q.claims, claim{now: now, entry: e.ID, lease: e.Lease})
	default:
		q.empty++
	}
	close(q.changed)
	q.changed = make(chan struct{})
	return e, ok, err
}

// counts returns the numbers of successful, empty and failed claims.
func (q *watchedQueue) counts() (ok, empty, failed int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.claims), q.empty, q.failed
}

func (q *watchedQueue) claimed() []claim {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]claim(nil), q.claims...)
}

// secretForms are the ways a secret could show: as is, base64-encoded, and
// each long dot-separated part of it.
func secretForms(secret string) []string {
	forms := []string{secret,
		base64.StdEncoding.EncodeToString([]byte(secret)),
		base64.RawURLEncoding.EncodeToString([]byte(secret)),
	}
	for _, p := range bytes.Split([]byte(secret), []byte(".")) {
		if len(p) >= 16 && len(p) < len(secret) {
			forms = append(forms, string(p))
		}
	}
	return forms
}
