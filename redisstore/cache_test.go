package redisstore_test

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
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

func cachedRevocations(t *testing.T, rdb redis.UniversalClient, max int) *redisstore.Revocations {
	t.Helper()
	r := newRevocations(t, rdb, redisstore.WithLocalCache(max), redisstore.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))))
	t.Cleanup(func() { _ = r.Close() })
	testutil.WaitFor(t, 10*time.Second, "the local cache to load", func() bool { return r.Stats().Healthy })
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

// Proof 1: a logout through A is refused on B, from B's memory, within
// 50 ms at p99 over 1,000 logouts; and a healthy B sends Redis nothing.
func TestLocalCacheSeesRevocationsFromOtherInstances(t *testing.T) {
	srv := redistest.Start(t)
	a := newRevocations(t, srv.Client(t))
	b := cachedRevocations(t, srv.Client(t), 10_000)
	ctx := t.Context()

	var lat []time.Duration
	for i := range 1000 {
		id := "s" + strconv.Itoa(i)
		start := time.Now()
		if err := a.Revoke(ctx, id, start.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for {
			if r, err := b.Revoked(ctx, id); err != nil {
				t.Fatal(err)
			} else if r {
				break
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("B never saw revocation %d", i)
			}
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	t.Logf("revoke on A to refused on B, 1,000 logouts: p50 %v, p99 %v, max %v", p50, p99, lat[len(lat)-1])
	if p99 > 50*time.Millisecond {
		t.Fatalf("p99 %v, want at most 50 ms", p99)
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
	if st := b.Stats(); !st.Healthy || st.Entries != 1000 || st.Fallbacks != 0 || st.LastResync.IsZero() {
		t.Fatalf("stats %+v", st)
	}
}

// Proof 2: with Redis gone, B stops answering from memory within the
// window; a revocation made while B reconnects is refused once B is back.
func TestLocalCacheAcrossARedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	a := newRevocations(t, fastClient(t, srv))
	b := cachedRevocations(t, fastClient(t, srv), 1000)
	ctx := t.Context()
	if err := a.Revoke(ctx, "before", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, "B to hear of it", func() bool { r, _ := b.Revoked(ctx, "before"); return r })

	srv.Kill()
	killed := time.Now()
	var unavailable time.Duration
	testutil.WaitFor(t, 10*time.Second, "B to stop answering from memory", func() bool {
		_, err := b.Revoked(ctx, "not-revoked")
		unavailable = time.Since(killed)
		return err != nil
	})
	t.Logf("Redis killed: B's checks failed after %v (window: two read timeouts, %v)", unavailable, 2*window)
	if unavailable > 2*window+500*time.Millisecond {
		t.Fatalf("B answered from memory for %v after Redis died", unavailable)
	}

	srv.Restart()
	// Through A, as soon as Redis takes it, while B reconnects.
	testutil.WaitFor(t, 10*time.Second, "A to revoke after the restart", func() bool {
		return a.Revoke(ctx, "during", time.Now().Add(time.Hour)) == nil
	})
	testutil.WaitFor(t, 10*time.Second, "B to be healthy again", func() bool { return b.Stats().Healthy })
	for _, id := range []string{"before", "during"} {
		if r, err := b.Revoked(ctx, id); err != nil || !r {
			t.Fatalf("after the restart B says %s is revoked: %v, %v", id, r, err)
		}
	}
}

// Proof 3: an expired revocation leaves B's memory.
func TestLocalCacheForgetsExpiredRevocations(t *testing.T) {
	srv := redistest.Start(t)
	a := newRevocations(t, fastClient(t, srv))
	b := cachedRevocations(t, fastClient(t, srv), 1000)
	ctx := t.Context()
	until := time.Now().Add(500 * time.Millisecond)
	if err := a.Revoke(ctx, "short", until); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, "B to hold it", func() bool { return b.Stats().Entries == 1 })
	testutil.WaitFor(t, 10*time.Second, "B to forget it after it expired", func() bool { return b.Stats().Entries == 0 })
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
	a := newRevocations(t, srv.Client(t))
	b := cachedRevocations(t, srv.Client(t), 5)
	ctx := t.Context()
	for i := range 10 {
		if err := a.Revoke(ctx, "s"+strconv.Itoa(i), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	testutil.WaitFor(t, 5*time.Second, "B to give up its copy", func() bool { return !b.Stats().Healthy })
	for i := range 10 {
		if r, err := b.Revoked(ctx, "s"+strconv.Itoa(i)); err != nil || !r {
			t.Fatalf("s%d: Revoked = %v, %v", i, r, err)
		}
	}
	if r, _ := b.Revoked(ctx, "other"); r {
		t.Fatal("a session never revoked is revoked")
	}
	if st := b.Stats(); st.Fallbacks < 11 || st.Entries > 5 {
		t.Fatalf("stats %+v, want the checks to have asked Redis and the copy bounded", st)
	}
}

func TestLocalCacheConfig(t *testing.T) {
	rdb := unusedClient(t)
	if _, err := redisstore.NewRevocations(rdb, redisstore.WithLocalCache(0)); err == nil {
		t.Fatal("WithLocalCache(0) accepted")
	}
	if _, err := redisstore.NewQueue(rdb, encKey, redisstore.WithLocalCache(10)); err == nil {
		t.Fatal("NewQueue took WithLocalCache")
	}
}

// Proof 5: on a real three-master Redis Cluster, revocations whose keys
// live on every master reach a local cache subscribed through one node.
func TestLocalCacheOnACluster(t *testing.T) {
	cluster := redistest.StartCluster(t)
	a := newRevocations(t, cluster.Client(t))
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
	testutil.WaitFor(t, 5*time.Second, "B to hear of every revocation", func() bool { return b.Stats().Entries == n })
	for i := range n {
		if r, err := b.Revoked(ctx, "s"+strconv.Itoa(i)); err != nil || !r {
			t.Fatalf("s%d: %v, %v", i, r, err)
		}
	}
	if st := b.Stats(); !st.Healthy || st.Fallbacks != 0 {
		t.Fatalf("stats %+v: the answers did not all come from memory", st)
	}
	// A cache that starts later loads what is already there, from every
	// master.
	c := cachedRevocations(t, cluster.Client(t), 1000)
	if st := c.Stats(); st.Entries != n {
		t.Fatalf("a new instance loaded %d of %d revocations", st.Entries, n)
	}
}

// TestRevokeThatRedisRefusesIsNotPublished: the write and the publish are
// one atomic step, so an instance never learns of a revocation that Redis
// does not hold. Here Redis refuses every write (out of memory).
func TestRevokeThatRedisRefusesIsNotPublished(t *testing.T) {
	srv := redistest.Start(t)
	admin := srv.Client(t)
	a := newRevocations(t, srv.Client(t))
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
	// A marker published after it, which B does hear, so that B has had
	// every chance to hear the first.
	if err := admin.Publish(ctx, "centralauth:revocations", strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)+" marker").Err(); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, "B to hear the marker", func() bool { r, _ := b.Revoked(ctx, "marker"); return r })
	if r, _ := b.Revoked(ctx, "refused"); r {
		t.Fatal("B holds a revocation that Redis refused")
	}
}
