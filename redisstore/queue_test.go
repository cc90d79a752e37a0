package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/centralauth-go/logout/internal/redistest"
	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/outbox"
	"github.com/centralauth-go/logout/redisstore"
	"github.com/centralauth-go/logout/remote"
)

var t0 = time.UnixMilli(1_900_000_000_000) // whole milliseconds, like Redis scores

const lease = 30 * time.Second

func mustEnqueue(t *testing.T, q *redisstore.Queue, token string, at time.Time) {
	t.Helper()
	if err := q.Enqueue(t.Context(), token, at); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
}

func mustClaim(t *testing.T, q *redisstore.Queue, now time.Time) outbox.Entry {
	t.Helper()
	e, ok, err := q.Claim(t.Context(), now, lease)
	if err != nil || !ok {
		t.Fatalf("Claim at %v: ok %v, err %v; want an entry", now.Sub(t0), ok, err)
	}
	return e
}

func mustNotClaim(t *testing.T, q *redisstore.Queue, now time.Time) {
	t.Helper()
	e, ok, err := q.Claim(t.Context(), now, lease)
	if err != nil || ok {
		t.Fatalf("Claim at %v = %v, %v, %v; want nothing", now.Sub(t0), e, ok, err)
	}
}

func wantLen(t *testing.T, q *redisstore.Queue, want int64) {
	t.Helper()
	if n, err := q.Len(t.Context()); err != nil || n != want {
		t.Fatalf("Len = %d, %v; want %d", n, err, want)
	}
}

func TestQueueClaimAckRelease(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	tests := []struct {
		name string
		run  func(t *testing.T, q *redisstore.Queue)
	}{
		{"empty queue has nothing to claim", func(t *testing.T, q *redisstore.Queue) {
			mustNotClaim(t, q, t0)
			wantLen(t, q, 0)
		}},
		{"claim returns the entry as enqueued", func(t *testing.T, q *redisstore.Queue) {
			mustEnqueue(t, q, "tok-1", t0)
			e := mustClaim(t, q, t0)
			if e.Token != "tok-1" || !e.EnqueuedAt.Equal(t0) || e.Attempts != 0 || e.ID == "" || e.Lease == "" {
				t.Fatalf("claimed %+v", e)
			}
			wantLen(t, q, 1) // claimed entries count
		}},
		{"not due before its time", func(t *testing.T, q *redisstore.Queue) {
			mustEnqueue(t, q, "tok", t0)
			mustNotClaim(t, q, t0.Add(-time.Millisecond))
			mustClaim(t, q, t0)
		}},
		{"claimed entry is hidden for the lease", func(t *testing.T, q *redisstore.Queue) {
			mustEnqueue(t, q, "tok", t0)
			mustClaim(t, q, t0)
			mustNotClaim(t, q, t0)
			mustNotClaim(t, q, t0.Add(lease-time.Millisecond))
		}},
		{"lease expiry makes it claimable again, under a new lease", func(t *testing.T, q *redisstore.Queue) {
			mustEnqueue(t, q, "tok", t0)
			first := mustClaim(t, q, t0)
			second := mustClaim(t, q, t0.Add(lease))
			if second.ID != first.ID || second.Lease == first.Lease || second.Token != "tok" {
				t.Fatalf("reclaimed %+v after %+v", second, first)
			}
		}},
		{"ack removes", func(t *testing.T, q *redisstore.Queue) {
			mustEnqueue(t, q, "tok", t0)
			e := mustClaim(t, q, t0)
			if err := q.Ack(t.Context(), e); err != nil {
				t.Fatal(err)
			}
			wantLen(t, q, 0)
			mustNotClaim(t, q, t0.Add(time.Hour))
		}},
		{"release schedules the next attempt and records attempts", func(t *testing.T, q *redisstore.Queue) {
			mustEnqueue(t, q, "tok", t0)
			e := mustClaim(t, q, t0)
			e.Attempts = 3
			next := t0.Add(time.Minute)
			if err := q.Release(t.Context(), e, next); err != nil {
				t.Fatal(err)
			}
			mustNotClaim(t, q, next.Add(-time.Millisecond))
			again := mustClaim(t, q, next)
			if again.Attempts != 3 || again.Token != "tok" || !again.EnqueuedAt.Equal(t0) {
				t.Fatalf("after release claimed %+v", again)
			}
		}},
		{"release can make it visible before the lease ends", func(t *testing.T, q *redisstore.Queue) {
			mustEnqueue(t, q, "tok", t0)
			e := mustClaim(t, q, t0)
			if err := q.Release(t.Context(), e, t0); err != nil {
				t.Fatal(err)
			}
			mustClaim(t, q, t0)
		}},
		{"stale lease cannot ack", func(t *testing.T, q *redisstore.Queue) {
			mustEnqueue(t, q, "tok", t0)
			stale := mustClaim(t, q, t0)
			current := mustClaim(t, q, t0.Add(lease)) // stale's lease ran out
			if err := q.Ack(t.Context(), stale); err != nil {
				t.Fatal(err)
			}
			wantLen(t, q, 1)
			mustNotClaim(t, q, t0.Add(lease)) // still hidden under current's lease
			if err := q.Ack(t.Context(), current); err != nil {
				t.Fatal(err)
			}
			wantLen(t, q, 0)
		}},
		{"stale lease cannot release", func(t *testing.T, q *redisstore.Queue) {
			mustEnqueue(t, q, "tok", t0)
			stale := mustClaim(t, q, t0)
			current := mustClaim(t, q, t0.Add(lease))
			stale.Attempts = 9
			if err := q.Release(t.Context(), stale, t0); err != nil {
				t.Fatal(err)
			}
			mustNotClaim(t, q, t0.Add(lease)) // the release was ignored
			current.Attempts = 1
			if err := q.Release(t.Context(), current, t0.Add(lease)); err != nil {
				t.Fatal(err)
			}
			if e := mustClaim(t, q, t0.Add(lease)); e.Attempts != 1 {
				t.Fatalf("attempts %d, want 1 (the stale release's 9 ignored)", e.Attempts)
			}
		}},
		{"a released lease cannot ack", func(t *testing.T, q *redisstore.Queue) {
			mustEnqueue(t, q, "tok", t0)
			e := mustClaim(t, q, t0)
			if err := q.Release(t.Context(), e, t0); err != nil {
				t.Fatal(err)
			}
			if err := q.Ack(t.Context(), e); err != nil {
				t.Fatal(err)
			}
			wantLen(t, q, 1)
			if err := q.Ack(t.Context(), outbox.Entry{ID: e.ID}); err != nil { // no lease at all
				t.Fatal(err)
			}
			wantLen(t, q, 1)
		}},
		{"longest due first", func(t *testing.T, q *redisstore.Queue) {
			mustEnqueue(t, q, "second", t0.Add(time.Second))
			mustEnqueue(t, q, "first", t0)
			mustEnqueue(t, q, "third", t0.Add(2*time.Second))
			for _, want := range []string{"first", "second", "third"} {
				if e := mustClaim(t, q, t0.Add(time.Minute)); e.Token != want {
					t.Fatalf("claimed %q, want %q", e.Token, want)
				}
			}
		}},
		{"empty token", func(t *testing.T, q *redisstore.Queue) {
			if err := q.Enqueue(t.Context(), "", t0); !errors.Is(err, remote.ErrNoToken) {
				t.Fatalf("Enqueue(\"\") = %v, want remote.ErrNoToken", err)
			}
			wantLen(t, q, 0)
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newQueue(t, rdb, redisstore.WithPrefix(fmt.Sprintf("{t%d}:", i))))
		})
	}
}

// TestQueueConcurrentClaims: many workers claim at once; each entry goes to
// exactly one of them.
func TestQueueConcurrentClaims(t *testing.T) {
	srv := redistest.Start(t)
	const entries, workers = 300, 16
	q := newQueue(t, srv.Client(t))
	for i := range entries {
		mustEnqueue(t, q, fmt.Sprintf("tok-%d", i), t0)
	}
	var (
		mu      sync.Mutex
		byID    = map[string]int{}
		byToken = map[string]int{}
		wg      sync.WaitGroup
	)
	// Each worker gets its own client, so claims really race in Redis.
	for range workers {
		wq := newQueue(t, srv.Client(t))
		wg.Go(func() {
			for {
				e, ok, err := wq.Claim(context.Background(), t0, lease)
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				byID[e.ID]++
				byToken[e.Token]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(byID) != entries || len(byToken) != entries {
		t.Fatalf("claimed %d IDs and %d tokens, want %d of each", len(byID), len(byToken), entries)
	}
	for id, n := range byID {
		if n != 1 {
			t.Fatalf("entry %s handed out %d times", id, n)
		}
	}
}

func TestQueueEncryptionAtRest(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	q := newQueue(t, rdb)
	tokens := []string{
		"eyJhbGciOiJBMjU2S1ciLCJlbmMiOiJBMjU2R0NNIn0.c2VjcmV0LWtleS1tYXRlcmlhbC0x.aXYtMTIzNDU2Nzg5.Y2lwaGVydGV4dC1ib2R5LWZvci10ZXN0.dGFnLXRhZy10YWctdGFn",
		"plain-opaque-access-token-0123456789",
	}
	for _, tok := range tokens {
		mustEnqueue(t, q, tok, t0)
	}
	e := mustClaim(t, q, t0) // a claimed entry holds a lease: check that state too
	e.Attempts = 1
	if err := q.Release(t.Context(), e, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	dump := srv.Dump(t)
	entryKeys := 0
	for k, v := range dump {
		if strings.HasPrefix(k, "centralauth:outbox:e:") {
			entryKeys++
			if !strings.Contains(v, "tok:") {
				t.Fatalf("entry %s has no sealed token: %s", k, v)
			}
		}
	}
	if entryKeys != len(tokens) {
		t.Fatalf("%d entry hashes in Redis, want %d: the scan would prove nothing", entryKeys, len(tokens))
	}
	assertNoSecretInRedis(t, srv, append(tokens, string(encKey))...)
	// And what was sealed opens to the same tokens.
	got := map[string]bool{}
	for range tokens {
		got[mustClaim(t, q, t0.Add(time.Minute)).Token] = true
	}
	for _, tok := range tokens {
		if !got[tok] {
			t.Fatalf("token %d did not survive sealing", len(tok))
		}
	}
}

// TestQueueUnreadableEntries tampers with the first of two entries in
// Redis: Claim reports it, disposes of it, and the queue goes on.
func TestQueueUnreadableEntries(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx := t.Context()
	otherKey := bytes.Repeat([]byte{0x17}, 32)
	sealOther := func(t *testing.T, id, token string) []byte {
		b, err := redisstore.Seal(otherKey, id, token)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	later := t0.Add(time.Second)
	tests := []struct {
		name string
		// tamper returns the new sealed token of entry a, given both
		// entries' IDs and sealed tokens.
		tamper    func(t *testing.T, a, b string, sealedB []byte) any
		claimAt   time.Time
		wantOwner bool // an instance with otherKey still gets entry a
	}{
		{
			name:    "sealed token of another entry",
			tamper:  func(t *testing.T, a, b string, sealedB []byte) any { return sealedB },
			claimAt: later,
		},
		{
			name: "ciphertext changed",
			tamper: func(t *testing.T, a, b string, sealedB []byte) any {
				good, err := redisstore.Seal(encKey, a, "tok-a")
				if err != nil {
					t.Fatal(err)
				}
				good[len(good)-1] ^= 1
				return good
			},
			claimAt: later,
		},
		{
			name:    "truncated",
			tamper:  func(t *testing.T, a, b string, sealedB []byte) any { return "x" },
			claimAt: later,
		},
		{
			name:      "sealed under another key is left for an instance that has it",
			tamper:    func(t *testing.T, a, b string, sealedB []byte) any { return sealOther(t, a, "tok-a") },
			claimAt:   later,
			wantOwner: true,
		},
		{
			name:    "sealed under another key and past the maximum age is dropped",
			tamper:  func(t *testing.T, a, b string, sealedB []byte) any { return sealOther(t, a, "tok-a") },
			claimAt: t0.Add(24*time.Hour + time.Second),
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := fmt.Sprintf("{u%d}:", i)
			key := func(id string) string { return prefix + "outbox:e:" + id }
			q := newQueue(t, rdb, redisstore.WithPrefix(prefix))
			mustEnqueue(t, q, "tok-a", t0)
			mustEnqueue(t, q, "tok-b", t0.Add(time.Millisecond))
			ids := rdb.ZRange(ctx, prefix+"outbox:due", 0, -1).Val()
			sealedB := []byte(rdb.HGet(ctx, key(ids[1]), "tok").Val())
			rdb.HSet(ctx, key(ids[0]), "tok", tt.tamper(t, ids[0], ids[1], sealedB))

			_, ok, err := q.Claim(ctx, tt.claimAt, lease)
			if ok || !errors.Is(err, outbox.ErrUnreadableEntry) {
				t.Fatalf("Claim of the tampered entry: ok %v, err %v; want ErrUnreadableEntry", ok, err)
			}
			if strings.Contains(err.Error(), "tok-") || !strings.Contains(err.Error(), ids[0]) {
				t.Fatalf("error %q should name the entry and no token", err)
			}
			wantLeft := int64(1)
			if tt.wantOwner {
				wantLeft = 2
			}
			wantLen(t, q, wantLeft)
			// Not wedged: the next claim gets the readable entry.
			b := mustClaim(t, q, tt.claimAt)
			if b.Token != "tok-b" {
				t.Fatalf("next claim got %q, want tok-b", b.Token)
			}
			if err := q.Ack(ctx, b); err != nil {
				t.Fatal(err)
			}
			// Security finding 3: an entry left for another key's owner
			// stays hidden for the lease, so a worker without the key does
			// not claim it again and again.
			if _, ok, err := q.Claim(ctx, tt.claimAt, lease); ok || err != nil {
				t.Fatalf("a second claim at once: ok %v, err %v; want nothing due", ok, err)
			}
			if tt.wantOwner {
				owner, err := redisstore.NewQueue(rdb, otherKey, redisstore.WithPrefix(prefix))
				if err != nil {
					t.Fatal(err)
				}
				if e := mustClaim(t, owner, tt.claimAt.Add(lease)); e.Token != "tok-a" || e.Attempts != 0 {
					t.Fatalf("owner claimed %+v, want tok-a with no attempt counted", e)
				}
			}
		})
	}
}

// TestQueueDropsOutOfRangeFields is security finding 2: an entry whose
// attempts were negative reached the outbox's backoff, where the shift
// panicked and took the app down, again after every restart.
func TestQueueDropsOutOfRangeFields(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx := t.Context()
	tests := []struct {
		name, field, value string
	}{
		{"negative attempts", "att", "-1"},
		{"huge attempts", "att", "99999999999"},
		{"attempts not a number", "att", "two"},
		{"negative enqueued-at", "enq", "-5"},
		{"zero enqueued-at", "enq", "0"},
		{"enqueued-at past the year 9999", "enq", "999999999999999999"},
		{"enqueued-at not a number", "enq", "1e3"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := fmt.Sprintf("{f%d}:", i)
			q := newQueue(t, rdb, redisstore.WithPrefix(prefix))
			mustEnqueue(t, q, "tok-a", t0)
			mustEnqueue(t, q, "tok-b", t0.Add(time.Millisecond))
			ids := rdb.ZRange(ctx, prefix+"outbox:due", 0, -1).Val()
			rdb.HSet(ctx, prefix+"outbox:e:"+ids[0], tt.field, tt.value)

			_, ok, err := q.Claim(ctx, t0.Add(time.Second), lease)
			if ok || !errors.Is(err, outbox.ErrUnreadableEntry) {
				t.Fatalf("Claim: ok %v, err %v; want ErrUnreadableEntry", ok, err)
			}
			wantLen(t, q, 1) // dropped
			if e := mustClaim(t, q, t0.Add(time.Second)); e.Token != "tok-b" {
				t.Fatalf("next claim got %q, want tok-b", e.Token)
			}
		})
	}
}

func TestQueuePersistence(t *testing.T) {
	tests := []struct {
		name string
		stop func(*redistest.Server)
	}{
		{"graceful restart", (*redistest.Server).Stop},
		{"crash", (*redistest.Server).Kill},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t)
			q := newQueue(t, srv.Client(t))
			mustEnqueue(t, q, "tok-1", t0)
			mustEnqueue(t, q, "tok-2", t0)
			e := mustClaim(t, q, t0)
			e.Attempts = 2
			if err := q.Release(t.Context(), e, t0.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			tt.stop(srv)
			if _, err := q.Len(t.Context()); err == nil {
				t.Fatal("Len answered with Redis down")
			}
			srv.Restart()
			// A new client too, as after an app restart.
			q2 := newQueue(t, srv.Client(t))
			wantLen(t, q2, 2)
			got := map[string]int{}
			for range 2 {
				e := mustClaim(t, q2, t0.Add(time.Minute))
				got[e.Token] = e.Attempts
			}
			if len(got) != 2 || got[e.Token] != 2 {
				t.Fatalf("after restart claimed %v, want both tokens, %s with 2 attempts", got, e.ID)
			}
		})
	}
}

func TestQueueMaxEntries(t *testing.T) {
	srv := redistest.Start(t)
	q := newQueue(t, srv.Client(t), redisstore.WithMaxEntries(2))
	mustEnqueue(t, q, "a", t0)
	mustEnqueue(t, q, "b", t0)
	err := q.Enqueue(t.Context(), "c", t0)
	if !errors.Is(err, outbox.ErrQueueFull) {
		t.Fatalf("Enqueue past the bound: %v, want outbox.ErrQueueFull", err)
	}
	wantLen(t, q, 2)
	if err := q.Ack(t.Context(), mustClaim(t, q, t0)); err != nil {
		t.Fatal(err)
	}
	mustEnqueue(t, q, "c", t0)
	wantLen(t, q, 2)
}

func TestQueuePrefix(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	a := newQueue(t, rdb, redisstore.WithPrefix("{app-a}:"))
	b := newQueue(t, rdb, redisstore.WithPrefix("{app-b}:"))
	mustEnqueue(t, a, "tok", t0)
	mustNotClaim(t, b, t0)
	wantLen(t, b, 0)
	for _, k := range rdb.Keys(t.Context(), "*").Val() {
		if !strings.HasPrefix(k, "{app-a}:outbox:") {
			t.Fatalf("key %q outside the prefix", k)
		}
	}
	if e := mustClaim(t, a, t0); e.Token != "tok" {
		t.Fatalf("claimed %q", e.Token)
	}
}

func TestNewQueueErrors(t *testing.T) {
	rdb := unusedClient(t)
	tests := []struct {
		name string
		rdb  redis.UniversalClient
		key  []byte
		opts []redisstore.Option
	}{
		{"nil client", nil, encKey, nil},
		{"no key", rdb, nil, nil},
		{"short key", rdb, make([]byte, 15), nil},
		{"odd key", rdb, make([]byte, 31), nil},
		{"negative bound", rdb, encKey, []redisstore.Option{redisstore.WithMaxEntries(-1)}},
		{"zero bound", rdb, encKey, []redisstore.Option{redisstore.WithMaxEntries(0)}},
		{"nil option", rdb, encKey, []redisstore.Option{nil}},
		{"cluster, default prefix", redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}}), encKey, nil},
		{"cluster, prefix without a tag", redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}}), encKey,
			[]redisstore.Option{redisstore.WithPrefix("app:{}:")}},
		{"ring, prefix without a tag", redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}}), encKey,
			[]redisstore.Option{redisstore.WithPrefix("app:")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := redisstore.NewQueue(tt.rdb, tt.key, tt.opts...)
			if q != nil || !errors.Is(err, redisstore.ErrInvalidConfig) {
				t.Fatalf("NewQueue = %v, %v; want ErrInvalidConfig", q, err)
			}
		})
	}
	for _, n := range []int{16, 24, 32} {
		if _, err := redisstore.NewQueue(rdb, make([]byte, n), redisstore.WithMaxEntries(1)); err != nil {
			t.Fatalf("%d-byte key: %v", n, err)
		}
	}
	t.Run("the cluster error shows the fix", func(t *testing.T) {
		cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
		defer cluster.Close()
		_, err := redisstore.NewQueue(cluster, encKey)
		if err == nil || !strings.Contains(err.Error(), `WithPrefix("{centralauth}:")`) {
			t.Fatalf("NewQueue error %v, want one that names the fix", err)
		}
		if _, err := redisstore.NewQueue(cluster, encKey, redisstore.WithPrefix("{centralauth}:")); err != nil {
			t.Fatalf("a tagged prefix: %v", err)
		}
	})
}

func TestQueueStats(t *testing.T) {
	srv := redistest.Start(t)
	q := newQueue(t, srv.Client(t), redisstore.WithPrefix("{stats}:"))
	ctx := t.Context()
	if st, err := q.Stats(ctx); err != nil || st.Pending != 0 || !st.Oldest.IsZero() || st.Attempted != 0 {
		t.Fatalf("empty queue: %+v, %v", st, err)
	}
	mustEnqueue(t, q, "tok-a", t0)
	mustEnqueue(t, q, "tok-b", t0.Add(time.Minute))
	mustEnqueue(t, q, "tok-c", t0.Add(2*time.Minute))
	e := mustClaim(t, q, t0.Add(time.Hour))
	e.Attempts = 1
	if err := q.Release(ctx, e, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	st, err := q.Stats(ctx)
	if err != nil || st.Pending != 3 || !st.Oldest.Equal(t0) || st.Attempted != 1 {
		t.Fatalf("Stats = %+v, %v; want 3 pending, oldest %v, 1 attempted", st, err, t0)
	}
}

// TestRunDeliversPastUnreadableEntries: each unreadable entry ahead of a
// deliverable logout used to cost Run a poll interval, so that 100 of them
// held a real logout up for 100 poll intervals. The poll interval here is
// an hour: the real logout arrives only if Run claims again at once.
func TestRunDeliversPastUnreadableEntries(t *testing.T) {
	const bad = 100
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	otherKey := bytes.Repeat([]byte{0x17}, 32)
	now := time.Now()
	ahead := now.Add(-time.Minute)
	tests := []struct {
		name string
		// plant puts one bad entry, numbered i, in the queue with prefix.
		plant     func(t *testing.T, prefix string, i int)
		wantLog   bool // each bad entry is logged once
		wantOwner bool // left for owner, the instance with otherKey
	}{
		{"sealed under another key", func(t *testing.T, prefix string, i int) {
			mustEnqueue(t, newOtherQueue(t, rdb, otherKey, prefix), fmt.Sprint("foreign-", i), ahead)
		}, true, true},
		{"sealed under another key, past the maximum age", func(t *testing.T, prefix string, i int) {
			mustEnqueue(t, newOtherQueue(t, rdb, otherKey, prefix), fmt.Sprint("foreign-", i), now.Add(-25*time.Hour))
		}, true, false},
		{"corrupt", func(t *testing.T, prefix string, i int) {
			id := fmt.Sprint("corrupt-", i)
			rdb.HSet(t.Context(), prefix+"outbox:e:"+id, "tok", "x", "enq", ahead.UnixMilli(), "att", 0)
			rdb.ZAdd(t.Context(), prefix+"outbox:due", redis.Z{Score: float64(ahead.UnixMilli()), Member: id})
		}, true, false},
		// A hash that Redis evicted (an allkeys maxmemory policy) or that
		// was deleted by hand: Claim used to give up after 16 of them and
		// report nothing due.
		{"index member without an entry", func(t *testing.T, prefix string, i int) {
			rdb.ZAdd(t.Context(), prefix+"outbox:due", redis.Z{Score: float64(ahead.UnixMilli()), Member: fmt.Sprint("gone-", i)})
		}, false, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := fmt.Sprintf("{r%d}:", i)
			q := newQueue(t, rdb, redisstore.WithPrefix(prefix))
			for j := range bad {
				tt.plant(t, prefix, j)
			}
			mustEnqueue(t, q, "real", now)

			var (
				mu   sync.Mutex
				sent []string
			)
			logs := &testutil.Buffer{}
			o, err := outbox.New(senderFunc(func(_ context.Context, tok string) error {
				mu.Lock()
				defer mu.Unlock()
				sent = append(sent, tok)
				return nil
			}), q, outbox.WithPollInterval(time.Hour), outbox.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error)
			go func() { done <- o.Run(ctx) }()
			delivered := func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(sent) == 1 && sent[0] == "real"
			}
			testutil.WaitFor(t, 10*time.Second, "Run to deliver the real logout", delivered, func() string {
				n, _ := q.Len(t.Context())
				return fmt.Sprintf("%d entries left, %d unreadable ones logged", n, strings.Count(logs.String(), "unreadable entry"))
			})
			cancel()
			<-done

			wantLogged := 0
			if tt.wantLog {
				wantLogged = bad
			}
			if n := strings.Count(logs.String(), "unreadable entry"); n != wantLogged {
				t.Fatalf("%d unreadable entries logged, want %d", n, wantLogged)
			}
			if !tt.wantOwner {
				wantLen(t, q, 0)
				return
			}
			// Hidden for this instance's lease, then there for the
			// instance that has their key, no attempt counted.
			wantLen(t, q, bad)
			mustNotClaim(t, q, now.Add(time.Second))
			owner := newOtherQueue(t, rdb, otherKey, prefix)
			got := map[string]bool{}
			for range bad {
				e := mustClaim(t, owner, time.Now().Add(time.Minute))
				if e.Attempts != 0 || !strings.HasPrefix(e.Token, "foreign-") {
					t.Fatalf("owner claimed %+v, want a foreign entry with no attempt counted", e)
				}
				got[e.Token] = true
			}
			if len(got) != bad {
				t.Fatalf("owner claimed %d distinct entries, want %d", len(got), bad)
			}
		})
	}
}

// TestQueueClaimSkipsIndexMembersWithoutAnEntry: Claim used to give up
// after 16 members of the due set whose hash was gone, and report nothing
// due while an entry was.
func TestQueueClaimSkipsIndexMembersWithoutAnEntry(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	q := newQueue(t, rdb)
	for i := range 100 {
		rdb.ZAdd(t.Context(), "centralauth:outbox:due", redis.Z{Score: float64(t0.UnixMilli() - 1), Member: fmt.Sprint("gone-", i)})
	}
	mustEnqueue(t, q, "real", t0)
	if e := mustClaim(t, q, t0); e.Token != "real" {
		t.Fatalf("claimed %q, want real", e.Token)
	}
	wantLen(t, q, 1)
}

func newOtherQueue(t *testing.T, rdb redis.UniversalClient, key []byte, prefix string) *redisstore.Queue {
	t.Helper()
	q, err := redisstore.NewQueue(rdb, key, redisstore.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// senderFunc is an outbox.Sender in a function.
type senderFunc func(ctx context.Context, token string) error

func (f senderFunc) Logout(ctx context.Context, token string) error { return f(ctx, token) }
