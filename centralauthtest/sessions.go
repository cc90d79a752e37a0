package centralauthtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"iter"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Session is a CentralAuth session of a user, and the two tokens that name
// it (the package comment says when they are real JWEs). Either token ends
// the whole session. While it is active, userinfo answers its user: the
// Email, an ID derived from it ("usr_…", the same for every session of the
// email), verified, not blocked, in organization "org_demo".
type Session struct {
	ID          string // such as "ses_…", unique
	Email       string // the user's email, as signed in
	AccessToken string
	IDToken     string
	Active      bool      // false once the session ended
	CreatedAt   time.Time // when it was signed in
	EndedAt     time.Time // zero while Active
}

// SignIn signs a user in without a browser: it starts an active session for
// email, taken as given, and returns it, with fresh tokens, as an app would
// have them after its login.
func (s *Server) SignIn(email string) Session {
	sess := &Session{
		ID:        "ses_" + hex.EncodeToString(randomBytes(16)),
		Email:     email,
		Active:    true,
		CreatedAt: s.now(),
	}
	user := userOf(*sess)
	sess.AccessToken = s.mint(claims{SessionID: sess.ID})
	sess.IDToken = s.mint(claims{SessionID: sess.ID, User: &user})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions = append(s.sessions, sess)
	s.byToken[sess.AccessToken] = sess
	s.byToken[sess.IDToken] = sess
	return *sess
}

// EndSession ends the session of token (an access token or an ID token),
// as another app's "log out everywhere" would: from now on userinfo
// answers 401 sessionInactive for both its tokens, and autologin asks
// again. It reports whether the fake issued the token; ending an ended
// session again changes nothing.
func (s *Server) EndSession(token string) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byToken[token]
	if ok && sess.Active {
		sess.Active = false
		sess.EndedAt = now
	}
	return ok
}

// Active reports whether token belongs to a session that is still active.
func (s *Server) Active(token string) bool {
	sess, ok := s.session(token)
	return ok && sess.Active
}

// Sessions yields every session signed in so far, active or ended, newest
// first: the one a test just signed in comes first, and a loop over a few
// of thousands stops early.
func (s *Server) Sessions() iter.Seq[Session] {
	return func(yield func(Session) bool) {
		s.mu.Lock()
		n := len(s.sessions)
		s.mu.Unlock()
		for i := n - 1; i >= 0; i-- {
			// Not held across yield: the loop body may call the fake.
			s.mu.Lock()
			sess := *s.sessions[i]
			s.mu.Unlock()
			if !yield(sess) {
				return
			}
		}
	}
}

// session returns the session that token belongs to, active or not.
func (s *Server) session(token string) (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byToken[token]
	if !ok {
		return Session{}, false
	}
	return *sess, true
}

// tokenKind is which of sess's tokens token is, as Call.Token says.
func tokenKind(sess Session, token string) string {
	if token == sess.IDToken {
		return "id"
	}
	return "access"
}

// directEncs maps the lengths of client secret that can be a key, with
// alg "dir", to the content encryption that takes a key of that length.
var directEncs = map[int]jose.ContentEncryption{
	16: jose.A128GCM, 24: jose.A192GCM, 32: jose.A256GCM,
	48: jose.A192CBC_HS384, 64: jose.A256CBC_HS512,
}

// newEncrypter returns the encrypter of CentralAuth's tokens under
// clientSecret, or nil for a secret no algorithm can use as a key.
func newEncrypter(clientSecret string) (jose.Encrypter, error) {
	enc, ok := directEncs[len(clientSecret)]
	if !ok {
		return nil, nil
	}
	return jose.NewEncrypter(enc, jose.Recipient{Algorithm: jose.DIRECT, Key: []byte(clientSecret)}, nil)
}

// claims is the payload of CentralAuth's tokens: the user is in the ID token.
type claims struct {
	SessionID string    `json:"sessionId"`
	User      *userInfo `json:"user,omitempty"`
}

// mint returns a token of c: a JWE under the client secret, or, for a
// secret that cannot be a key, a JWE-like random string. A fresh IV makes
// every JWE unique.
func (s *Server) mint(c claims) string {
	if s.encrypter == nil {
		return newJWELike()
	}
	payload, _ := json.Marshal(c) // strings and a struct of them cannot fail
	obj, err := s.encrypter.Encrypt(payload)
	if err != nil {
		// Only crypto/rand could fail here, and it crashes the program instead.
		panic("centralauthtest: encrypting a token: " + err.Error())
	}
	tok, _ := obj.CompactSerialize() // fails only for several recipients or unprotected headers
	return tok
}

// jweHeader is the protected header of the JWE-like tokens. An app sends
// tokens on as they are, so random bytes in the right shape are enough for
// all but reading them.
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
