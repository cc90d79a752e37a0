package login

import (
	"log/slog"
	"net/http"

	"github.com/centralauth-go/logout/session"
)

// Option configures a Handler.
type Option func(*config) error

type config struct {
	allowedHosts    []string
	defaultReturnTo string
	onError         func(http.ResponseWriter, *http.Request, error)
	logger          *slog.Logger
	onLogin         func(*http.Request, *session.Session)
}

// WithAllowedHosts allows absolute return_to URLs on these hosts, in
// addition to paths on this origin, with package returnto's patterns: an
// exact host ("app.example.com"), a host and port ("app.example.com:8443"),
// or a wildcard for subdomains ("*.example.com"). Repeated calls add up.
// Give it the same hosts as the logout handler's. Default: none, so only
// paths are allowed.
func WithAllowedHosts(patterns ...string) Option {
	return func(c *config) error {
		c.allowedHosts = append(c.allowedHosts, patterns...)
		return nil
	}
}

// WithDefaultReturnTo sets where the browser goes after a login that was
// started without a return_to, or with an unsafe one. It must itself be
// safe under the allowed hosts. Default: "/".
func WithDefaultReturnTo(location string) Option {
	return func(c *config) error {
		c.defaultReturnTo = location
		return nil
	}
}

// WithErrorHandler sets what answers a failed callback. It receives a
// *RequestError with the status to answer and the cause; no session
// cookie has been set. Default: a short plain-text page with that status,
// which quotes CentralAuth's error, if any, and never a token or a code.
func WithErrorHandler(fn func(http.ResponseWriter, *http.Request, error)) Option {
	return func(c *config) error {
		if fn == nil {
			return configError("nil error handler")
		}
		c.onError = fn
		return nil
	}
}

// WithLogger sets the logger that gets one line per login outcome: Info for
// a login and for a callback the browser got wrong (state, code, an error
// from CentralAuth), Warn when CentralAuth does not exchange the code, and
// Error when the session cannot be saved. No line ever holds a token, a
// code, a verifier or a state. Default: slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return configError("nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithOnLogin sets a function called after each login, once the session is
// saved and before the browser is redirected, for apps that keep a user
// record of their own: sess holds the new session's ID and tokens. Default:
// none.
func WithOnLogin(fn func(r *http.Request, sess *session.Session)) Option {
	return func(c *config) error {
		if fn == nil {
			return configError("nil login hook")
		}
		c.onLogin = fn
		return nil
	}
}
