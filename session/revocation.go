package session

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// RevocationList remembers session IDs that were logged out, so that a
// copy of a signed cookie taken earlier stops loading although its
// signature is still valid. Implementations must be safe for concurrent
// use. MemoryRevocations is the single-instance default; package
// redisstore shares one list between instances.
type RevocationList interface {
	// Revoke marks id as logged out until the given time, after which the
	// cookie has expired anyway and the entry may be forgotten.
	Revoke(ctx context.Context, id string, until time.Time) error
	// Revoked reports whether id is marked as logged out. An error means
	// the list could not be asked; it never means "not revoked".
	Revoked(ctx context.Context, id string) (bool, error)
}

// ErrRevoked is matched by the error Load returns for a session that was
// logged out. It also matches ErrInvalidSession, so code that treats invalid
// cookies as "not signed in" treats revoked ones the same.
var ErrRevoked = errors.New("session: session was logged out")

// ErrRevocationUnavailable is matched by the error Load returns when the
// revocation list fails. The error also wraps the list's own error. Load
// then returns no session: an unreachable list is never read as "not
// revoked".
var ErrRevocationUnavailable = errors.New("session: revocation list unavailable")

type revokedError struct{}

func (revokedError) Error() string { return ErrRevoked.Error() }
func (revokedError) Is(target error) bool {
	return target == ErrRevoked || target == ErrInvalidSession
}

// WithRevocations sets the list that Load checks every session ID against
// and that Revoke and Logout add to, such as a redisstore.Revocations shared
// by every instance of the app. Default: a MemoryRevocations of up to
// 100,000 sessions, private to this Store.
func WithRevocations(list RevocationList) Option {
	return func(c *config) error {
		c.signedOnly = append(c.signedOnly, "WithRevocations")
		if list == nil {
			return configError("nil RevocationList")
		}
		c.revocations = list
		return nil
	}
}

// checkRevoked is Load's last step.
func (s *Store) checkRevoked(ctx context.Context, id string) error {
	revoked, err := s.cfg.revocations.Revoked(ctx, id)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", ErrRevocationUnavailable, err)
	case revoked:
		return revokedError{}
	}
	return nil
}

// Revoke adds sess's ID to the revocation list until the cookie could
// expire: sess.Expires, or now + MaxAge if that is sooner or Expires is
// unset, plus the minute of clock skew that Load tolerates. It does
// nothing, and returns nil, for a nil session or one without an ID. Logout
// calls it; call it yourself to end a session that is not the current
// request's.
func (s *Store) Revoke(ctx context.Context, sess *Session) error {
	if sess == nil || sess.ID == "" {
		return nil
	}
	// Load accepts cookies issued up to clockSkew ahead of this server's
	// clock, so the entry outlives the cookie by that much too; the margin
	// also covers a revocation store whose clock runs a little fast.
	margin := clockSkew * time.Second
	until := time.Now().Add(s.cfg.maxAge + margin)
	if !sess.Expires.IsZero() && sess.Expires.Add(margin).Before(until) {
		until = sess.Expires.Add(margin)
	}
	if !until.After(time.Now()) {
		return nil // the cookie has expired: Load refuses it already
	}
	if err := s.cfg.revocations.Revoke(ctx, sess.ID, until); err != nil {
		return fmt.Errorf("session: revoke: %w", err)
	}
	return nil
}

// MemoryRevocations is a RevocationList in this process's memory: the
// default for an app that runs as a single instance. Entries are forgotten
// once their time has passed. It is safe for concurrent use.
//
// The list is bounded. A Revoke on a full list is never refused: it evicts
// the entry that expires soonest, whose cookie is the nearest to expiring
// anyway. Refusing instead would let anyone who can log in and out fast
// enough fill the list and stop every later logout from revoking. Revoke
// and Revoked cost O(log n) and O(1), whatever the list holds.
type MemoryRevocations struct {
	mu      sync.RWMutex
	byID    map[string]*revocation
	byUntil revocationHeap // soonest expiry first
	max     int
}

type revocation struct {
	id    string
	until time.Time
	index int // in byUntil
}

// NewMemoryRevocations returns an empty list that holds at most maxEntries
// unexpired entries: 100,000 entries of 32-byte IDs take about 12 MB. A
// maxEntries below 1 is an error matching ErrInvalidConfig.
func NewMemoryRevocations(maxEntries int) (*MemoryRevocations, error) {
	if maxEntries < 1 {
		return nil, configError("max revocation entries %d is not positive", maxEntries)
	}
	return &MemoryRevocations{byID: make(map[string]*revocation), max: maxEntries}, nil
}

// errPastRevocation is what Revoke says of a time that has already passed:
// such an entry would be forgotten at once, so it is refused instead of
// being silently dropped.
var errPastRevocation = errors.New("session: revocation until a time that has already passed")

// Revoke implements RevocationList. An until that is not in the future is
// an error: the entry would never hold. A later until for an ID already on
// the list extends it; an earlier one never shortens it.
func (m *MemoryRevocations) Revoke(_ context.Context, id string, until time.Time) error {
	now := time.Now()
	if !until.After(now) {
		return errPastRevocation
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.byUntil) > 0 && !m.byUntil[0].until.After(now) {
		m.remove(m.byUntil[0])
	}
	if r, ok := m.byID[id]; ok {
		if until.After(r.until) {
			r.until = until
			heap.Fix(&m.byUntil, r.index)
		}
		return nil
	}
	if len(m.byUntil) >= m.max {
		m.remove(m.byUntil[0])
	}
	r := &revocation{id: id, until: until}
	m.byID[id] = r
	heap.Push(&m.byUntil, r)
	return nil
}

func (m *MemoryRevocations) remove(r *revocation) {
	heap.Remove(&m.byUntil, r.index)
	delete(m.byID, r.id)
}

// Revoked implements RevocationList.
func (m *MemoryRevocations) Revoked(_ context.Context, id string) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.byID[id]
	return ok && r.until.After(time.Now()), nil
}

// revocationHeap is a container/heap of revocations by until.
type revocationHeap []*revocation

func (h revocationHeap) Len() int           { return len(h) }
func (h revocationHeap) Less(i, j int) bool { return h[i].until.Before(h[j].until) }
func (h revocationHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *revocationHeap) Push(x any) {
	r := x.(*revocation)
	r.index = len(*h)
	*h = append(*h, r)
}
func (h *revocationHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return r
}
