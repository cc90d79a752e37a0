package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/centralauth-go/logout/remote"
)

// MemoryQueue is a Queue in this process's memory, for an app that runs as
// a single instance. Its entries are lost when the process exits; use
// redisstore.Queue to keep them. It is safe for concurrent use.
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
func (q *MemoryQueue) Enqueue(_ context.Context, token string, now time.Time) error {
	if token == "" {
		return remote.ErrNoToken
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.entries) >= q.limit {
		return fmt.Errorf("%w (%d entries)", ErrQueueFull, q.limit)
	}
	id := randomID()
	q.entries[id] = &memEntry{Entry: Entry{ID: id, Token: token, EnqueuedAt: now}, visibleAt: now}
	return nil
}

// Claim implements Queue. It hands out the entry that has been due the
// longest, so no entry starves.
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
	if cur, ok := q.entries[e.ID]; ok && cur.Lease == e.Lease {
		delete(q.entries, e.ID)
	}
	return nil
}

// Release implements Queue.
func (q *MemoryQueue) Release(_ context.Context, e Entry, next time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if cur, ok := q.entries[e.ID]; ok && cur.Lease == e.Lease {
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

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
