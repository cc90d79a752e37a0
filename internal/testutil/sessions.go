package testutil

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
)

// Session is a CentralAuth user session and the two tokens that identify
// it. Either token logs the whole session out.
type Session struct {
	ID          string
	User        string
	AccessToken string
	IDToken     string
	Active      bool      // false once the session was logged out
	CreatedAt   time.Time // by the fake's clock
	EndedAt     time.Time // zero while Active
}

// IssueSession starts an active session for user and returns it, with a
// fresh access token and ID token.
func (ca *CentralAuth) IssueSession(user string) Session {
	s := &Session{
		ID:          "ses_" + hex.EncodeToString(randomBytes(16)),
		User:        user,
		AccessToken: newJWELike(),
		IDToken:     newJWELike(),
		Active:      true,
		CreatedAt:   ca.clock.Now(),
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.sessions = append(ca.sessions, s)
	ca.byToken[s.AccessToken] = s
	ca.byToken[s.IDToken] = s
	return *s
}

// Sessions returns a snapshot of every session issued, in creation order.
func (ca *CentralAuth) Sessions() []Session {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	out := make([]Session, len(ca.sessions))
	for i, s := range ca.sessions {
		out[i] = *s
	}
	return out
}

// SessionByToken returns the session that token (an access token or an ID
// token) belongs to, active or not.
func (ca *CentralAuth) SessionByToken(token string) (Session, bool) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	s, ok := ca.byToken[token]
	if !ok {
		return Session{}, false
	}
	return *s, true
}

// Active reports whether token belongs to a session that is still active.
func (ca *CentralAuth) Active(token string) bool {
	s, ok := ca.SessionByToken(token)
	return ok && s.Active
}

// EndSession logs out the session of token. It reports whether the token
// is known; ending an ended session again is not an error.
func (ca *CentralAuth) EndSession(token string) bool {
	now := ca.clock.Now()
	ca.mu.Lock()
	defer ca.mu.Unlock()
	s, ok := ca.byToken[token]
	if !ok {
		return false
	}
	if s.Active {
		s.Active = false
		s.EndedAt = now
	}
	return true
}

// jweHeader is the protected header of the fake tokens. Real tokens are
// JWE encrypted with the app secret; clients never decrypt them to log out,
// so random bytes in the right shape are enough.
var jweHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"A256KW","enc":"A256GCM"}`))

// newJWELike returns a random string in JWE compact serialization: header,
// encrypted key, IV, ciphertext and tag, base64url-encoded and joined by dots.
func newJWELike() string {
	enc := base64.RawURLEncoding.EncodeToString
	return strings.Join([]string{
		jweHeader,
		enc(randomBytes(40)), // A256KW-wrapped 256-bit key
		enc(randomBytes(12)), // GCM IV
		enc(randomBytes(96)), // ciphertext
		enc(randomBytes(16)), // GCM tag
	}, ".")
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand crashes the program instead)
	return b
}

// RecentSessions returns the newest n sessions, newest first, and how many
// sessions there are in all: a page can list a few without copying
// thousands.
func (ca *CentralAuth) RecentSessions(n int) (recent []Session, total int) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	total = len(ca.sessions)
	for i := total - 1; i >= 0 && len(recent) < n; i-- {
		recent = append(recent, *ca.sessions[i])
	}
	return recent, total
}

// ActiveCount returns how many sessions are still active.
func (ca *CentralAuth) ActiveCount() int {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	n := 0
	for _, s := range ca.sessions {
		if s.Active {
			n++
		}
	}
	return n
}
