package queuetest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/centralauth-go/logout/outbox"
	"github.com/centralauth-go/logout/outbox/queuetest"
)

// TestRunFailsOnBrokenQueues runs the suite against a queue with one bug
// each, and checks that the suite fails, in the check that the bug breaks.
// The first case, a queue without a bug, passes: the bugs are the only
// reason for the failures.
func TestRunFailsOnBrokenQueues(t *testing.T) {
	tests := []struct {
		bug       bug
		wantCheck string // "": the suite passes
	}{
		{none, ""},
		{claimsEarly, "an entry is not due before its time"},
		{ignoresLeaseOnClaim, "a claimed entry is hidden for its lease"},
		{keepsLeaseOnReclaim, "then claimable under a new one"},
		{ackIgnoresLease, "a lease that ran out cannot Ack"},
		{releaseIgnoresLease, "a lease that ran out cannot Release"},
		{acceptsNoLease, "a released lease, or none, cannot Ack or Release"},
		{forgetsAttempts, "Release makes the entry due at next, with its attempts"},
		{newestFirst, "the entry due the longest is claimed first"},
		{unbounded, "a full queue refuses with ErrQueueFull"},
		{lenSkipsClaimed, "an entry is claimed as it was enqueued"},
		{noOldest, "Stats reports the oldest entry"},
		{noAttempted, "Stats reports the oldest entry"},
		{truncatesSealed, "an entry is claimed as it was enqueued"},
		{losesEnqueuedAt, "an entry is claimed as it was enqueued"},
		{dedupes, "entries with the same contents are kept apart"},
		{failsToCreate, "creating a queue: no such table"},
	}
	for _, tt := range tests {
		t.Run(tt.bug.String(), func(t *testing.T) {
			err := queuetest.Run(func(limit int) (outbox.Queue, error) {
				if tt.bug == failsToCreate {
					return nil, errors.New("no such table")
				}
				return &fakeQueue{limit: limit, bug: tt.bug}, nil
			})
			switch {
			case tt.wantCheck == "" && err != nil:
				t.Fatalf("the suite failed a queue without a bug:\n%v", err)
			case tt.wantCheck == "":
			case err == nil:
				t.Fatalf("the suite passed a queue that %s", tt.bug)
			case !strings.Contains(err.Error(), "queuetest: ") || !strings.Contains(err.Error(), tt.wantCheck):
				t.Fatalf("the suite failed, but not in %q:\n%v", tt.wantCheck, err)
			}
		})
	}
}

type bug int

const (
	none bug = iota
	claimsEarly
	ignoresLeaseOnClaim
	keepsLeaseOnReclaim
	ackIgnoresLease
	releaseIgnoresLease
	acceptsNoLease
	forgetsAttempts
	newestFirst
	unbounded
	lenSkipsClaimed
	noOldest
	noAttempted
	truncatesSealed
	losesEnqueuedAt
	dedupes
	failsToCreate
)

func (b bug) String() string {
	return [...]string{"no bug", "claims entries before they are due", "hands out claimed entries",
		"keeps the lease when an entry is claimed again", "acks under any lease", "releases under any lease",
		"acks and releases without a lease", "forgets attempts", "hands out the newest entry first",
		"is unbounded", "does not count claimed entries", "reports no oldest entry",
		"reports no attempted entries", "truncates what it holds", "loses the enqueue time",
		"drops an entry with the same contents as another", "cannot be created"}[b]
}

// fakeQueue is a small outbox.Queue, correct but for its bug.
type fakeQueue struct {
	mu      sync.Mutex
	limit   int
	bug     bug
	entries []*fakeEntry
	leases  int
}

type fakeEntry struct {
	outbox.Entry
	visible time.Time
}

func (q *fakeQueue) Enqueue(_ context.Context, id string, sealed []byte, now time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.entries) >= q.limit && q.bug != unbounded {
		return outbox.ErrQueueFull
	}
	for _, e := range q.entries {
		if q.bug == dedupes && string(e.Sealed) == string(sealed) {
			return nil
		}
	}
	if q.bug == truncatesSealed {
		sealed = sealed[:len(sealed)-1]
	}
	enq := now
	if q.bug == losesEnqueuedAt {
		enq = time.Time{}
	}
	q.entries = append(q.entries, &fakeEntry{Entry: outbox.Entry{ID: id, Sealed: append([]byte(nil), sealed...), EnqueuedAt: enq}, visible: now})
	return nil
}

func (q *fakeQueue) Claim(_ context.Context, now time.Time, lease time.Duration) (outbox.Entry, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var due *fakeEntry
	for _, e := range q.entries {
		visible := !e.visible.After(now) || q.bug == claimsEarly ||
			(q.bug == ignoresLeaseOnClaim && e.Lease != "")
		if !visible {
			continue
		}
		if due == nil || (q.bug != newestFirst && e.visible.Before(due.visible)) || (q.bug == newestFirst && e.visible.After(due.visible)) {
			due = e
		}
	}
	if due == nil {
		return outbox.Entry{}, false, nil
	}
	if due.Lease == "" || q.bug != keepsLeaseOnReclaim {
		q.leases++
		due.Lease = fmt.Sprint("lease-", q.leases)
	}
	due.visible = now.Add(lease)
	return due.Entry, true, nil
}

func (q *fakeQueue) holds(e outbox.Entry, bugged bool) (*fakeEntry, int) {
	for i, cur := range q.entries {
		if cur.ID == e.ID && (bugged || (e.Lease != "" && cur.Lease == e.Lease) || (q.bug == acceptsNoLease && cur.Lease == e.Lease)) {
			return cur, i
		}
	}
	return nil, -1
}

func (q *fakeQueue) Ack(_ context.Context, e outbox.Entry) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, i := q.holds(e, q.bug == ackIgnoresLease); i >= 0 {
		q.entries = append(q.entries[:i], q.entries[i+1:]...)
	}
	return nil
}

func (q *fakeQueue) Release(_ context.Context, e outbox.Entry, next time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if cur, _ := q.holds(e, q.bug == releaseIgnoresLease); cur != nil {
		if q.bug != forgetsAttempts {
			cur.Attempts = e.Attempts
		}
		cur.Lease, cur.visible = "", next
	}
	return nil
}

func (q *fakeQueue) Len(context.Context) (int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := int64(len(q.entries))
	if q.bug == lenSkipsClaimed {
		for _, e := range q.entries {
			if e.Lease != "" {
				n--
			}
		}
	}
	return n, nil
}

func (q *fakeQueue) Stats(ctx context.Context) (outbox.Stats, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := outbox.Stats{Pending: int64(len(q.entries))}
	for _, e := range q.entries {
		if q.bug != noOldest && (st.Oldest.IsZero() || e.EnqueuedAt.Before(st.Oldest)) {
			st.Oldest = e.EnqueuedAt
		}
		if q.bug != noAttempted && e.Attempts > 0 {
			st.Attempted++
		}
	}
	return st, nil
}
