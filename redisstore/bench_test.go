package redisstore_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/internal/redistest"
	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/redisstore"
	"github.com/centralauth-go/logout/session"
)

// BenchmarkLoad is issue 12's target: Store.Load with the cached Redis
// list against Load with the memory list (≤ 1.2×), with one caller and
// with two; the Redis list without the cache is the "before".
func BenchmarkLoad(b *testing.B) {
	srv := redistest.Start(b)
	hashKey := []byte(strings.Repeat("k", 32))
	memory, err := session.NewMemoryRevocations(100_000)
	if err != nil {
		b.Fatal(err)
	}
	direct, err := redisstore.NewRevocations(srv.Client(b), "{bench}:")
	if err != nil {
		b.Fatal(err)
	}
	cached, err := redisstore.NewRevocations(srv.Client(b), "{bench}:", redisstore.WithLocalCache(100_000),
		redisstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	defer cached.Close()
	testutil.WaitFor(b, 10*time.Second, "the cache to load", func() bool { return cached.Health().Healthy })
	for _, bc := range []struct {
		name string
		list session.RevocationList
	}{{"revocations=memory", memory}, {"revocations=redis-cached", cached}, {"revocations=redis", direct}} {
		store, err := session.NewStore(hashKey, session.WithRevocations(bc.list))
		if err != nil {
			b.Fatal(err)
		}
		rec := httptest.NewRecorder()
		if err := store.Save(rec, &session.Session{AccessToken: strings.Repeat("t", 900)}); err != nil {
			b.Fatal(err)
		}
		cookie := rec.Result().Cookies()[0]
		for _, parallel := range []bool{false, true} {
			name := bc.name + "/callers=1"
			if parallel {
				name = bc.name + "/callers=GOMAXPROCS"
			}
			b.Run(name, func(b *testing.B) {
				load := func() {
					r := httptest.NewRequest(http.MethodGet, "/", nil)
					r.AddCookie(cookie)
					if _, err := store.Load(r); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				if !parallel {
					for b.Loop() {
						load()
					}
					return
				}
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						load()
					}
				})
			})
		}
	}
}

// BenchmarkResync reports what loading 100,000 revocations into the local
// cache costs: the time, and the live heap it adds (B/entry).
func BenchmarkResync(b *testing.B) {
	srv := redistest.Start(b)
	rdb := srv.Client(b)
	const n = 100_000
	ctx := context.Background()
	pipe := rdb.Pipeline()
	until := strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)
	for i := range n {
		pipe.Set(ctx, "{resync}:revoked:"+strconv.Itoa(1e9+i)+"0123456789abcdef0123456", until, time.Hour)
		if i%10_000 == 9_999 {
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		r, err := redisstore.NewRevocations(rdb, "{resync}:", redisstore.WithLocalCache(200_000),
			redisstore.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		for !r.Health().Healthy {
			time.Sleep(time.Millisecond)
		}
		took := time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		if st := r.Health(); st.Entries != n {
			b.Fatalf("loaded %d of %d", st.Entries, n)
		}
		b.ReportMetric(took.Seconds()*1000, "ms/resync")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/entry")
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/(1<<20), "MiB-allocated")
		_ = r.Close()
	}
}

// BenchmarkPropagation: the time from a Revoke through instance A to the
// refusal, from memory, on instance B (impl=cache), against the floor of
// a bare PUBLISH to a go-redis subscriber (impl=publish). One op is one
// revocation; ns/op is its latency.
func BenchmarkPropagation(b *testing.B) {
	srv := redistest.Start(b)
	ctx := context.Background()
	b.Run("impl=publish", func(b *testing.B) {
		pub := srv.Client(b)
		ps := srv.Client(b).Subscribe(ctx, "{bench}:floor")
		defer ps.Close()
		if _, err := ps.Receive(ctx); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := pub.Publish(ctx, "{bench}:floor", "x").Err(); err != nil {
				b.Fatal(err)
			}
			if _, err := ps.ReceiveMessage(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=cache", func(b *testing.B) {
		a, err := redisstore.NewRevocations(srv.Client(b), "{bench}:")
		if err != nil {
			b.Fatal(err)
		}
		cached, err := redisstore.NewRevocations(srv.Client(b), "{bench}:", redisstore.WithLocalCache(1<<20),
			redisstore.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		defer cached.Close()
		testutil.WaitFor(b, 10*time.Second, "the cache to load", func() bool { return cached.Health().Healthy })
		i := 0
		for b.Loop() {
			i++
			id := "p" + strconv.Itoa(i)
			if err := a.Revoke(ctx, id, time.Now().Add(time.Hour)); err != nil {
				b.Fatal(err)
			}
			for {
				if r, err := cached.Revoked(ctx, id); err != nil {
					b.Fatal(err)
				} else if r {
					break
				}
				runtime.Gosched()
			}
		}
		if st := cached.Health(); st.Fallbacks != 0 {
			b.Logf("%d checks fell back to Redis", st.Fallbacks)
		}
	})
}
