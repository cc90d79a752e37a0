package login

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/centralauth-go/logout/returnto"
)

// A pending login lives in a cookie of its own, so that logins started in
// several tabs at once each keep theirs: one cookie shared by all would be
// overwritten by whichever tab wrote last.
const (
	// cookieBase is the state cookies' name, before a random suffix that
	// tells one login's cookie from another's.
	cookieBase = "centralauth-login-"
	// hostPrefix makes a browser refuse the cookie unless it is Secure,
	// has Path=/ and no Domain: no sibling subdomain can plant a state.
	hostPrefix = "__Host-"
	// stateLifetime bounds how long a login may take, from the login page
	// to the callback.
	stateLifetime = 10 * time.Minute
	// maxPending is how many logins a browser may have under way: a newer
	// one drops the oldest.
	maxPending = 3
)

// pending is what a state cookie holds: the login's state, its PKCE
// verifier, the validated return_to, and when it started.
type pending struct {
	state    string
	verifier string
	returnTo string
	started  int64 // Unix seconds
}

// newPending starts a login: 128 bits of state and a verifier of 256 bits,
// 43 base64url characters, the shortest RFC 7636 allows.
func newPending(returnTo string, now time.Time) pending {
	return pending{state: random(16), verifier: random(32), returnTo: returnTo, started: now.Unix()}
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails; crypto/rand crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// challenge is the verifier's S256 code challenge.
func (p pending) challenge() string {
	sum := sha256.Sum256([]byte(p.verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// expired reports whether the login is too old to finish.
func (p pending) expired(now time.Time) bool {
	return now.Unix() >= p.started+int64(stateLifetime/time.Second) || now.Unix() < p.started-60
}

// encode is the cookie value: "1.<started>.<state>.<verifier>.<return_to
// in base64url>". Every field is in the cookie-safe base64url alphabet or
// digits.
func (p pending) encode() string {
	return "1." + strconv.FormatInt(p.started, 10) + "." + p.state + "." + p.verifier + "." +
		base64.RawURLEncoding.EncodeToString([]byte(p.returnTo))
}

var errMalformed = errors.New("login: malformed state cookie")

// decodePending reads a state cookie's value strictly. The browser sends
// it back, so it is untrusted: it must have the exact shape encode writes.
func decodePending(v string) (pending, error) {
	parts := strings.Split(v, ".")
	// base64's decoder skips \r and \n, even Strict: without this check a
	// field would have more than one spelling.
	if len(parts) != 5 || parts[0] != "1" || strings.ContainsAny(v, "\r\n") {
		return pending{}, errMalformed
	}
	started, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || started <= 0 || strconv.FormatInt(started, 10) != parts[1] {
		return pending{}, errMalformed
	}
	if !isBase64URL(parts[2], 22) || !isBase64URL(parts[3], 43) || len(parts[4]) > base64.RawURLEncoding.EncodedLen(returnto.MaxLength) {
		return pending{}, errMalformed
	}
	returnTo, err := base64.RawURLEncoding.Strict().DecodeString(parts[4])
	if err != nil || len(returnTo) == 0 {
		return pending{}, errMalformed
	}
	return pending{state: parts[2], verifier: parts[3], returnTo: string(returnTo), started: started}, nil
}

// isBase64URL reports whether s is n characters of unpadded base64url that
// decode canonically.
func isBase64URL(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}
