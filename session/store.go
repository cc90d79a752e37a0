package session

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gorilla/securecookie"
)

// Store keeps a Session in a signed, optionally encrypted cookie, and
// remembers logged-out sessions in a RevocationList so that a copy of a
// cookie taken before a logout stops loading. It is safe for concurrent use.
type Store struct {
	codecs  []securecookie.Codec // newest key first
	cfg     config
	memory  *MemoryRevocations // cfg.revocations, when it is one
	clear   string             // the Set-Cookie value that Clear writes
	maxAgeS int64
}

var unixEpoch = time.Unix(0, 0).UTC()

// NewStore returns a Store that signs cookies with hashKey (HMAC-SHA256, at
// least 32 bytes; 64 random bytes is recommended). Keys are copied. An error
// matches ErrInvalidConfig and says what to fix.
//
// Out of the box the Store revokes on logout: it keeps a MemoryRevocations
// of up to 100,000 sessions, which serves an app that runs as one instance.
// An app with several instances shares one list between them with
// WithRevocations (package redisstore has one in Redis).
func NewStore(hashKey []byte, opts ...Option) (*Store, error) {
	if len(hashKey) < minHashKeyLen {
		return nil, configError("hash key is %d bytes, want at least %d", len(hashKey), minHashKeyLen)
	}
	cfg := newConfig(defaultCookieName)
	if err := cfg.apply(opts); err != nil {
		return nil, err
	}
	if err := cfg.finishName(true); err != nil {
		return nil, err
	}
	if cfg.revocations == nil {
		list, err := NewMemoryRevocations(defaultMaxRevocations)
		if err != nil {
			return nil, err
		}
		cfg.revocations = list
	}
	if cfg.sameSite == http.SameSiteNoneMode && cfg.insecure {
		return nil, configError("SameSite=None requires Secure; drop WithInsecure or WithSameSite")
	}
	pairs := append([]keyPair{{clone(hashKey), cfg.blockKey}}, cfg.previous...)
	codecs := make([]securecookie.Codec, len(pairs))
	for i, k := range pairs {
		sc := securecookie.New(k.hash, k.block)
		// The payload is already bytes (format.go). The age check runs on
		// the signed issue time inside it, so securecookie's own timestamp
		// check is off.
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
		maxAgeS: int64(cfg.maxAge / time.Second),
	}
	// A full memory list fails closed on each cookie's issue time, which
	// only the Store knows, so the Store asks the list itself. This is the
	// package's own type, not an optional method looked for on any list:
	// no other RevocationList can answer by issue time.
	s.memory, _ = cfg.revocations.(*MemoryRevocations)
	return s, nil
}

// Load returns the request's session. It returns ErrNoSession when there is
// no cookie, and an error matching ErrInvalidSession when the cookie is
// tampered with, signed with an unknown key, expired, malformed or too long.
// A logged-out session is an error matching ErrRevoked (and so
// ErrInvalidSession), and so is one that a full MemoryRevocations cannot
// tell from a logged-out one. When the revocation list cannot be asked,
// the error matches ErrRevocationUnavailable and no session is returned:
// answer 503, not "logged out". It never panics, whatever the cookie holds.
func (s *Store) Load(r *http.Request) (*Session, error) {
	p, err := s.decode(r)
	if err != nil {
		return nil, err
	}
	if err := s.checkRevoked(r.Context(), p); err != nil {
		return nil, err
	}
	return &p.session, nil
}

// Logout ends the request's sessions in this app: it clears the cookie and
// revokes every session that a cookie of the Store's name holds, so that a
// copy of any of them taken earlier no longer loads. ctx bounds the
// revocations. It returns the sessions it ended, whose tokens a
// session-wide logout sends to CentralAuth.
//
// There is usually one. There are more when a sibling subdomain has set a
// cookie of the same name for the parent domain, or for the logout's path
// (which the default "__Host-" name prevents): the browser then sends both,
// and the app cannot tell which one is the user's, so it ends them all, up
// to 8.
//
// The cookie is always cleared. No session is returned when the request
// has none that can be trusted; err is then ErrNoSession or matches
// ErrInvalidSession (a session already logged out matches ErrRevoked, and
// so does one that a full MemoryRevocations refuses, which is revoked all
// the same). A
// revocation list that is down does not stop a logout: each cookie's
// signature and age are still checked and its session returned, with an
// error if it could not be revoked either. When sessions are returned, an
// error means some were not revoked: copies of their cookies keep loading
// until they expire.
func (s *Store) Logout(ctx context.Context, w http.ResponseWriter, r *http.Request) ([]*Session, error) {
	s.Clear(w)
	var (
		ended               []*Session
		firstErr, revokeErr error
		seen                int
	)
	for value := range cookieValues(r, s.cfg.name) {
		if seen++; seen > maxSessionsPerLogout {
			break
		}
		p, err := s.decodeValue(value)
		if err == nil && slices.ContainsFunc(ended, func(e *Session) bool { return e.ID == p.session.ID }) {
			continue // the same cookie twice
		}
		if err == nil {
			switch err = s.checkRevoked(ctx, p); {
			case err == errEvicted:
				// Not trusted, as in Load, but revoked all the same: once
				// the full list stops refusing by issue time, a copy of
				// this cookie must still fail. A memory list refuses only
				// a time already past, which Revoke never gives it.
				_ = s.Revoke(ctx, &p.session)
			case !errors.Is(err, ErrRevoked):
				err = nil // unavailable: revoke all the same, below
			}
		}
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		revokeErr = errors.Join(revokeErr, s.Revoke(ctx, &p.session))
		ended = append(ended, &p.session)
	}
	switch {
	case len(ended) > 0:
		return ended, revokeErr
	case firstErr != nil:
		return nil, firstErr
	}
	return nil, ErrNoSession
}

// maxSessionsPerLogout bounds the cookies one logout reads, each a
// signature check and a revocation.
const maxSessionsPerLogout = 8

// decode reads and verifies the request's first cookie of the Store's name.
func (s *Store) decode(r *http.Request) (*payload, error) {
	value, ok := cookieValue(r, s.cfg.name)
	if !ok {
		return nil, ErrNoSession
	}
	return s.decodeValue(value)
}

// decodeValue verifies one cookie value: signature, format and age.
func (s *Store) decodeValue(value string) (*payload, error) {
	if len(value) > maxCookieSize {
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
	now := time.Now().Unix()
	switch {
	case p.issuedAt > now+clockSkew:
		return nil, errFuture
	case now-p.issuedAt >= s.maxAgeS:
		return nil, errExpired
	case !p.session.Expires.IsZero() && now >= p.session.Expires.Unix():
		return nil, errExpired
	}
	return &p, nil
}

// clockSkew tolerates servers behind one load balancer whose clocks differ
// a little: a cookie issued by a server slightly ahead still loads.
const clockSkew = 60

// Save writes sess to a new cookie that expires after MaxAge, or at
// sess.Expires if that is sooner. If sess.ID is empty, Save sets it to a
// random 128-bit hex ID first, so the caller sees the ID. It returns
// ErrTooLarge, and writes nothing, when the cookie would exceed
// maxCookieSize bytes.
func (s *Store) Save(w http.ResponseWriter, sess *Session) error {
	if sess == nil {
		return errors.New("session: Save of a nil *Session")
	}
	if sess.ID == "" {
		sess.ID = newID()
	}
	now := time.Now()
	maxAge := s.maxAgeS
	if !sess.Expires.IsZero() {
		left := int64(sess.Expires.Sub(now) / time.Second)
		if left <= 0 {
			return errors.New("session: Save of a session whose Expires has passed")
		}
		maxAge = min(maxAge, left)
	}
	// A cheap bound first, so a huge token fails before any crypto.
	if len(sess.ID)+len(sess.AccessToken)+len(sess.IDToken) > maxCookieSize {
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
	if len(line) > maxCookieSize {
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

// newID returns a random 128-bit session ID in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
