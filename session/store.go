package session

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/centralauth-go/logout/clock"
)

// Store keeps a Session in a signed, optionally encrypted cookie. It is safe
// for concurrent use.
type Store struct {
	codecs  []securecookie.Codec // newest key first
	cfg     config
	clear   string // the Set-Cookie value that Clear writes
	clock   clock.Clock
	maxAgeS int64
}

var unixEpoch = time.Unix(0, 0).UTC()

// NewStore returns a Store that signs cookies with hashKey (HMAC-SHA256, at
// least 32 bytes; 64 random bytes is recommended). Keys are copied. An error
// matches ErrInvalidConfig and says what to fix.
func NewStore(hashKey []byte, opts ...Option) (*Store, error) {
	if len(hashKey) < minHashKeyLen {
		return nil, configError("hash key is %d bytes, want at least %d", len(hashKey), minHashKeyLen)
	}
	cfg := newConfig(DefaultCookieName)
	if err := cfg.apply(opts); err != nil {
		return nil, err
	}
	if cfg.sameSite == http.SameSiteNoneMode && cfg.insecure {
		return nil, configError("SameSite=None requires Secure; drop WithInsecure or WithSameSite")
	}
	pairs := append([]keyPair{{clone(hashKey), cfg.blockKey}}, cfg.previous...)
	codecs := make([]securecookie.Codec, len(pairs))
	for i, k := range pairs {
		sc := securecookie.New(k.hash, k.block)
		// The payload is already bytes (format.go). The age check runs on
		// the signed issue time inside it, against the injected clock, so
		// securecookie's own wall-clock check is off.
		sc.SetSerializer(securecookie.NopEncoder{})
		sc.MaxAge(0)
		// Length is bounded here instead: Load rejects long values before
		// decoding, and Save measures the whole Set-Cookie line.
		sc.MaxLength(0)
		codecs[i] = sc
	}
	s := &Store{
		codecs:  codecs,
		cfg:     cfg,
		clear:   cfg.clearHeader(),
		clock:   cfg.clock,
		maxAgeS: int64(cfg.maxAge / time.Second),
	}
	return s, nil
}

// Load returns the request's session. It returns ErrNoSession when there is
// no cookie, and an error matching ErrInvalidSession when the cookie is
// tampered with, signed with an unknown key, expired, malformed or too long.
// With WithRevocations, a logged-out session is an error matching ErrRevoked,
// and a failing list one matching ErrRevocationUnavailable. It never panics,
// whatever the cookie holds.
func (s *Store) Load(r *http.Request) (*Session, error) {
	p, err := s.decode(r)
	if err != nil {
		return nil, err
	}
	if err := s.checkRevoked(r.Context(), p.ID); err != nil {
		return nil, err
	}
	return p, nil
}

// Peek is Load without the revocation check. A logout uses it when the
// revocation list is down, so that it can still clear, revoke and end the
// CentralAuth session; never use it to authenticate a request.
func (s *Store) Peek(r *http.Request) (*Session, error) { return s.decode(r) }

// decode reads and verifies the cookie: signature, format and age.
func (s *Store) decode(r *http.Request) (*Session, error) {
	value, ok := cookieValue(r, s.cfg.name)
	if !ok {
		return nil, ErrNoSession
	}
	if len(value) > MaxCookieSize {
		return nil, errTooLong
	}
	var raw []byte
	if err := securecookie.DecodeMulti(s.cfg.name, value, &raw, s.codecs...); err != nil {
		// securecookie reports bad MACs, bad base64, unknown keys and
		// bad lengths through different types; all mean "not ours".
		return nil, errTampered
	}
	p, err := decodePayload(raw)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now().Unix()
	switch {
	case p.issuedAt > now+clockSkew:
		return nil, errFuture
	case now-p.issuedAt >= s.maxAgeS:
		return nil, errExpired
	case !p.session.Expires.IsZero() && now >= p.session.Expires.Unix():
		return nil, errExpired
	}
	return &p.session, nil
}

// clockSkew tolerates servers behind one load balancer whose clocks differ
// a little: a cookie issued by a server slightly ahead still loads.
const clockSkew = 60

// Save writes sess to a new cookie that expires after MaxAge, or at
// sess.Expires if that is sooner. If sess.ID is empty, Save sets it to a
// random 128-bit hex ID first, so the caller sees the ID. It returns
// ErrTooLarge, and writes nothing, when the cookie would exceed
// MaxCookieSize bytes.
func (s *Store) Save(w http.ResponseWriter, sess *Session) error {
	if sess == nil {
		return errors.New("session: Save of a nil *Session")
	}
	if sess.ID == "" {
		sess.ID = NewID()
	}
	now := s.clock.Now()
	maxAge := s.maxAgeS
	if !sess.Expires.IsZero() {
		left := int64(sess.Expires.Sub(now) / time.Second)
		if left <= 0 {
			return errors.New("session: Save of a session whose Expires has passed")
		}
		maxAge = min(maxAge, left)
	}
	// A cheap bound first, so a huge token fails before any crypto.
	if len(sess.ID)+len(sess.AccessToken)+len(sess.IDToken) > MaxCookieSize {
		return ErrTooLarge
	}
	value, err := s.codecs[0].Encode(s.cfg.name, appendPayload(nil, sess, now))
	if err != nil {
		return fmt.Errorf("session: encode cookie: %w", err)
	}
	ck := s.cfg.attributes()
	ck.Value = value
	ck.MaxAge = int(maxAge)
	ck.Expires = now.Add(time.Duration(maxAge) * time.Second)
	line := ck.String()
	if len(line) > MaxCookieSize {
		return ErrTooLarge
	}
	w.Header().Add("Set-Cookie", line)
	return nil
}

// Clear writes a Set-Cookie that removes the session cookie: same Name,
// Path, Domain, Secure, HttpOnly and SameSite as Save writes, an empty
// value, Max-Age=0 and an Expires date in 1970. It is safe to call when
// there is no cookie.
func (s *Store) Clear(w http.ResponseWriter) {
	w.Header().Add("Set-Cookie", s.clear)
}

// NewID returns a random 128-bit session ID in hex.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
