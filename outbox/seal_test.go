package outbox

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/centralauth-go/logout/internal/testutil"
)

// TestOpensTokensSealedByRedisstore: before the outbox sealed tokens,
// redisstore.Queue did, in the same format; a queue it filled must still
// deliver. The entry below was sealed by that code, under testKey.
func TestOpensTokensSealedByRedisstore(t *testing.T) {
	sealed, _ := hex.DecodeString("01a3c1a41f390a81deb67d424eddf21e68fa4a1a9a9bfd3fd8a828c1599e9311b544341e6bce9fc8d48692daf142b3754942833d0131e1fc7698f65a43")
	s, err := newSealer(testKey)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := s.open("0123456789abcdef01234567", sealed); err != nil || tok != "tok-sealed-by-redisstore" {
		t.Fatalf("open = %q, %v", tok, err)
	}
}

// spyQueue is a Queue that records what it is given to hold.
type spyQueue struct {
	Queue
	mu     sync.Mutex
	sealed [][]byte
}

func (q *spyQueue) Enqueue(ctx context.Context, id string, sealed []byte, now time.Time) error {
	q.mu.Lock()
	q.sealed = append(q.sealed, sealed)
	q.mu.Unlock()
	return q.Queue.Enqueue(ctx, id, sealed, now)
}

// TestQueueNeverSeesAToken: the Outbox seals each token before the Queue
// holds it, so that no Queue needs cryptography of its own: a MemoryQueue
// with the Outbox's default key, and any queue with WithEncryptionKey.
func TestQueueNeverSeesAToken(t *testing.T) {
	tokens := []string{"eyJhbGciOiJIUzI1NiJ9.c2Vzc2lvbi10b2tlbi1vbmU.c2lnbmF0dXJlLXBhcnQ", "opaque-access-token-0123456789"}
	tests := []struct {
		name string
		// queue returns the queue for New, and what it was given to hold
		// once the tokens are queued.
		queue func(t *testing.T) (Queue, func() [][]byte)
		opts  []Option
	}{
		{"a MemoryQueue, with the default key", func(t *testing.T) (Queue, func() [][]byte) {
			q := newMemoryQueue(t, 10)
			return q, func() (held [][]byte) {
				for _, e := range q.entries {
					held = append(held, e.Sealed)
				}
				return held
			}
		}, nil},
		{"another queue, with a key", func(t *testing.T) (Queue, func() [][]byte) {
			q := &spyQueue{Queue: newMemoryQueue(t, 10)}
			return q, func() [][]byte { return q.sealed }
		}, []Option{WithEncryptionKey(testKey)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, held := tt.queue(t)
			var got []string
			o, err := New(senderFunc(func(_ context.Context, tok string) error {
				got = append(got, tok)
				return nil
			}), q, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range tokens {
				if err := o.Enqueue(t.Context(), tok); err != nil {
					t.Fatal(err)
				}
			}
			sealed := held()
			if len(sealed) != len(tokens) {
				t.Fatalf("the queue was given %d entries, want %d", len(sealed), len(tokens))
			}
			for _, b := range sealed {
				for _, tok := range tokens {
					for part := range strings.SplitSeq(tok, ".") {
						if bytes.Contains(b, []byte(part)) {
							t.Fatal("the queue was given a token, or part of one, in clear")
						}
					}
				}
			}
			if err := o.Drain(t.Context()); err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if !slices.Equal(got, tokens) {
				t.Fatalf("delivered %d tokens, not the ones queued", len(got))
			}
		})
	}
}

// TestSealedTokensAreBoundToTheirEntry: a sealed token moved to another
// entry does not open there, so entries cannot be swapped in the queue.
func TestSealedTokensAreBoundToTheirEntry(t *testing.T) {
	q := newMemoryQueue(t, 10)
	var got []string
	logs := &testutil.Buffer{}
	o, err := New(senderFunc(func(_ context.Context, tok string) error {
		got = append(got, tok)
		return nil
	}), q, WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"tok-a", "tok-b"} {
		if err := o.Enqueue(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	var es []*memEntry
	for _, e := range q.entries {
		es = append(es, e)
	}
	es[0].Sealed, es[1].Sealed = es[1].Sealed, es[0].Sealed
	if err := o.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st, _ := o.Stats(t.Context()); len(got) != 0 || st.Dropped != 2 || st.Pending != 0 {
		t.Fatalf("delivered %d swapped entries, stats %+v; want both dropped as unreadable", len(got), st)
	}
	if n := strings.Count(logs.String(), "unreadable entry"); n != 2 || strings.Contains(logs.String(), "tok-") {
		t.Fatalf("%d unreadable entries logged, want 2, without a token:\n%s", n, logs)
	}
}

// TestForeignEntriesWaitForTheirKey: an instance with another key leaves an
// entry, hidden for its lease, for one that has the key, until the entry is
// as old as the maximum age (it used to be a fixed 24 hours, whatever
// WithMaxAge said); then it drops it, and says so.
func TestForeignEntriesWaitForTheirKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const lease, maxAge = time.Minute, time.Hour
		shared := struct{ Queue }{newMemoryQueue(t, 10)} // as a queue in Redis would be
		newInstance := func(key byte, deliveries *[]Delivery) (*Outbox, *[]string) {
			var got []string
			o, err := New(senderFunc(func(_ context.Context, tok string) error {
				got = append(got, tok)
				return nil
			}), shared, WithEncryptionKey(bytes.Repeat([]byte{key}, 32)), WithLease(lease), WithMaxAge(maxAge),
				WithLogger(slog.New(slog.DiscardHandler)), WithOnDelivery(func(d Delivery) { *deliveries = append(*deliveries, d) }))
			if err != nil {
				t.Fatal(err)
			}
			return o, &got
		}
		var byA, byB []Delivery
		a, gotA := newInstance(1, &byA)
		b, gotB := newInstance(2, &byB)
		ctx := t.Context()

		// Left by B, then delivered by A once B's lease ran out.
		if err := a.Enqueue(ctx, "tok-1"); err != nil {
			t.Fatal(err)
		}
		if err := b.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if n, _ := shared.Len(ctx); n != 1 || len(*gotB) != 0 || len(byB) != 0 {
			t.Fatalf("B left %d entries, delivered %d, reported %v; want the entry left, unreported", n, len(*gotB), byB)
		}
		if err := a.Drain(ctx); err != nil || len(*gotA) != 0 {
			t.Fatalf("A claimed the entry within B's lease: %v, %d delivered", err, len(*gotA))
		}
		time.Sleep(lease)
		if err := a.Drain(ctx); err != nil || len(*gotA) != 1 || (*gotA)[0] != "tok-1" {
			t.Fatalf("A after B's lease: %v, delivered %q", err, *gotA)
		}

		// Past the maximum age, B drops it.
		if err := a.Enqueue(ctx, "tok-2"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(maxAge + time.Second)
		if err := b.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if n, _ := shared.Len(ctx); n != 0 || len(byB) != 1 || byB[0].Outcome != Dropped || !errors.Is(byB[0].Err, ErrUnreadableEntry) {
			t.Fatalf("%d entries left, B reported %+v; want the entry dropped as unreadable", n, byB)
		}
	})
}
