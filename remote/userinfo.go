package remote

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/centralauth-go/logout/internal/userjson"
)

// User is CentralAuth's user, as userinfo answers while the session stands.
type User struct {
	ID       string
	Email    string
	Gravatar string // the URL of the user's Gravatar image
	Verified bool   // the email address is verified
	Blocked  bool
	// OrganizationID is "" for a user of no organization.
	OrganizationID string
	Created        time.Time
	Updated        time.Time
	LastLogin      time.Time // zero if the user never logged in
	// AffirmationDate is zero when CentralAuth sent none.
	AffirmationDate time.Time
}

// EndUser is the person whose session UserInfo asks about, as the app saw
// them: CentralAuth records both values, and its hijack protection compares
// them with the session's. Working them out from an inbound request,
// proxies included, is the app's job (package sessioncheck does it).
type EndUser struct {
	// IP is sent as auth-ip; the zero Addr is sent as 0.0.0.0.
	IP netip.Addr
	// UserAgent is sent as User-Agent; "" sends none.
	UserAgent string
}

// UserInfo asks CentralAuth whether the session that token (an access
// token or an ID token) belongs to still stands, and returns its user. It
// POSTs the token to {base}/api/v1/userinfo?domain=<app origin>, with the
// end user's IP and User-Agent. It needs
// WithAppOrigin: without it, UserInfo fails with an error matching
// ErrInvalidConfig, checked before the token, so that a call with an empty
// token tells, without a network call, whether the client can check
// sessions (ErrNoToken) or not.
//
// An error is one of three kinds. IsSessionEnded reports the first: the
// session was logged out, expired or is unknown, and the app should log
// the user out too. An *Error whose Code is "noPermission" or
// "domainInvalid" means the app is misconfigured (wrong secret, or an
// origin CentralAuth does not know). Anything else (a transport error, a
// timeout, 429, 5xx, an answer that is not the documented JSON or is over
// 64 KiB) means CentralAuth could not be asked: it is not a logout. Retries
// follow Logout's rules, within ctx's deadline.
func (cl *Client) UserInfo(ctx context.Context, token string, eu EndUser) (User, error) {
	c := cl.c
	// Configuration first, so that a caller can find out with an empty
	// token, and no call, that this client cannot check sessions.
	if c.userInfo == "" {
		return User{}, fmt.Errorf("%w: UserInfo needs WithAppOrigin", ErrInvalidConfig)
	}
	if token == "" {
		return User{}, ErrNoToken
	}
	var u User
	err := c.withRetries(ctx, func() error {
		return c.send(ctx, token, call{op: "userinfo", url: c.userInfo, endUser: &eu, ok: func(body []byte, tooLong bool) error {
			if tooLong {
				return unreadableError{"userinfo", "the answer is over 64 KiB"}
			}
			var err error
			u, err = parseUser(body)
			return err
		}})
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// sessionEndedCodes are the errorCodes with which CentralAuth says that a
// session no longer stands.
var sessionEndedCodes = []string{
	"sessionMissing", "sessionNotVerified", "sessionExpired", "sessionInactive",
	"sessionInvalid", "tokenMissing", "tokenInvalid",
}

// IsSessionEnded reports whether err is CentralAuth saying that the session
// no longer stands: an *Error with a 4xx status other than 429 and one of
// the errorCodes sessionMissing, sessionNotVerified, sessionExpired,
// sessionInactive, sessionInvalid, tokenMissing or tokenInvalid. Any other
// error is not a logout: an outage included, and so a 5xx, 429 or 3xx
// whatever its body says, since a failing server or a proxy in front of it
// can answer with any body.
func IsSessionEnded(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && e.StatusCode >= 400 && e.StatusCode <= 499 && !e.retryable() &&
		slices.Contains(sessionEndedCodes, e.Code)
}

// unreadableError is a 2xx answer that is not the documented JSON. It
// never holds any of the body.
type unreadableError struct{ op, reason string }

func (e unreadableError) Error() string {
	return "remote: " + e.op + " answer unreadable: " + e.reason
}

// parseUser reads userinfo's JSON strictly (package userjson): a body
// that is not a user object is unreadable, never a user.
func parseUser(body []byte) (User, error) {
	u, err := userjson.Parse(body)
	if err != nil {
		return User{}, unreadableError{"userinfo", err.Error()}
	}
	return User(u), nil
}

// userInfoURL is base/api/v1/userinfo with the app's origin as domain, or
// "" without one.
func userInfoURL(base *url.URL, appOrigin string) string {
	if appOrigin == "" {
		return ""
	}
	u := base.JoinPath("api", "v1", "userinfo")
	u.RawQuery = url.Values{"domain": {appOrigin}}.Encode()
	return u.String()
}

// parseOrigin validates an absolute http(s) origin: a scheme and a host,
// with an optional port, and nothing else. It returns it in canonical
// form, lower case.
func parseOrigin(origin string) (string, error) {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return "", errors.New("app origin must be an absolute http or https origin, such as https://app.example.com")
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(origin, "?#") {
		return "", errors.New("app origin must be a scheme and a host, with no user, path, query or fragment")
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}
