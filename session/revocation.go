package session

import (
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

// ErrRevocationListFull is returned by MemoryRevocations.Revoke when the
// list holds its maximum of unexpired entries.
var ErrRevocationListFull = errors.New("session: revocation list full")

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
	if err := s.cfg.revocations.Revoke(ctx, sess.ID, until); err != nil {
		return fmt.Errorf("session: revoke: %w", err)
	}
	return nil
}

// MemoryRevocations is a RevocationList in this process's memory: the
// default for an app that runs as a single instance. Entries are forgotten
// once their time has passed. It is safe for concurrent use.
type MemoryRevocations struct {
	mu        sync.RWMutex
	until     map[string]time.Time
	max       int
	sinceScan int
}

// NewMemoryRevocations returns an empty list that holds at most maxEntries
// unexpired entries; Revoke past that returns ErrRevocationListFull rather
// than forget an entry. 100,000 entries take about 10 MB. A maxEntries
// below 1 is an error matching ErrInvalidConfig.
func NewMemoryRevocations(maxEntries int) (*MemoryRevocations, error) {
	if maxEntries < 1 {
		return nil, configError("max revocation entries %d is not positive", maxEntries)
	}
	return &MemoryRevocations{until: make(map[string]time.Time), max: maxEntries}, nil
}

// Revoke implements RevocationList. A time already past is a no-op.
func (m *MemoryRevocations) Revoke(_ context.Context, id string, until time.Time) error {
	now := time.Now()
	if !until.After(now) {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.until[id]; ok {
		if until.After(old) {
			m.until[id] = until
		}
		return nil
	}
	// Sweeping when full, and after as many inserts as the list holds,
	// keeps the cost per Revoke constant on average.
	m.sinceScan++
	if len(m.until) >= m.max || m.sinceScan > len(m.until) {
		m.sweep(now)
	}
	if len(m.until) >= m.max {
		return ErrRevocationListFull
	}
	m.until[id] = until
	return nil
}

func (m *MemoryRevocations) sweep(now time.Time) {
	for id, until := range m.until {
		if !until.After(now) {
			delete(m.until, id)
		}
	}
	m.sinceScan = 0
}

// Revoked implements RevocationList.
func (m *MemoryRevocations) Revoked(_ context.Context, id string) (bool, error) {
	m.mu.RLock()
	until, ok := m.until[id]
	m.mu.RUnlock()
	return ok && until.After(time.Now()), nil
}
