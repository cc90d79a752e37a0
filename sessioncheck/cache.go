package sessioncheck

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
	"unsafe"

	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
)

// entry is what the cache keeps of one session and token, in 112 bytes (see
// BenchmarkSessionCheckCache). Its times are durations since the Check's
// base.
type entry struct {
	user userRecord    // the last good answer, and the entry's flags
	tok  tokenHash     // the token the entry is for
	good time.Duration // when the last good answer came
	next time.Duration // when to ask again
	call *flight       // the call in progress, or nil
	// sid is the CentralAuth session that the token names, with
	// WithEndedSessions, or "". It never changes once the entry is made.
	sid string
}

// firstKey names a session without an answer yet: by ID and token, so
// that a new token under a known ID is a first check of its own.
type firstKey struct {
	id  string
	tok tokenHash
}

// tokenHash names the token an answer was for without keeping it: the
// first 64 bits of its SHA-256. Another token with the same hash is a
// second preimage, about 2^64 hashes away.
type tokenHash uint64

func hashToken(token string) tokenHash {
	// Sum256 only reads its input, so the token's bytes need no copy: a
	// copy would be an allocation on every request.
	sum := sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
	return tokenHash(binary.BigEndian.Uint64(sum[:8]))
}

// sessionToken is the token CentralAuth is asked about.
func sessionToken(s *session.Session) string {
	if s.AccessToken != "" {
		return s.AccessToken
	}
	return s.IDToken
}

// lookupLocked finds the entry for the session with token tok: its answer,
// or, with first true, its first check. c.mu is held.
func (c *Check) lookupLocked(id string, tok tokenHash) (e *entry, first bool) {
	if e := c.entries[id]; e != nil && e.tok == tok {
		return e, false
	}
	if e := c.first[firstKey{id, tok}]; e != nil {
		return e, true
	}
	return nil, false
}

// addFirstLocked adds a first check, or returns nil while maxFirst are in
// flight. When full, it drops one that failed: only another session
// without an answer is pushed out. c.mu is held for writing.
func (c *Check) addFirstLocked(k firstKey) *entry {
	if len(c.first) >= c.maxFirst {
		if c.firstCalls >= c.maxFirst {
			return nil
		}
		for old, e := range c.first {
			if e.call == nil {
				delete(c.first, old)
				break
			}
		}
	}
	e := &entry{tok: k.tok}
	c.first[k] = e
	return e
}

// keepLocked makes e the answer for session id, in place of another
// token's. When the cache is full, it drops an arbitrary entry (Go's map
// order is random) that no call is waiting on. c.mu is held for writing.
func (c *Check) keepLocked(id string, e *entry) {
	if _, ok := c.entries[id]; !ok && len(c.entries) >= c.maxEntries {
		for old, oe := range c.entries {
			if oe.call == nil {
				delete(c.entries, old)
				break
			}
		}
	}
	c.entries[id] = e
}

// userRecord is a remote.User in fewer bytes: its four strings end to end
// in one string (a header and an allocation instead of four), and its
// times as Unix nanoseconds (0 for the zero time) instead of time.Time's
// 24 bytes each. It also holds the entry's flags, in what would be
// padding.
type userRecord struct {
	strs              string    // ID, Email, Gravatar and OrganizationID
	ends              [3]uint32 // where the first three end in strs
	verified, blocked bool
	vouched           bool    // an answer came: false for a first check
	failed            failure // why the last call could not vouch for the session

	created, updated, lastLogin, affirmed int64
}

// failure is why an entry's last call could not vouch for its session, in
// one byte where an Outcome would take sixteen.
type failure uint8

const (
	notFailed failure = iota
	failedUnavailable
	failedMisconfigured
)

func newUserRecord(u remote.User) userRecord {
	id, email, gravatar := len(u.ID), len(u.ID)+len(u.Email), len(u.ID)+len(u.Email)+len(u.Gravatar)
	return userRecord{
		strs:    u.ID + u.Email + u.Gravatar + u.OrganizationID,
		ends:    [3]uint32{uint32(id), uint32(email), uint32(gravatar)},
		created: unixNano(u.Created), updated: unixNano(u.Updated),
		lastLogin: unixNano(u.LastLogin), affirmed: unixNano(u.AffirmationDate),
		verified: u.Verified, blocked: u.Blocked, vouched: true,
	}
}

func (u userRecord) user() remote.User {
	id, email, gravatar := u.ends[0], u.ends[1], u.ends[2]
	return remote.User{
		ID: u.strs[:id], Email: u.strs[id:email], Gravatar: u.strs[email:gravatar], OrganizationID: u.strs[gravatar:],
		Created: fromUnixNano(u.created), Updated: fromUnixNano(u.updated),
		LastLogin: fromUnixNano(u.lastLogin), AffirmationDate: fromUnixNano(u.affirmed),
		Verified: u.verified, Blocked: u.blocked,
	}
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
