package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/centralauth-go/logout/internal/redistest"
	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/redisstore"
)

// window is the read timeout of the cache tests' clients: a lost
// connection is noticed within two of them.
const window = 200 * time.Millisecond

func fastClient(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), ReadTimeout: window, WriteTimeout: window, DialTimeout: window, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func cachedRevocations(t *testing.T, rdb redis.UniversalClient, max int, opts ...redisstore.RevocationsOption) *redisstore.Revocations {
	t.Helper()
	opts = append([]redisstore.RevocationsOption{redisstore.WithLocalCache(max), redisstore.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil)))}, opts...)
	r := newRevocations(t, rdb, stdPrefix, opts...)
	t.Cleanup(func() { _ = r.Close() })
	testutil.WaitFor(t, 10*time.Second, "the local cache to load", func() bool { return r.Health().Healthy })
	return r
}

func commandCalls(t *testing.T, rdb *redis.Client, cmd string) int {
	t.Helper()
	info := rdb.Info(t.Context(), "commandstats").Val()
	_, after, ok := strings.Cut(info, "cmdstat_"+cmd+":calls=")
	if !ok {
		return 0
	}
	n, _ := strconv.Atoi(after[:strings.IndexByte(after, ',')])
	return n
}

// Proof 1: a logout through A is refused on B, from B's memory; and a
// healthy B sends Redis nothing. How fast is BenchmarkPropagation's.
func TestLocalCacheSeesRevocationsFromOtherInstances(t *testing.T) {
	srv := redistest.Start(t)
	a := newRevocations(t, srv.Client(t), stdPrefix)
	b := cachedRevocations(t, srv.Client(t), 10_000)
	ctx := t.Context()

	for i := range 1000 {
		id := "s" + strconv.Itoa(i)
		if err := a.Revoke(ctx, id, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		testutil.WaitFor(t, 10*time.Second, "B to refuse "+id, func() bool { r, _ := b.Revoked(ctx, id); return r })
	}

	// Healthy: no command reaches Redis for a check.
	before := commandCalls(t, srv.Client(t), "exists")
	for i := range 1000 {
		if r, err := b.Revoked(ctx, "s"+strconv.Itoa(i)); err != nil || !r {
			t.Fatalf("Revoked = %v, %v", r, err)
		}
		if r, _ := b.Revoked(ctx, "never-"+strconv.Itoa(i)); r {
			t.Fatal("a session never revoked is revoked")
		}
	}
	if n := commandCalls(t, srv.Client(t), "exists") - before; n != 0 {
		t.Fatalf("2,000 checks on a healthy cache sent %d EXISTS to Redis, want 0", n)
	}
	if st := b.Health(); !st.Healthy || st.Entries != 1000 || st.Fallbacks != 0 || st.LastResync.IsZero() {
		t.Fatalf("stats %+v", st)
	}
}

// Proof 2: with Redis gone, B stops answering from memory; a revocation
// made while B reconnects is refused once B is back.
func TestLocalCacheAcrossARedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	a := newRevocations(t, fastClient(t, srv), stdPrefix)
	b := cachedRevocations(t, fastClient(t, srv), 1000)
	ctx := t.Context()
	if err := a.Revoke(ctx, "before", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, "B to hear of it", func() bool { r, _ := b.Revoked(ctx, "before"); return r })

	srv.Kill()
	// That it happens within the window is the fault tests' to prove.
	testutil.WaitFor(t, 10*time.Second, "B to stop answering from memory", func() bool {
		_, err := b.Revoked(ctx, "not-revoked")
		return err != nil
	})

	srv.Restart()
	// Through A, as soon as Redis takes it, while B reconnects.
	testutil.WaitFor(t, 10*time.Second, "A to revoke after the restart", func() bool {
		return a.Revoke(ctx, "during", time.Now().Add(time.Hour)) == nil
	})
	testutil.WaitFor(t, 10*time.Second, "B to be healthy again", func() bool { return b.Health().Healthy })
	for _, id := range []string{"before", "during"} {
		if r, err := b.Revoked(ctx, id); err != nil || !r {
			t.Fatalf("after the restart B says %s is revoked: %v, %v", id, r, err)
		}
	}
}

// Proof 3: an expired revocation leaves B's memory.
func TestLocalCacheForgetsExpiredRevocations(t *testing.T) {
	srv := redistest.Start(t)
	a := newRevocations(t, fastClient(t, srv), stdPrefix)
	b := cachedRevocations(t, fastClient(t, srv), 1000)
	ctx := t.Context()
	until := time.Now().Add(500 * time.Millisecond)
	if err := a.Revoke(ctx, "short", until); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, "B to hold it", func() bool { return b.Health().Entries == 1 })
	testutil.WaitFor(t, 10*time.Second, "B to forget it after it expired", func() bool { return b.Health().Entries == 0 })
	if time.Now().Before(until) {
		t.Fatal("forgotten before its time")
	}
	if r, err := b.Revoked(ctx, "short"); err != nil || r {
		t.Fatalf("Revoked after expiry = %v, %v", r, err)
	}
}

// Proof 4: with more revocations than the cache holds, B asks Redis and
// stays correct.
func TestLocalCacheOverflowFallsBack(t *testing.T) {
	srv := redistest.Start(t)
	a := newRevocations(t, srv.Client(t), stdPrefix)
	b := cachedRevocations(t, srv.Client(t), 5)
	ctx := t.Context()
	for i := range 10 {
		if err := a.Revoke(ctx, "s"+strconv.Itoa(i), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	testutil.WaitFor(t, 5*time.Second, "B to give up its copy", func() bool { return !b.Health().Healthy })
	for i := range 10 {
		if r, err := b.Revoked(ctx, "s"+strconv.Itoa(i)); err != nil || !r {
			t.Fatalf("s%d: Revoked = %v, %v", i, r, err)
		}
	}
	if r, _ := b.Revoked(ctx, "other"); r {
		t.Fatal("a session never revoked is revoked")
	}
	if st := b.Health(); st.Fallbacks < 11 || st.Entries > 5 {
		t.Fatalf("stats %+v, want the checks to have asked Redis and the copy bounded", st)
	}
}

func TestLocalCacheConfig(t *testing.T) {
	rdb := unusedClient(t)
	tests := []struct {
		name string
		opts []redisstore.RevocationsOption
	}{
		{"a cache of 0", []redisstore.RevocationsOption{redisstore.WithLocalCache(0)}},
		{"a nil logger", []redisstore.RevocationsOption{redisstore.WithLocalCache(10), redisstore.WithLogger(nil)}},
		{"a nil hook", []redisstore.RevocationsOption{redisstore.WithLocalCache(10), redisstore.WithOnCacheHealth(nil)}},
		{"a hook without a cache", []redisstore.RevocationsOption{redisstore.WithOnCacheHealth(func(redisstore.CacheHealth) {})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := redisstore.NewRevocations(rdb, stdPrefix, tt.opts...); !errors.Is(err, redisstore.ErrInvalidConfig) {
				t.Fatalf("NewRevocations = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// Proof 5: on a real three-master Redis Cluster, revocations whose keys
// live on every master reach a local cache subscribed through one node.
func TestLocalCacheOnACluster(t *testing.T) {
	cluster := redistest.StartCluster(t)
	a := newRevocations(t, cluster.Client(t), stdPrefix)
	b := cachedRevocations(t, cluster.Client(t), 1000)
	ctx := t.Context()
	const n = 60
	for i := range n {
		if err := a.Revoke(ctx, "s"+strconv.Itoa(i), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	for _, node := range cluster.Nodes {
		if size := node.Client(t).DBSize(ctx).Val(); size == 0 {
			t.Fatalf("master %s holds no revocation: the test would not cross nodes", node.Addr())
		}
	}
	testutil.WaitFor(t, 5*time.Second, "B to hear of every revocation", func() bool { return b.Health().Entries == n })
	for i := range n {
		if r, err := b.Revoked(ctx, "s"+strconv.Itoa(i)); err != nil || !r {
			t.Fatalf("s%d: %v, %v", i, r, err)
		}
	}
	if st := b.Health(); !st.Healthy || st.Fallbacks != 0 {
		t.Fatalf("stats %+v: the answers did not all come from memory", st)
	}
	// A cache that starts later loads what is already there, from every
	// master.
	c := cachedRevocations(t, cluster.Client(t), 1000)
	if st := c.Health(); st.Entries != n {
		t.Fatalf("a new instance loaded %d of %d revocations", st.Entries, n)
	}
}

// TestRevokeThatRedisRefusesIsNotPublished: the write and the publish are
// one atomic step, so an instance never learns of a revocation that Redis
// does not hold. Here Redis refuses every write (out of memory).
func TestRevokeThatRedisRefusesIsNotPublished(t *testing.T) {
	srv := redistest.Start(t)
	admin := srv.Client(t)
	a := newRevocations(t, srv.Client(t), stdPrefix)
	b := cachedRevocations(t, srv.Client(t), 1000)
	ctx := t.Context()
	if err := admin.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.ConfigSet(context.Background(), "maxmemory", "0") })
	if err := a.Revoke(ctx, "refused", time.Now().Add(time.Hour)); err == nil {
		t.Fatal("Revoke succeeded on a Redis out of memory")
	}
	// A marker revoked after it, which B does hear, so that B has had
	// every chance to hear the first.
	if err := admin.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := a.Revoke(ctx, "marker", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, "B to hear the marker", func() bool { r, _ := b.Revoked(ctx, "marker"); return r })
	if r, _ := b.Revoked(ctx, "refused"); r {
		t.Fatal("B holds a revocation that Redis refused")
	}
}

// TestLocalCacheSeesItsOwnRevocationAtOnce: once Revoke returns nil, the
// same instance's Revoked says true, without waiting for its own message.
func TestLocalCacheSeesItsOwnRevocationAtOnce(t *testing.T) {
	srv := redistest.Start(t)
	b := cachedRevocations(t, srv.Client(t), 10_000)
	ctx := t.Context()
	missed := 0
	for i := range 500 {
		id := "own" + strconv.Itoa(i)
		if err := b.Revoke(ctx, id, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if r, err := b.Revoked(ctx, id); err != nil {
			t.Fatal(err)
		} else if !r {
			missed++
		}
	}
	if missed != 0 {
		t.Fatalf("%d of 500 Revoked calls right after the same instance's Revoke said \"not revoked\"", missed)
	}
}

// TestLocalCacheReconcilesWithRedis: Redis is the truth. A revocation that
// reaches Redis without its message (an operator's SET, a message lost on
// a cluster bus) is honoured by a healthy cache at its next
// reconciliation, and one deleted from Redis is forgotten.
func TestLocalCacheReconcilesWithRedis(t *testing.T) {
	srv := redistest.Start(t)
	admin := srv.Client(t)
	a := newRevocations(t, srv.Client(t), stdPrefix)
	b := cachedRevocations(t, srv.Client(t), 1000, redisstore.WithReconcileInterval(100*time.Millisecond))
	ctx := t.Context()

	until := time.Now().Add(time.Hour).UnixMilli()
	if err := admin.Set(ctx, "centralauth:revoked:set-by-hand", until, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.PExpireAt(ctx, "centralauth:revoked:set-by-hand", time.UnixMilli(until)).Err(); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "B's copy to hold the revocation set by hand", func() bool { return b.Health().Entries == 1 })
	if r, err := b.Revoked(ctx, "set-by-hand"); err != nil || !r {
		t.Fatalf("Revoked(set-by-hand) = %v, %v", r, err)
	}

	if err := a.Revoke(ctx, "undone", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "B to hear of the revocation", func() bool { return b.Health().Entries == 2 })
	if err := admin.Del(ctx, "centralauth:revoked:undone").Err(); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "B to forget the revocation deleted from Redis", func() bool { return b.Health().Entries == 1 })
	if r, err := b.Revoked(ctx, "undone"); err != nil || r {
		t.Fatalf("Revoked(undone) = %v, %v after its key was deleted", r, err)
	}
	if st := b.Health(); !st.Healthy || st.Fallbacks != 0 {
		t.Fatalf("stats %+v: want the answers from a healthy copy", st)
	}
}

// TestLocalCacheBelievesOnlyWhatRedisHolds: a message on the channel is a
// hint. A bare PUBLISH, with no revocation in Redis behind it, neither
// logs anyone out nor, in numbers beyond maxEntries, turns the cache off.
func TestLocalCacheBelievesOnlyWhatRedisHolds(t *testing.T) {
	srv := redistest.Start(t)
	admin := srv.Client(t)
	a := newRevocations(t, srv.Client(t), stdPrefix)
	b := cachedRevocations(t, srv.Client(t), 5)
	ctx := t.Context()
	until := strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)
	for _, id := range []string{"victim", "j1", "j2", "j3", "j4", "j5", "j6", "j7", "j8", "j9"} {
		if err := admin.Publish(ctx, "centralauth:revocations", until+" "+id).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// A real revocation after them, on the same channel: once B holds
	// it, B has handled every message before it.
	if err := a.Revoke(ctx, "real", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "B to hold the real revocation, and only it", func() bool {
		st := b.Health()
		return st.Healthy && st.Entries == 1
	}, func() string { return fmt.Sprintf("stats %+v", b.Health()) })
	for id, want := range map[string]bool{"victim": false, "j9": false, "real": true} {
		if r, err := b.Revoked(ctx, id); err != nil || r != want {
			t.Errorf("Revoked(%s) = %v, %v; want %v", id, r, err, want)
		}
	}
}

// TestLocalCacheReconnectBackoffStartsOver: after a connection that
// reached a healthy copy is lost, the next reconnect waits the shortest
// backoff again, however many were lost before.
func TestLocalCacheReconnectBackoffStartsOver(t *testing.T) {
	srv := redistest.Start(t)
	admin := srv.Client(t)
	var logs testutil.Buffer
	b := cachedRevocations(t, fastClient(t, srv), 1000, redisstore.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	ctx := t.Context()
	attempts := func() []float64 {
		var got []float64
		for line := range strings.Lines(logs.String()) {
			var rec struct {
				Msg     string
				Attempt float64
			}
			if json.Unmarshal([]byte(line), &rec) == nil && strings.HasPrefix(rec.Msg, "local revocation cache unhealthy") {
				got = append(got, rec.Attempt)
			}
		}
		return got
	}
	for drop := 1; drop <= 8; drop++ {
		testutil.WaitFor(t, 20*time.Second, "B to be healthy", func() bool { return b.Health().Healthy })
		if err := admin.ClientKillByFilter(ctx, "TYPE", "pubsub").Err(); err != nil {
			t.Fatal(err)
		}
		testutil.WaitFor(t, 20*time.Second, "B to notice the drop", func() bool { return len(attempts()) >= drop })
	}
	for i, n := range attempts() {
		if n != 1 {
			t.Errorf("drop %d: reconnect attempt %v, want 1: the backoff did not start over after a healthy connection", i+1, n)
		}
	}
}

// TestOnCacheHealth: the hook hears the copy become healthy, each failed
// attempt while Redis is down, with its cause and count, and the copy
// healthy again once Redis is back.
func TestOnCacheHealth(t *testing.T) {
	srv := redistest.Start(t)
	var (
		mu  sync.Mutex
		got []redisstore.CacheHealth
	)
	heard := func() []redisstore.CacheHealth {
		mu.Lock()
		defer mu.Unlock()
		return append([]redisstore.CacheHealth(nil), got...)
	}
	describe := func() string { return fmt.Sprintf("heard %+v", heard()) }
	cachedRevocations(t, fastClient(t, srv), 1000, redisstore.WithOnCacheHealth(func(h redisstore.CacheHealth) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, h)
	}))
	testutil.WaitFor(t, 10*time.Second, "the hook to hear the copy healthy", func() bool { return len(heard()) == 1 }, describe)

	srv.Kill()
	testutil.WaitFor(t, 10*time.Second, "the hook to hear two failed attempts", func() bool { return len(heard()) >= 3 }, describe)
	srv.Restart()
	testutil.WaitFor(t, 20*time.Second, "the hook to hear the copy healthy again", func() bool {
		h := heard()
		return h[len(h)-1].Healthy
	}, describe)

	h := heard()
	if !h[0].Healthy || h[0].Err != nil || h[0].Attempt != 0 {
		t.Fatalf("first heard %+v, want healthy", h[0])
	}
	for i, e := range h[1 : len(h)-1] {
		if e.Healthy || e.Err == nil || e.Attempt != i+1 {
			t.Fatalf("heard %+v as failure %d; want unhealthy, with its cause and attempt %d", e, i+1, i+1)
		}
	}
	if last := h[len(h)-1]; last.Err != nil || last.Attempt != 0 {
		t.Fatalf("last heard %+v, want healthy", last)
	}
}
