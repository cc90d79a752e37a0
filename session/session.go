package session

import (
	"errors"
	"time"
)

// Session is what the app remembers about a signed-in user.
type Session struct {
	// ID identifies the session for revocation and logs. Store.Save fills
	// in a random 128-bit hex ID when it is empty. It is not a secret.
	ID string
	// AccessToken is the CentralAuth access token, sent to CentralAuth on a
	// session-wide logout. It is a secret: never log it.
	AccessToken string
	// IDToken is the CentralAuth ID token, used for session-wide logout
	// when there is no access token. It is a secret: never log it.
	IDToken string
	// Expires is when the session ends, if earlier than the store's MaxAge.
	// The zero value means "when MaxAge runs out". It is stored to the
	// second.
	Expires time.Time
}

// ErrNoSession is returned by Load when the request has no session cookie.
var ErrNoSession = errors.New("session: no session cookie")

// ErrInvalidSession is matched, with errors.Is, by the error Load returns
// for a cookie that is present but unusable: tampered with, signed with an
// unknown key, expired, malformed or too long. Such cookies are expected
// input from the internet, not a server fault.
var ErrInvalidSession = errors.New("session: invalid session cookie")

// ErrTooLarge is returned by Save instead of writing a Set-Cookie line over
// 4096 bytes, name and attributes included, which browsers would silently
// drop.
var ErrTooLarge = errors.New("session: cookie would exceed 4096 bytes")

// ErrInvalidConfig is matched by the errors that constructors and options
// return for a configuration they cannot use.
var ErrInvalidConfig = errors.New("session: invalid configuration")

// maxCookieSize is the largest Set-Cookie line, name and attributes
// included, that Save writes. Browsers guarantee at least this much.
const maxCookieSize = 4096

// invalid builds a reason that matches ErrInvalidSession. The reasons are
// fixed strings: the cookie's content never goes into an error.
type invalidError string

func (e invalidError) Error() string        { return "session: invalid session cookie: " + string(e) }
func (e invalidError) Is(target error) bool { return target == ErrInvalidSession }

const (
	errTampered  invalidError = "bad signature, unknown key or undecodable"
	errMalformed invalidError = "malformed payload"
	errExpired   invalidError = "expired"
	errTooLong   invalidError = "too long"
	errFuture    invalidError = "issued in the future"
)
