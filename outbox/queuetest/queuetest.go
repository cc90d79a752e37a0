// Package queuetest checks an outbox.Queue implementation against the
// contract that outbox.Queue documents, so that a new queue backend can
// prove itself the way outbox.MemoryQueue and redisstore.Queue do.
package queuetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/centralauth-go/logout/internal/conform"
	"github.com/centralauth-go/logout/outbox"
)

// Run checks the queues that newQueue returns against outbox.Queue's
// contract, and returns an error that names every check that failed, or
// nil if all passed. Like testing/fstest.TestFS, it returns an error rather
// than take a *testing.T, so that its own tests can run it against broken
// queues; a test calls it as
//
//	if err := queuetest.Run(newQueue); err != nil {
//		t.Fatal(err)
//	}
//
// Run calls newQueue once per check, from its own goroutine, for an empty
// queue that holds at most maxEntries entries and that nothing else uses
// (give each one a key prefix or a table of its own). The checks pass
// every time explicitly, in whole milliseconds around the year 2030, so
// they never wait; one of them claims from several goroutines at once.
func Run(newQueue func(maxEntries int) (outbox.Queue, error)) error {
	var errs []error
	for _, c := range checks {
		limit := c.limit
		if limit == 0 {
			limit = 1000
		}
		q, err := newQueue(limit)
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("queuetest: creating a queue: %w", err))...)
		}
		if err := run(q, c); err != nil {
			errs = append(errs, fmt.Errorf("queuetest: %s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

var t0 = time.UnixMilli(1_900_000_000_000)

const lease = 30 * time.Second

type check struct {
	name  string
	limit int // for newQueue; 0: 1000
	run   func(q *queue)
}

func run(q outbox.Queue, c check) error {
	return conform.Run(func() { c.run(&queue{q: q, ctx: context.Background()}) })
}

// queue wraps the queue under test with steps that stop the check when
// they fail.
type queue struct {
	q   outbox.Queue
	ctx context.Context
}

func (q *queue) fatalf(format string, args ...any) { conform.Failf(format, args...) }

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// sealed is what the entry id holds in these checks: bytes that are not
// text, as sealed tokens are not.
func sealed(id string) []byte { return append([]byte{0, 0xff, '\n'}, id...) }

// enqueue adds an entry due at at, and returns its ID.
func (q *queue) enqueue(at time.Time) string {
	id := newID()
	if err := q.q.Enqueue(q.ctx, id, sealed(id), at); err != nil {
		q.fatalf("Enqueue at %v: %v", at.Sub(t0), err)
	}
	return id
}

func (q *queue) claim(now time.Time) outbox.Entry {
	e, ok, err := q.q.Claim(q.ctx, now, lease)
	if err != nil || !ok {
		q.fatalf("Claim at %v: ok %v, error %v; want an entry", now.Sub(t0), ok, err)
	}
	if e.Lease == "" {
		q.fatalf("Claim at %v handed out %s without a lease", now.Sub(t0), e.ID)
	}
	if !bytes.Equal(e.Sealed, sealed(e.ID)) {
		q.fatalf("Claim at %v handed out %s holding %q, want %q: not what was enqueued under that ID", now.Sub(t0), e.ID, e.Sealed, sealed(e.ID))
	}
	return e
}

func (q *queue) claimNone(now time.Time) {
	e, ok, err := q.q.Claim(q.ctx, now, lease)
	if err != nil || ok {
		q.fatalf("Claim at %v: %s, ok %v, error %v; want nothing due", now.Sub(t0), e.ID, ok, err)
	}
}

func (q *queue) ack(e outbox.Entry) {
	if err := q.q.Ack(q.ctx, e); err != nil {
		q.fatalf("Ack of %s: %v", e.ID, err)
	}
}

func (q *queue) release(e outbox.Entry, next time.Time) {
	if err := q.q.Release(q.ctx, e, next); err != nil {
		q.fatalf("Release of %s: %v", e.ID, err)
	}
}

func (q *queue) wantLen(want int64, when string) {
	if n, err := q.q.Len(q.ctx); err != nil || n != want {
		q.fatalf("Len %s = %d, %v; want %d", when, n, err, want)
	}
}

func (q *queue) wantStats(want outbox.Stats, when string) {
	st, err := q.q.Stats(q.ctx)
	if err != nil || st.Pending != want.Pending || !st.Oldest.Equal(want.Oldest) || st.Attempted != want.Attempted ||
		st.Delivered != 0 || st.Dropped != 0 || st.Retries != 0 {
		q.fatalf("Stats %s = %+v, %v; want Pending %d, Oldest %v, Attempted %d and no Outbox counts",
			when, st, err, want.Pending, want.Oldest, want.Attempted)
	}
}

var checks = []check{
	{name: "an empty queue has nothing to claim", run: func(q *queue) {
		q.claimNone(t0)
		q.wantLen(0, "of an empty queue")
		q.wantStats(outbox.Stats{}, "of an empty queue")
	}},
	{name: "an entry is claimed as it was enqueued", run: func(q *queue) {
		id := q.enqueue(t0)
		e := q.claim(t0)
		if e.ID != id || !e.EnqueuedAt.Equal(t0) || e.Attempts != 0 {
			q.fatalf("claimed %s enqueued at %v with %d attempts; want %s enqueued at %v with 0", e.ID, e.EnqueuedAt, e.Attempts, id, t0)
		}
		q.wantLen(1, "with the entry claimed")
	}},
	{name: "an entry is not due before its time", run: func(q *queue) {
		q.enqueue(t0)
		q.claimNone(t0.Add(-time.Millisecond))
		q.claim(t0)
	}},
	{name: "a claimed entry is hidden for its lease, then claimable under a new one", run: func(q *queue) {
		q.enqueue(t0)
		first := q.claim(t0)
		q.claimNone(t0)
		q.claimNone(t0.Add(lease - time.Millisecond))
		second := q.claim(t0.Add(lease))
		if second.ID != first.ID || second.Lease == first.Lease {
			q.fatalf("after the lease claimed %s under lease %q; want %s under a new lease (was %q)", second.ID, second.Lease, first.ID, first.Lease)
		}
	}},
	{name: "Ack removes the entry", run: func(q *queue) {
		q.enqueue(t0)
		q.ack(q.claim(t0))
		q.wantLen(0, "after Ack")
		q.claimNone(t0.Add(time.Hour))
	}},
	{name: "Release makes the entry due at next, with its attempts", run: func(q *queue) {
		q.enqueue(t0)
		e := q.claim(t0)
		e.Attempts = 3
		next := t0.Add(time.Minute)
		q.release(e, next)
		q.claimNone(next.Add(-time.Millisecond))
		again := q.claim(next)
		if again.ID != e.ID || again.Attempts != 3 || !again.EnqueuedAt.Equal(t0) {
			q.fatalf("after Release claimed %s enqueued at %v with %d attempts; want %s enqueued at %v with 3",
				again.ID, again.EnqueuedAt, again.Attempts, e.ID, t0)
		}
	}},
	{name: "Release can make the entry due before its lease ends", run: func(q *queue) {
		q.enqueue(t0)
		q.release(q.claim(t0), t0)
		q.claim(t0)
	}},
	{name: "a lease that ran out cannot Ack", run: func(q *queue) {
		q.enqueue(t0)
		stale := q.claim(t0)
		current := q.claim(t0.Add(lease))
		q.ack(stale)
		q.wantLen(1, "after an Ack under a lease that ran out")
		q.claimNone(t0.Add(lease)) // still hidden under current's lease
		q.ack(current)
		q.wantLen(0, "after an Ack under the current lease")
	}},
	{name: "a lease that ran out cannot Release", run: func(q *queue) {
		q.enqueue(t0)
		stale := q.claim(t0)
		current := q.claim(t0.Add(lease))
		stale.Attempts = 9
		q.release(stale, t0)
		q.claimNone(t0.Add(lease)) // the release was ignored
		current.Attempts = 1
		q.release(current, t0.Add(lease))
		if e := q.claim(t0.Add(lease)); e.Attempts != 1 {
			q.fatalf("attempts %d after a stale Release of 9 and a current one of 1; want 1", e.Attempts)
		}
	}},
	{name: "a released lease, or none, cannot Ack or Release", run: func(q *queue) {
		q.enqueue(t0)
		e := q.claim(t0)
		q.release(e, t0.Add(time.Minute))
		q.ack(e)
		q.wantLen(1, "after an Ack under a released lease")
		q.ack(outbox.Entry{ID: e.ID})
		q.wantLen(1, "after an Ack with no lease")
		q.release(outbox.Entry{ID: e.ID, Attempts: 5}, t0)
		q.claimNone(t0) // still due only at the first Release's next
		if again := q.claim(t0.Add(time.Minute)); again.Attempts != 0 {
			q.fatalf("attempts %d after a Release with no lease; want 0", again.Attempts)
		}
	}},
	{name: "the entry due the longest is claimed first", run: func(q *queue) {
		b := q.enqueue(t0.Add(time.Second))
		a := q.enqueue(t0)
		c := q.enqueue(t0.Add(2 * time.Second))
		first := q.claim(t0.Add(time.Minute))
		if first.ID != a {
			q.fatalf("claimed %s first, want %s, due at t0 (then %s at 1s, %s at 2s)", first.ID, a, b, c)
		}
		q.release(first, t0.Add(3*time.Second)) // now due last
		for _, want := range []string{b, c, a} {
			if e := q.claim(t0.Add(time.Minute)); e.ID != want {
				q.fatalf("claimed %s, want %s (due at 1s, 2s, then 3s after a Release)", e.ID, want)
			}
		}
	}},
	{name: "entries with the same contents are kept apart", run: func(q *queue) {
		for range 2 {
			if err := q.q.Enqueue(q.ctx, newID(), []byte("same"), t0); err != nil {
				q.fatalf("Enqueue: %v", err)
			}
		}
		q.wantLen(2, "after two Enqueues of the same bytes")
		e, ok, err := q.q.Claim(q.ctx, t0, lease)
		if err != nil || !ok {
			q.fatalf("Claim: ok %v, error %v", ok, err)
		}
		q.ack(e)
		q.wantLen(1, "after one of them was acknowledged")
	}},
	{name: "a full queue refuses with ErrQueueFull, claimed entries included", limit: 2, run: func(q *queue) {
		q.enqueue(t0)
		q.enqueue(t0)
		e := q.claim(t0)
		if err := q.q.Enqueue(q.ctx, newID(), sealed("x"), t0); !errors.Is(err, outbox.ErrQueueFull) {
			q.fatalf("Enqueue into a queue of 2 holding 2 (one claimed) = %v, want an error matching outbox.ErrQueueFull", err)
		}
		q.wantLen(2, "after a refused Enqueue")
		q.ack(e)
		q.enqueue(t0)
		q.wantLen(2, "after an Ack and an Enqueue")
	}},
	{name: "Stats reports the oldest entry and those past their first attempt", run: func(q *queue) {
		q.enqueue(t0)
		q.enqueue(t0.Add(time.Minute))
		q.enqueue(t0.Add(2 * time.Minute))
		first := q.claim(t0.Add(time.Hour)) // the oldest, due the longest
		first.Attempts = 1
		q.release(first, t0.Add(30*time.Second)) // still due before the others
		q.wantStats(outbox.Stats{Pending: 3, Oldest: t0, Attempted: 1}, "with 3 entries, the oldest attempted once")
		e := q.claim(t0.Add(time.Hour))
		if e.ID != first.ID {
			q.fatalf("claimed %s, want %s, released to be due first", e.ID, first.ID)
		}
		q.ack(e)
		q.wantStats(outbox.Stats{Pending: 2, Oldest: t0.Add(time.Minute)}, "once the oldest entry, the attempted one, is gone")
	}},
	{name: "concurrent claims hand each entry out once", run: func(q *queue) {
		const entries, workers = 64, 8
		for range entries {
			q.enqueue(t0)
		}
		var (
			mu     sync.Mutex
			seen   = map[string]int{}
			claims int
			errs   []error
			wg     sync.WaitGroup
		)
		for range workers {
			wg.Go(func() {
				for {
					e, ok, err := q.q.Claim(q.ctx, t0, lease)
					mu.Lock()
					if ok {
						seen[e.ID]++
						claims++
					}
					if err != nil {
						errs = append(errs, err)
					}
					// Past entries claims, a queue hands out some entry twice:
					// stop rather than claim forever.
					stop := !ok || err != nil || claims > entries
					mu.Unlock()
					if stop {
						return
					}
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			q.fatalf("Claim: %v", errors.Join(errs...))
		}
		for id, n := range seen {
			if n != 1 {
				q.fatalf("entry %s was handed out %d times under one lease", id, n)
			}
		}
		if len(seen) != entries {
			q.fatalf("%d workers claimed %d distinct entries, want %d", workers, len(seen), entries)
		}
	}},
}
