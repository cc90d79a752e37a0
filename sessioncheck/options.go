package sessioncheck

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"reflect"
	"time"

	"github.com/centralauth-go/logout/session"
	"github.com/centralauth-go/logout/token"
)

// ErrInvalidConfig is matched by the errors New returns for a
// configuration it cannot use.
var ErrInvalidConfig = errors.New("sessioncheck: invalid configuration")

// Option configures a Check in New.
type Option func(*config) error

type config struct {
	interval     time.Duration
	maxStale     time.Duration
	timeout      time.Duration
	unauthorized http.Handler
	logger       *slog.Logger
	proxies      []netip.Prefix
	onCheck      func(*http.Request, Event)
	tokens       *token.Decrypter
	ended        session.RevocationList
}

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// isNil reports whether v is nil, or an interface holding a nil pointer
// (such as a *remote.Client that NewClient did not return), which would
// only fail at the first request.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// WithInterval sets how long an answer from CentralAuth is trusted before
// the next request of that session asks again. It bounds how long a "log
// out everywhere" made in another app takes to reach this one. 0 asks on
// every request. Default: 30s.
func WithInterval(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return configError("check interval %v is negative", d)
		}
		c.interval = d
		return nil
	}
}

// WithMaxStale sets how long a session stays live on its last good answer
// while CentralAuth cannot be asked. Past it the request goes on logged
// out, with its cookie kept. 0 logs out at once. Default: 10m.
func WithMaxStale(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return configError("max staleness %v is negative", d)
		}
		c.maxStale = d
		return nil
	}
}

// WithTimeout bounds how long a request waits for CentralAuth's answer,
// retries included. Default: 2s.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return configError("check timeout %v is not positive", d)
		}
		c.timeout = d
		return nil
	}
}

// WithUnauthorized sets what Require serves to a request without a live
// session, such as a redirect to the login page carrying a return_to that
// the login validates with package returnto. Default: 401 Unauthorized,
// not cached.
func WithUnauthorized(h http.Handler) Option {
	return func(c *config) error {
		if isNil(h) {
			return configError("nil unauthorized handler")
		}
		c.unauthorized = h
		return nil
	}
}

func unauthorized(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
}

// WithLogger sets the logger. Sessions that ended or whose user is blocked
// are logged at Info; CentralAuth failing at Warn, and refusing the app at
// Error, once per interval; a proxy that is not trusted at Warn, once;
// everything else at Debug. Tokens are never logged. Default:
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

// WithTrustedProxies names the proxies in front of the app, as IP
// addresses or CIDR prefixes ("10.0.0.0/8"), so that the end user's IP
// sent to CentralAuth is taken from the X-Forwarded-For header they append
// to, rather than from the connection: the rightmost hop that is not one of
// them. Only the hops these proxies added are believed: any client can
// write the header. X-Real-IP is ignored, since a proxy that does not set
// it passes on whatever the client wrote; a proxy that only sets X-Real-IP
// must be made to append X-Forwarded-For too. Repeated calls add up.
// Default: none; the IP is the connection's peer address.
func WithTrustedProxies(proxies ...string) Option {
	return func(c *config) error {
		for _, p := range proxies {
			prefix, err := netip.ParsePrefix(p)
			if err != nil {
				ip, ierr := netip.ParseAddr(p)
				if ierr != nil {
					return configError("trusted proxy %q is neither an IP address nor a CIDR prefix", p)
				}
				prefix = netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen())
			}
			c.proxies = append(c.proxies, prefix.Masked())
		}
		return nil
	}
}

// WithOnCheck sets a hook that receives an Event for every request with a
// session, once the Check has decided, synchronously, before the request
// goes on: for metrics or audit logs. Requests without a session, or whose
// session the store could not load, have none. Default: none.
func WithOnCheck(fn func(*http.Request, Event)) Option {
	return func(c *config) error {
		if fn == nil {
			return configError("nil OnCheck hook")
		}
		c.onCheck = fn
		return nil
	}
}

// WithEndedSessions has the Check read each session's token with tokens,
// once per session, to the CentralAuth session behind it, and keep the
// CentralAuth sessions that ended in ended. The apps of an organization
// share that list (a redisstore.Revocations under a prefix of its own,
// WithLocalCache, passed to every app's Check and to their session-wide
// LogoutHandler's middleware.WithEndedSessions): a "log out everywhere" in
// one app then ends the session in the others on their next request,
// without a userinfo call and without waiting for the interval. A nil
// ended keeps the list in this Check's memory, for up to 100,000 sessions.
//
// On every request, before any cached answer, the Check asks ended about
// the session's CentralAuth session. A session found there is Ended at
// once: its cookie cleared and the session revoked, as when CentralAuth
// says so. When CentralAuth says that a session ended, the Check adds it
// to the list; not when it only refuses the token (tokenInvalid), since
// the other apps' tokens of the session may still stand. An entry lasts 24 hours, or until the token that wrote it
// expires if that is later. A list that cannot be asked (Redis down, or
// its local cache out of its window) is not a logout: the Check goes on
// as without it, noticing logouts at the interval, and logs at Warn once
// per interval.
//
// A token that does not decrypt means "unknown", never an error. Until a
// token has decrypted, the Check asks CentralAuth about such a session, as
// without this option. Once one has, a token that does not is not
// CentralAuth's: the request goes on logged out, Foreign, its cookie
// kept, without a call, so that a flood of random tokens costs no call. If
// no token has decrypted for five minutes while tokens that do not keep
// coming (CentralAuth changed the tokens' format, or the client secret was
// rotated without token.WithPreviousSecret), the Check logs it at Error,
// once per five minutes, and asks CentralAuth about them again, as without
// this option: a change of format never logs everyone out. Default: no
// token is read, and every check asks CentralAuth.
func WithEndedSessions(tokens *token.Decrypter, ended session.RevocationList) Option {
	return func(c *config) error {
		if tokens == nil {
			return configError("nil token.Decrypter")
		}
		if ended == nil {
			list, err := session.NewMemoryRevocations(maxEndedInMemory)
			if err != nil {
				return configError("%w", err)
			}
			ended = list
		}
		c.tokens, c.ended = tokens, ended
		return nil
	}
}

// maxEndedInMemory bounds the ended CentralAuth sessions a Check keeps in
// memory without a shared list. When full, an entry falls back to
// CentralAuth's answer.
const maxEndedInMemory = 100_000
