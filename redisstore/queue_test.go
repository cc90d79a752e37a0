package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/centralauth-go/logout/internal/redistest"
	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/outbox"
	"github.com/centralauth-go/logout/redisstore"
)

var t0 = time.UnixMilli(1_900_000_000_000) // whole milliseconds, like Redis scores

const lease = 30 * time.Second

// mustEnqueue adds an entry holding sealed, which these tests read as
// text; what an Outbox stores there is opaque to the queue.
func mustEnqueue(t *testing.T, q *redisstore.Queue, sealed string, at time.Time) {
	t.Helper()
	if err := q.Enqueue(t.Context(), newID(), []byte(sealed), at); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
}

var ids atomic.Int64

func newID() string { return fmt.Sprintf("%024x", ids.Add(1)) }

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

// TestQueueConcurrentClaims: many workers, each with its own client, claim
// at once; each entry goes to exactly one of them.
func TestQueueConcurrentClaims(t *testing.T) {
	srv := redistest.Start(t)
	const entries, workers = 300, 16
	q := newQueue(t, srv.Client(t), stdPrefix)
	for i := range entries {
		mustEnqueue(t, q, fmt.Sprintf("tok-%d", i), t0)
	}
	var (
		mu     sync.Mutex
		byID   = map[string]int{}
		sealed = map[string]int{}
		wg     sync.WaitGroup
	)
	// Each worker gets its own client, so claims really race in Redis.
	for range workers {
		wq := newQueue(t, srv.Client(t), stdPrefix)
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
				sealed[string(e.Sealed)]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(byID) != entries || len(sealed) != entries {
		t.Fatalf("claimed %d IDs and %d entries' contents, want %d of each", len(byID), len(sealed), entries)
	}
	for id, n := range byID {
		if n != 1 {
			t.Fatalf("entry %s handed out %d times", id, n)
		}
	}
}

// newOutbox runs an Outbox with key on q, delivering through send.
func newOutbox(t *testing.T, q outbox.Queue, key []byte, send func(token string), opts ...outbox.Option) *outbox.Outbox {
	t.Helper()
	opts = append([]outbox.Option{outbox.WithEncryptionKey(key), outbox.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	o, err := outbox.New(senderFunc(func(_ context.Context, token string) error {
		send(token)
		return nil
	}), q, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// sent collects what an Outbox delivered.
type sent struct {
	mu     sync.Mutex
	tokens []string
}

func (s *sent) add(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = append(s.tokens, token)
}

func (s *sent) get() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tokens...)
}

// TestTokensAtRest: what an Outbox queues in Redis holds neither a token
// nor the key, in Redis or in its files, and opens to the same tokens.
func TestTokensAtRest(t *testing.T) {
	srv := redistest.Start(t)
	q := newQueue(t, srv.Client(t), stdPrefix)
	var got sent
	o := newOutbox(t, q, outboxKey, got.add)
	tokens := []string{
		"eyJhbGciOiJBMjU2S1ciLCJlbmMiOiJBMjU2R0NNIn0.c2VjcmV0LWtleS1tYXRlcmlhbC0x.aXYtMTIzNDU2Nzg5.Y2lwaGVydGV4dC1ib2R5LWZvci10ZXN0.dGFnLXRhZy10YWctdGFn",
		"plain-opaque-access-token-0123456789",
	}
	for _, tok := range tokens {
		if err := o.Enqueue(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	entryKeys := 0
	for k, v := range srv.Dump(t) {
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
	assertNoSecretInRedis(t, srv, append(tokens, string(outboxKey))...)
	if err := o.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := got.get(); len(d) != len(tokens) || !(d[0] == tokens[0] && d[1] == tokens[1] || d[0] == tokens[1] && d[1] == tokens[0]) {
		t.Fatalf("delivered %d tokens that are not the ones queued", len(d))
	}
	wantLen(t, q, 0)
}

// TestOutboxReadsPastTamperedEntries tampers in Redis with the first of
// two entries that an Outbox queued: the Outbox cannot open it, drops it,
// says so without a token, and delivers the other.
func TestOutboxReadsPastTamperedEntries(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx := t.Context()
	tests := []struct {
		name string
		// tamper returns entry a's new sealed token, given b's.
		tamper func(sealedA, sealedB []byte) []byte
	}{
		// The ciphertext is bound to its entry's ID.
		{"the sealed token of another entry", func(_, sealedB []byte) []byte { return sealedB }},
		{"a byte of the ciphertext changed", func(sealedA, _ []byte) []byte {
			sealedA[len(sealedA)-1] ^= 1
			return sealedA
		}},
		{"truncated", func([]byte, []byte) []byte { return []byte("x") }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := fmt.Sprintf("{u%d}:", i)
			q := newQueue(t, rdb, prefix)
			var got sent
			logs := &testutil.Buffer{}
			o := newOutbox(t, q, outboxKey, got.add, outbox.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
			for _, tok := range []string{"tok-a", "tok-b"} {
				if err := o.Enqueue(ctx, tok); err != nil {
					t.Fatal(err)
				}
			}
			ids := rdb.ZRange(ctx, prefix+"outbox:due", 0, -1).Val()
			key := func(id string) string { return prefix + "outbox:e:" + id }
			sealedA, _ := rdb.HGet(ctx, key(ids[0]), "tok").Bytes()
			sealedB, _ := rdb.HGet(ctx, key(ids[1]), "tok").Bytes()
			if _, err := rdb.HSet(ctx, key(ids[0]), "tok", tt.tamper(sealedA, sealedB)).Result(); err != nil {
				t.Fatal(err)
			}
			if err := o.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if d := got.get(); len(d) != 1 {
				t.Fatalf("delivered %d logouts, want the one untouched", len(d))
			}
			wantLen(t, q, 0)
			l := logs.String()
			if !strings.Contains(l, "unreadable entry") || !strings.Contains(l, "dropped") || strings.Contains(l, "tok-") {
				t.Fatalf("want one unreadable entry logged as dropped, without a token:\n%s", l)
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
			q := newQueue(t, rdb, prefix)
			mustEnqueue(t, q, "tok-a", t0)
			mustEnqueue(t, q, "tok-b", t0.Add(time.Millisecond))
			ids := rdb.ZRange(ctx, prefix+"outbox:due", 0, -1).Val()
			rdb.HSet(ctx, prefix+"outbox:e:"+ids[0], tt.field, tt.value)

			_, ok, err := q.Claim(ctx, t0.Add(time.Second), lease)
			if ok || !errors.Is(err, outbox.ErrUnreadableEntry) || !strings.Contains(err.Error(), ids[0]) {
				t.Fatalf("Claim: ok %v, err %v; want ErrUnreadableEntry, naming the entry", ok, err)
			}
			wantLen(t, q, 1) // dropped
			if e := mustClaim(t, q, t0.Add(time.Second)); string(e.Sealed) != "tok-b" {
				t.Fatalf("next claim got %q, want tok-b", e.Sealed)
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
			q := newQueue(t, srv.Client(t), stdPrefix)
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
			q2 := newQueue(t, srv.Client(t), stdPrefix)
			wantLen(t, q2, 2)
			got := map[string]int{}
			for range 2 {
				e := mustClaim(t, q2, t0.Add(time.Minute))
				got[string(e.Sealed)] = e.Attempts
			}
			if len(got) != 2 || got[string(e.Sealed)] != 2 {
				t.Fatalf("after restart claimed %v, want both entries, %s with 2 attempts", got, e.ID)
			}
		})
	}
}

func TestQueuePrefix(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	a := newQueue(t, rdb, "{app-a}:")
	b := newQueue(t, rdb, "{app-b}:")
	mustEnqueue(t, a, "tok", t0)
	mustNotClaim(t, b, t0)
	wantLen(t, b, 0)
	for _, k := range rdb.Keys(t.Context(), "*").Val() {
		if !strings.HasPrefix(k, "{app-a}:outbox:") {
			t.Fatalf("key %q outside the prefix", k)
		}
	}
	if e := mustClaim(t, a, t0); string(e.Sealed) != "tok" {
		t.Fatalf("claimed %q", e.Sealed)
	}
}

// TestQueueRefusesIDsOutsideTheSlot: an entry ID is part of a key, so one
// with a brace could move the key out of the prefix's hash slot.
func TestQueueRefusesIDsOutsideTheSlot(t *testing.T) {
	srv := redistest.Start(t)
	q := newQueue(t, srv.Client(t), stdPrefix)
	for _, id := range []string{"", "a{b}", "}"} {
		if err := q.Enqueue(t.Context(), id, []byte("x"), t0); err == nil {
			t.Fatalf("Enqueue with ID %q accepted", id)
		}
	}
	wantLen(t, q, 0)
}

func TestNewQueueErrors(t *testing.T) {
	rdb := unusedClient(t)
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	t.Cleanup(func() { _ = cluster.Close() })
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}})
	t.Cleanup(func() { _ = ring.Close() })
	tests := []struct {
		name   string
		rdb    redis.UniversalClient
		prefix string
		opts   []redisstore.QueueOption
	}{
		{"nil client", nil, stdPrefix, nil},
		{"negative bound", rdb, stdPrefix, []redisstore.QueueOption{redisstore.WithMaxEntries(-1)}},
		{"zero bound", rdb, stdPrefix, []redisstore.QueueOption{redisstore.WithMaxEntries(0)}},
		{"nil option", rdb, stdPrefix, []redisstore.QueueOption{nil}},
		{"cluster, prefix without a tag", cluster, stdPrefix, nil},
		{"cluster, prefix with an empty tag", cluster, "app:{}:", nil},
		{"ring, prefix without a tag", ring, "app:", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := redisstore.NewQueue(tt.rdb, tt.prefix, tt.opts...)
			if q != nil || !errors.Is(err, redisstore.ErrInvalidConfig) {
				t.Fatalf("NewQueue = %v, %v; want ErrInvalidConfig", q, err)
			}
		})
	}
	t.Run("the cluster error shows the fix", func(t *testing.T) {
		_, err := redisstore.NewQueue(cluster, stdPrefix)
		if err == nil || !strings.Contains(err.Error(), `"{centralauth}:"`) {
			t.Fatalf("NewQueue error %v, want one that names the fix", err)
		}
		if _, err := redisstore.NewQueue(cluster, "{centralauth}:"); err != nil {
			t.Fatalf("a tagged prefix: %v", err)
		}
	})
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
	ignore := func(string) {}
	tests := []struct {
		name string
		// plant puts one bad entry, numbered i, in the queue q with prefix.
		plant     func(t *testing.T, q *redisstore.Queue, prefix string, i int)
		wantLog   bool // each bad entry is logged once
		wantOwner bool // left for owner, the instance with otherKey
	}{
		{"sealed under another key", func(t *testing.T, q *redisstore.Queue, prefix string, i int) {
			if err := newOutbox(t, q, otherKey, ignore).Enqueue(t.Context(), fmt.Sprint("foreign-", i)); err != nil {
				t.Fatal(err)
			}
		}, true, true},
		{"sealed under another key, past the maximum age", func(t *testing.T, q *redisstore.Queue, prefix string, i int) {
			before := map[string]bool{}
			for _, id := range rdb.ZRange(t.Context(), prefix+"outbox:due", 0, -1).Val() {
				before[id] = true
			}
			if err := newOutbox(t, q, otherKey, ignore).Enqueue(t.Context(), fmt.Sprint("foreign-", i)); err != nil {
				t.Fatal(err)
			}
			for _, id := range rdb.ZRange(t.Context(), prefix+"outbox:due", 0, -1).Val() {
				if !before[id] { // the entry just queued: make it 25 hours old
					rdb.HSet(t.Context(), prefix+"outbox:e:"+id, "enq", time.Now().Add(-25*time.Hour).UnixMilli())
				}
			}
		}, true, false},
		{"corrupt", func(t *testing.T, q *redisstore.Queue, prefix string, i int) {
			if err := q.Enqueue(t.Context(), fmt.Sprintf("c%023d", i), []byte("x"), time.Now().Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
		}, true, false},
		// A hash that Redis evicted (an allkeys maxmemory policy) or that
		// was deleted by hand: Claim used to give up after 16 of them and
		// report nothing due.
		{"index member without an entry", func(t *testing.T, q *redisstore.Queue, prefix string, i int) {
			rdb.ZAdd(t.Context(), prefix+"outbox:due", redis.Z{Score: float64(time.Now().Add(-time.Minute).UnixMilli()), Member: fmt.Sprint("gone-", i)})
		}, false, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := fmt.Sprintf("{r%d}:", i)
			q := newQueue(t, rdb, prefix)
			for j := range bad {
				tt.plant(t, q, prefix, j)
			}
			var got sent
			logs := &testutil.Buffer{}
			o := newOutbox(t, q, outboxKey, got.add,
				outbox.WithPollInterval(time.Hour), outbox.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
			if err := o.Enqueue(t.Context(), "real"); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error)
			go func() { done <- o.Run(ctx) }()
			wantLogged := 0
			if tt.wantLog {
				wantLogged = bad
			}
			// The real entry may share a millisecond with the last bad ones,
			// and be claimed before them: wait for both.
			delivered := func() bool {
				d := got.get()
				return len(d) == 1 && d[0] == "real" && strings.Count(logs.String(), "unreadable entry") >= wantLogged
			}
			testutil.WaitFor(t, 10*time.Second, "Run to deliver the real logout and set every bad entry aside", delivered, func() string {
				n, _ := q.Len(t.Context())
				return fmt.Sprintf("%d entries left, %d unreadable ones logged", n, strings.Count(logs.String(), "unreadable entry"))
			})
			cancel()
			<-done

			if n := strings.Count(logs.String(), "unreadable entry"); n != wantLogged {
				t.Fatalf("%d unreadable entries logged, want %d", n, wantLogged)
			}
			if !tt.wantOwner {
				wantLen(t, q, 0)
				return
			}
			// Hidden for this instance's lease, then there, with no
			// attempt counted, for the instance that has their key (whose
			// Outbox the outbox package's tests run).
			wantLen(t, q, bad)
			mustNotClaim(t, q, time.Now().Add(time.Second))
			seen := map[string]bool{}
			for range bad {
				e := mustClaim(t, q, time.Now().Add(time.Minute))
				if e.Attempts != 0 {
					t.Fatalf("entry %s has %d attempts counted, want 0", e.ID, e.Attempts)
				}
				seen[e.ID] = true
			}
			if len(seen) != bad {
				t.Fatalf("%d distinct entries left for the owner, want %d", len(seen), bad)
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
	q := newQueue(t, rdb, stdPrefix)
	for i := range 100 {
		rdb.ZAdd(t.Context(), "centralauth:outbox:due", redis.Z{Score: float64(t0.UnixMilli() - 1), Member: fmt.Sprint("gone-", i)})
	}
	mustEnqueue(t, q, "real", t0)
	if e := mustClaim(t, q, t0); string(e.Sealed) != "real" {
		t.Fatalf("claimed %q, want real", e.Sealed)
	}
	wantLen(t, q, 1)
}

// senderFunc is an outbox.Sender in a function.
type senderFunc func(ctx context.Context, token string) error

func (f senderFunc) Logout(ctx context.Context, token string) error { return f(ctx, token) }
