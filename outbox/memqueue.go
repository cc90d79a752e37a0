package outbox

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MemoryQueue is a Queue in this process's memory, for an app that runs as
// a single instance. Its entries are lost when the process exits; use
// redisstore.Queue to keep them. An Outbox needs no encryption key for it.
// It is safe for concurrent use.
type MemoryQueue struct {
	mu      sync.Mutex
	limit   int
	entries map[string]*memEntry
}

type memEntry struct {
	Entry
	visibleAt time.Time // due time, or the end of the current lease
}

// NewMemoryQueue returns a queue that holds at most limit entries; Enqueue
// past it returns an error matching ErrQueueFull. A limit below 1 is an
// error matching ErrInvalidConfig.
func NewMemoryQueue(limit int) (*MemoryQueue, error) {
	if limit < 1 {
		return nil, configError("queue limit %d is not positive", limit)
	}
	return &MemoryQueue{limit: limit, entries: make(map[string]*memEntry)}, nil
}

// Enqueue implements Queue.
func (q *MemoryQueue) Enqueue(_ context.Context, id string, sealed []byte, now time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.entries) >= q.limit {
		return fmt.Errorf("%w (%d entries)", ErrQueueFull, q.limit)
	}
	e := Entry{ID: id, Sealed: slices.Clone(sealed), EnqueuedAt: now}
	q.entries[id] = &memEntry{Entry: e, visibleAt: now}
	return nil
}

// Claim implements Queue.
func (q *MemoryQueue) Claim(_ context.Context, now time.Time, lease time.Duration) (Entry, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var due *memEntry
	for _, e := range q.entries {
		if !e.visibleAt.After(now) && (due == nil || e.visibleAt.Before(due.visibleAt)) {
			due = e
		}
	}
	if due == nil {
		return Entry{}, false, nil
	}
	due.Lease = randomID()
	due.visibleAt = now.Add(lease)
	return due.Entry, true, nil
}

// Ack implements Queue.
func (q *MemoryQueue) Ack(_ context.Context, e Entry) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if cur, ok := q.entries[e.ID]; ok && e.Lease != "" && cur.Lease == e.Lease {
		delete(q.entries, e.ID)
	}
	return nil
}

// Release implements Queue.
func (q *MemoryQueue) Release(_ context.Context, e Entry, next time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if cur, ok := q.entries[e.ID]; ok && e.Lease != "" && cur.Lease == e.Lease {
		cur.Attempts = e.Attempts
		cur.Lease = ""
		cur.visibleAt = next
	}
	return nil
}

// Len implements Queue.
func (q *MemoryQueue) Len(context.Context) (int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return int64(len(q.entries)), nil
}

// Stats implements Queue: Pending, Oldest and Attempted, from a pass over
// the entries.
func (q *MemoryQueue) Stats(context.Context) (Stats, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := Stats{Pending: int64(len(q.entries))}
	for _, e := range q.entries {
		if st.Oldest.IsZero() || e.EnqueuedAt.Before(st.Oldest) {
			st.Oldest = e.EnqueuedAt
		}
		if e.Attempts > 0 {
			st.Attempted++
		}
	}
	return st, nil
}
