package session

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// RevocationList remembers session IDs that were logged out, so that a
// copy of a signed cookie taken earlier stops loading although its
// signature is still valid. Implementations must be safe for concurrent
// use. MemoryRevocations is the single-instance default; package
// redisstore shares one list between instances. Package revocationtest
// checks an implementation against this contract.
type RevocationList interface {
	// Revoke marks id as logged out until the given time, after which the
	// cookie has expired anyway and the entry may be forgotten. A later
	// until extends an entry; an earlier one never shortens it. An until
	// that has passed is an error: the entry would never hold.
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

// revokedError matches ErrRevoked and ErrInvalidSession; its text says
// why the session is refused.
type revokedError string

func (e revokedError) Error() string { return string(e) }
func (revokedError) Is(target error) bool {
	return target == ErrRevoked || target == ErrInvalidSession
}

var errLoggedOut = revokedError(ErrRevoked.Error())

// errEvicted is a full MemoryRevocations failing closed (see there).
const errEvicted revokedError = "session: session may have been logged out: it was issued before a revocation that the full memory list dropped"

// WithRevocations sets the list that Load checks every session ID against
// and that Revoke and Logout add to, such as a redisstore.Revocations shared
// by every instance of the app. A *MemoryRevocations fails closed when
// full, so that some sessions that never logged out must log in again (see
// MemoryRevocations); pass it as it is, not wrapped in another
// RevocationList. Default: a MemoryRevocations of up to 100,000 sessions,
// private to this Store.
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
func (s *Store) checkRevoked(ctx context.Context, p *payload) error {
	if s.memory != nil {
		return s.memory.refusal(p.session.ID, p.issuedAt)
	}
	revoked, err := s.cfg.revocations.Revoked(ctx, p.session.ID)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", ErrRevocationUnavailable, err)
	case revoked:
		return errLoggedOut
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
// enough fill the list and stop every later logout from revoking.
//
// An evicted session's cookie must not load again, but its ID is gone, so
// a full list fails closed. Until every evicted entry would have expired,
// a Store that uses the list refuses, as ErrRevoked, every cookie issued
// before the evicted sessions were revoked, or up to a minute after (the
// clock skew Load tolerates): the list cannot tell those cookies from the
// evicted sessions'. The cost is that users who never logged out must log
// in again. The list logs this at Warn, once each time it starts, through
// slog.Default() as it was when the list was made. To avoid it, size the
// list above the logouts that one MaxAge sees, or share a list in Redis.
//
// The Store does this with the cookie's issue time, which Revoked is not
// given: on its own, Revoked answers for the IDs on the list only, and a
// RevocationList that wraps a MemoryRevocations does not fail closed.
// Revoke and Revoked cost O(log n) and O(1), whatever the list holds.
type MemoryRevocations struct {
	mu      sync.RWMutex
	byID    map[string]*revocation
	byUntil revocationHeap // soonest expiry first
	max     int
	log     *slog.Logger

	// Every cookie issued at or before refuseIssuedBy (Unix seconds) may
	// be an evicted session's, until refuseUntil, when the last of them
	// would have expired.
	refuseIssuedBy int64
	refuseUntil    time.Time
}

type revocation struct {
	id    string
	until time.Time
	// revokedAt is the latest Revoke of id, in Unix seconds: every cookie
	// it revoked had been issued by then.
	revokedAt int64
	index     int // in byUntil
}

// NewMemoryRevocations returns an empty list that holds at most maxEntries
// unexpired entries: 100,000 entries of 32-byte IDs take about 14 MB. Once
// the list is full, some sessions that never logged out must log in again
// (see MemoryRevocations). A maxEntries below 1 is an error matching
// ErrInvalidConfig.
func NewMemoryRevocations(maxEntries int) (*MemoryRevocations, error) {
	if maxEntries < 1 {
		return nil, configError("max revocation entries %d is not positive", maxEntries)
	}
	return &MemoryRevocations{byID: make(map[string]*revocation), max: maxEntries, log: slog.Default()}, nil
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
	started := m.add(id, until, now)
	issuedBy, refuseUntil := m.refuseIssuedBy, m.refuseUntil
	m.mu.Unlock()
	if started {
		m.log.Warn("session: memory revocation list full; sessions issued before the revocations it drops are refused, and their users must log in again; raise its bound or share a list in Redis",
			slog.Int("max_entries", m.max),
			slog.Time("refused_if_issued_by", time.Unix(issuedBy, 0)),
			slog.Time("until_at_least", refuseUntil))
	}
	return nil
}

// add is Revoke's work under m.mu. It reports whether an eviction made the
// list start refusing by issue time.
func (m *MemoryRevocations) add(id string, until, now time.Time) (started bool) {
	for len(m.byUntil) > 0 && !m.byUntil[0].until.After(now) {
		m.remove(m.byUntil[0])
	}
	if r, ok := m.byID[id]; ok {
		r.revokedAt = now.Unix()
		if until.After(r.until) {
			r.until = until
			heap.Fix(&m.byUntil, r.index)
		}
		return false
	}
	if len(m.byUntil) >= m.max {
		started = m.evict(now)
	}
	r := &revocation{id: id, until: until, revokedAt: now.Unix()}
	m.byID[id] = r
	heap.Push(&m.byUntil, r)
	return started
}

// evict removes the entry that expires soonest, and has the Store refuse
// every cookie that may be its session's until the entry would have
// expired. It reports whether the list was not refusing any before.
func (m *MemoryRevocations) evict(now time.Time) (started bool) {
	r := m.byUntil[0]
	m.remove(r)
	started = !now.Before(m.refuseUntil)
	// The cookie was issued by r.revokedAt, on this server's clock; one
	// issued by another server may read up to clockSkew later.
	m.refuseIssuedBy = max(m.refuseIssuedBy, r.revokedAt+clockSkew)
	if r.until.After(m.refuseUntil) {
		m.refuseUntil = r.until
	}
	return started
}

func (m *MemoryRevocations) remove(r *revocation) {
	heap.Remove(&m.byUntil, r.index)
	delete(m.byID, r.id)
}

// Revoked implements RevocationList. It answers for the IDs on the list
// only; a Store that uses the list also refuses what an eviction may have
// dropped (see MemoryRevocations).
func (m *MemoryRevocations) Revoked(_ context.Context, id string) (bool, error) {
	m.mu.RLock()
	r, ok := m.byID[id]
	var until time.Time
	if ok {
		until = r.until
	}
	m.mu.RUnlock()
	// Most IDs are not on the list: reading the clock only for those that
	// are keeps it off the session check's every request.
	return ok && until.After(time.Now()), nil
}

// refusal is Revoked for a Store, which also knows when the cookie of the
// session id was issued (Unix seconds): errLoggedOut if id is on the list,
// errEvicted if the cookie may be an evicted session's, nil otherwise.
func (m *MemoryRevocations) refusal(id string, issuedAt int64) error {
	now := time.Now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	switch {
	case m.onList(id, now):
		return errLoggedOut
	case issuedAt <= m.refuseIssuedBy && now.Before(m.refuseUntil):
		return errEvicted
	}
	return nil
}

func (m *MemoryRevocations) onList(id string, now time.Time) bool {
	r, ok := m.byID[id]
	return ok && r.until.After(now)
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
