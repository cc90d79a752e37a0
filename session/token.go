package session

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
)

// TokenCookie reads the cookie that CentralAuth's Node library sets: the raw
// CentralAuth token, unsigned by the app (CentralAuth signs and encrypts it).
// Use it while an app moves from that library to Store, or alongside it. It
// is safe for concurrent use.
//
// A TokenCookie keeps no revocation list: the token is CentralAuth's, and
// a copy of it stays usable until CentralAuth ends its session. Pair it
// with a session-wide logout, or move to Store.
type TokenCookie struct {
	cfg   config
	clear string
	isID  bool
}

// Cookie names that the Node library uses, for the ID-token flavour. Every
// other name is read as an access token.
var idTokenNames = map[string]bool{"id_token": true, "idToken": true}

// NewTokenCookie returns a TokenCookie for the cookie named "access_token",
// or the one WithCookieName names: "id_token" (or the older "idToken") is
// read into Session.IDToken, every other name into Session.AccessToken.
// WithCookiePath, WithDomain, WithInsecure and WithSameSite must match how
// the cookie was set, or Clear will not remove it; their defaults match the
// Node library. An invalid option, or one that only a Store takes
// (WithEncryptionKey, WithPreviousKeys, WithMaxAge, WithRevocations), is an
// error matching ErrInvalidConfig.
func NewTokenCookie(opts ...Option) (*TokenCookie, error) {
	cfg := newConfig(defaultTokenCookieName)
	if err := cfg.apply(opts); err != nil {
		return nil, err
	}
	if err := cfg.finishName(false); err != nil {
		return nil, err
	}
	if len(cfg.signedOnly) > 0 {
		return nil, configError("%s applies to a signed Store, not a TokenCookie", strings.Join(cfg.signedOnly, ", "))
	}
	return &TokenCookie{cfg: cfg, clear: cfg.clearHeader(), isID: idTokenNames[cfg.name]}, nil
}

// Load returns a Session holding the cookie's token, with an ID derived from
// a hash of the token (so revocation lists can name it without storing it).
// It returns ErrNoSession when there is no cookie, and an error matching
// ErrInvalidSession when the value is too long or not token-shaped.
func (t *TokenCookie) Load(r *http.Request) (*Session, error) {
	value, ok := cookieValue(r, t.cfg.name)
	if !ok {
		return nil, ErrNoSession
	}
	return t.session(value)
}

// session reads one cookie value.
func (t *TokenCookie) session(value string) (*Session, error) {
	if value == "" {
		return nil, ErrNoSession
	}
	if len(value) > maxCookieSize {
		return nil, errTooLong
	}
	if !isTokenShaped(value) {
		return nil, errMalformed
	}
	sum := sha256.Sum256([]byte(value))
	s := &Session{ID: "tok-" + hex.EncodeToString(sum[:16])}
	if t.isID {
		s.IDToken = value
	} else {
		s.AccessToken = value
	}
	return s, nil
}

// Clear removes the cookie the way the Node library does: same Path,
// HttpOnly, SameSite and Secure, an empty value and an Expires date in
// 1970, plus Max-Age=0.
func (t *TokenCookie) Clear(w http.ResponseWriter) {
	w.Header().Add("Set-Cookie", t.clear)
}

// Logout clears the cookie and returns the sessions that cookies of its
// name held, whose tokens a session-wide logout sends to CentralAuth; see
// Store.Logout for why there may be several, and for the errors. Nothing
// is revoked: see TokenCookie.
func (t *TokenCookie) Logout(_ context.Context, w http.ResponseWriter, r *http.Request) ([]*Session, error) {
	t.Clear(w)
	var (
		ended    []*Session
		firstErr error
		seen     int
	)
	for value := range cookieValues(r, t.cfg.name) {
		if seen++; seen > maxSessionsPerLogout {
			break
		}
		sess, err := t.session(value)
		switch {
		case err != nil:
			firstErr = cmp.Or(firstErr, err)
		case !slices.ContainsFunc(ended, func(e *Session) bool { return e.ID == sess.ID }):
			ended = append(ended, sess)
		}
	}
	switch {
	case len(ended) > 0:
		return ended, nil
	case firstErr != nil:
		return nil, firstErr
	}
	return nil, ErrNoSession
}

// isTokenShaped accepts the characters of a JWE or JWT in compact form
// (base64url and dots), plus the standard base64 alphabet for tokens that
// other tools wrote.
func isTokenShaped(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.+/=~", c) >= 0) {
			return false
		}
	}
	return true
}
