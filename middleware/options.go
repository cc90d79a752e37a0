package middleware

import (
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/centralauth-go/logout/session"
	"github.com/centralauth-go/logout/token"
)

// Option configures a LogoutHandler in NewLogoutHandler.
type Option func(*config) error

type config struct {
	remote          Remote
	outbox          Outbox
	sessionWide     bool
	allowedHosts    []string
	defaultReturnTo string
	path            string
	getLogout       bool
	bearer          bool
	trustedOrigins  []string
	errorHandler    func(http.ResponseWriter, *http.Request, error)
	onLogout        func(*http.Request, Event)
	logger          *slog.Logger
	remoteTimeout   time.Duration
	tokens          *token.Decrypter
	ended           session.RevocationList
}

// isNil reports whether v is nil, or an interface holding a nil pointer
// (such as a *remote.Client that NewClient did not return), which would
// only fail at the first logout.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// WithRemote sets what sends session-wide logouts to CentralAuth, usually
// a *remote.Client. Default: none, which allows only local logout.
func WithRemote(rc Remote) Option {
	return func(c *config) error {
		if isNil(rc) {
			return configError("nil Remote")
		}
		c.remote = rc
		return nil
	}
}

// WithOutbox makes a session-wide logout that fails with a retryable error
// (CentralAuth down, overloaded or too slow for WithRemoteTimeout) go to the
// outbox, usually an *outbox.Outbox whose Run the app starts, which retries
// it instead of letting it be lost. Default: none; such a failure is only
// reported.
func WithOutbox(o Outbox) Option {
	return func(c *config) error {
		if isNil(o) {
			return configError("nil Outbox")
		}
		c.outbox = o
		return nil
	}
}

// WithSessionWide makes every logout end the CentralAuth session in all
// apps of the organization, not only this app's cookie. It needs WithRemote,
// and has an effect only when the organization enabled autologin. For a
// "log out everywhere" button beside a plain "log out", make a second
// handler with it, on a route of its own. Default: false.
func WithSessionWide(on bool) Option {
	return func(c *config) error {
		c.sessionWide = on
		return nil
	}
}

// WithAllowedHosts allows absolute return_to URLs on these hosts, in
// addition to paths on this origin. A pattern is an exact host
// ("app.example.com", which matches the scheme's default port only), a
// host and port ("app.example.com:8443"), or a wildcard for subdomains
// ("*.example.com", not example.com itself; "*.com" is refused). Hosts are
// compared in canonical form: case-insensitive, IDNs as punycode. Repeated
// calls add up. Default: none, so only paths are allowed.
func WithAllowedHosts(patterns ...string) Option {
	return func(c *config) error {
		c.allowedHosts = append(c.allowedHosts, patterns...)
		return nil
	}
}

// WithDefaultReturnTo sets where to redirect when return_to is absent or
// unsafe. It must itself be safe under the allowed hosts. Default: "/".
func WithDefaultReturnTo(location string) Option {
	return func(c *config) error {
		c.defaultReturnTo = location
		return nil
	}
}

// WithPath sets the path that Middleware serves; ServeHTTP ignores it, since
// the router already chose the route. Default: "/logout".
func WithPath(path string) Option {
	return func(c *config) error {
		if !strings.HasPrefix(path, "/") {
			return configError("path %q does not start with /", path)
		}
		c.path = path
		return nil
	}
}

// WithGETLogout(true) makes GET log out directly, as the Node library does,
// instead of showing a confirmation page. Any page on the web can then log
// your users out with a link or an image (logout CSRF): turn it on only if
// that is acceptable. HEAD never logs out. Default: false.
func WithGETLogout(on bool) Option {
	return func(c *config) error {
		c.getLogout = on
		return nil
	}
}

// WithBearerToken(true) lets a session-wide logout take the token to end
// from an "Authorization: Bearer" header, ahead of the session's own, as
// the Node library does: for API clients that hold a CentralAuth token but
// no session cookie. Any client can then have the app send a string of its
// choosing to CentralAuth with the app's credentials, and have it queued
// when CentralAuth fails; such a token must look like a compact JWE or JWT
// and fit in 8 KiB, or it is ignored. Default: false; only the token of a
// session whose cookie verified is ever sent or queued.
func WithBearerToken(on bool) Option {
	return func(c *config) error {
		c.bearer = on
		return nil
	}
}

// WithTrustedOrigins lets POSTs from these origins ("https://app.example.com",
// scheme and host, no path) log out, although cross-origin. Default: none;
// only same-origin POSTs log out.
func WithTrustedOrigins(origins ...string) Option {
	return func(c *config) error {
		c.trustedOrigins = append(c.trustedOrigins, origins...)
		return nil
	}
}

// WithErrorHandler sets what answers a refused request. It receives a
// *RequestError whose Status is 403 (cross-origin, ErrCrossOrigin) or 405
// (a method other than GET, HEAD and POST; the Allow header is already set)
// and must write the response. Default: the status and its text, as plain
// text.
func WithErrorHandler(fn func(http.ResponseWriter, *http.Request, error)) Option {
	return func(c *config) error {
		if fn == nil {
			return configError("nil error handler")
		}
		c.errorHandler = fn
		return nil
	}
}

// WithOnLogout sets a hook that receives an Event after every logout,
// synchronously, before the response is written: for audit logs or metrics.
// Default: none.
func WithOnLogout(fn func(*http.Request, Event)) Option {
	return func(c *config) error {
		if fn == nil {
			return configError("nil OnLogout hook")
		}
		c.onLogout = fn
		return nil
	}
}

// WithLogger sets the logger. Failed session-wide logouts are logged at
// Error, unusable session cookies at Warn or Debug, and rejected return_to
// values at Debug. Tokens and secrets are never logged. Default:
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return configError("nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithRemoteTimeout bounds the time a session-wide logout may add to one
// logout request, retries included: a slow or unreachable CentralAuth
// delays the redirect by at most this. Default: 3s.
func WithRemoteTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return configError("remote timeout %v is not positive", d)
		}
		c.remoteTimeout = d
		return nil
	}
}

// WithEndedSessions has a session-wide logout add the CentralAuth session
// it ends to ended, the list of ended sessions that the other apps'
// session checks read (sessioncheck.WithEndedSessions, with the same
// list), so that they end it on their next request instead of at their
// check interval. tokens reads the CentralAuth session from the token that
// the logout sends; a token that does not decrypt is sent all the same,
// and recorded nowhere.
//
// The session is added once CentralAuth has ended it, or once the outbox
// (WithOutbox) has taken the logout to retry, not before: a session that
// CentralAuth keeps must never be on the list, or an autologin in another
// app would hand the user the same CentralAuth session, which that app
// would refuse at once, until the entry expires. So the other apps learn of
// the logout within CentralAuth's answer, bounded by WithRemoteTimeout, and
// a logout that fails for good, with nothing queued, leaves them to their
// check interval, which agrees with CentralAuth. A list that cannot be
// written is logged at Error and reported in Event.RevokeErr. It needs
// WithSessionWide(true). Default: no list.
func WithEndedSessions(tokens *token.Decrypter, ended session.RevocationList) Option {
	return func(c *config) error {
		switch {
		case tokens == nil:
			return configError("nil token.Decrypter")
		case isNil(ended):
			return configError("nil list of ended sessions: pass the one the session checks read")
		}
		c.tokens, c.ended = tokens, ended
		return nil
	}
}
