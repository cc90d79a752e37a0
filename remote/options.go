package remote

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	defaultBaseURL   = "https://centralauth.com"
	defaultRetries   = 2
	defaultUserAgent = "centralauth-go-logout/" + version
	// defaultTimeout bounds each attempt of the default HTTP client (one
	// request and its response headers and body).
	defaultTimeout = 10 * time.Second

	version = "0.1.0"

	// defaultMaxIdleConnsPerHost lets concurrent logouts to the one
	// CentralAuth host keep their connections alive; net/http's default of 2
	// would close most of them after each burst.
	defaultMaxIdleConnsPerHost = 64
)

// config collects what the options set; NewClient turns it into a Client.
type config struct {
	baseURL    *url.URL
	httpClient *http.Client
	retries    int
	userAgent  string
	appOrigin  string
}

// Option configures a Client in NewClient. Options apply in order, so a later
// one overrides an earlier one. An invalid option makes NewClient fail with
// an error wrapping ErrInvalidConfig.
type Option func(*config) error

// WithBaseURL sets the CentralAuth base URL; the logout endpoint is
// base + "/api/v1/logout". The base must be an absolute http or https URL
// with a host. It may have a path prefix and a trailing slash, but no user
// information (credentials go in the Authorization header, never in a URL
// that could end up in an error message), no query and no fragment.
// Default: "https://centralauth.com".
func WithBaseURL(base string) Option {
	return func(c *config) error {
		u, err := parseBaseURL(base)
		if err != nil {
			return err
		}
		c.baseURL = u
		return nil
	}
}

// parseBaseURL validates a base URL. Its errors never quote the input: a
// mistyped URL could hold a credential.
func parseBaseURL(base string) (*url.URL, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, errors.New("base URL does not parse as a URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("base URL must be an absolute http or https URL")
	case u.Hostname() == "":
		return nil, errors.New("base URL has no host")
	case u.User != nil:
		return nil, errors.New("base URL must not contain user information; the client ID and secret are passed to NewClient")
	case u.RawQuery != "" || u.ForceQuery || strings.Contains(base, "?"):
		return nil, errors.New("base URL must not have a query")
	case u.Fragment != "" || strings.Contains(base, "#"):
		return nil, errors.New("base URL must not have a fragment")
	}
	return u, nil
}

// WithAppOrigin sets the app's own origin, such as
// "https://app.example.com", which UserInfo sends as the domain that
// CentralAuth checks against the app's whitelist. It must be an absolute
// http(s) origin: a scheme and a host, with an optional port. Default:
// none; UserInfo then fails with an error matching ErrInvalidConfig.
func WithAppOrigin(origin string) Option {
	return func(c *config) error {
		o, err := parseOrigin(origin)
		if err != nil {
			return err
		}
		c.appOrigin = o
		return nil
	}
}

// WithHTTPClient sets the HTTP client that sends the requests: its
// Transport, Jar and Timeout apply. It is never modified. Its CheckRedirect
// does not apply: the requests go through a shallow copy that never follows
// a redirect, because net/http would send the client credentials on to the
// redirect's target, over plain http too; a 3xx answer is returned as an
// *Error instead. A nil client is a configuration error.
//
// Default: a client built for each Client: a Timeout of 10s per attempt,
// its own transport cloned from http.DefaultTransport with keep-alive and up
// to 64 idle connections per host, and no redirect following (a 3xx answer
// is returned as an *Error).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("HTTP client is nil")
		}
		c.httpClient = hc
		return nil
	}
}

// WithRetries sets how many times Logout retries after a retryable failure
// (a transport error, 429 or 5xx); 0 disables retries. Negative values are a
// configuration error. Default: 2, so up to 3 attempts.
func WithRetries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return errors.New("retries must not be negative")
		}
		c.retries = n
		return nil
	}
}

// WithUserAgent sets the User-Agent header. It must be non-empty and free of
// control characters. Default: "centralauth-go-logout/" and the library's
// version.
func WithUserAgent(ua string) Option {
	return func(c *config) error {
		if ua == "" {
			return errors.New("user agent is empty")
		}
		if strings.ContainsFunc(ua, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return errors.New("user agent contains control characters")
		}
		c.userAgent = ua
		return nil
	}
}

// stopAtFirstResponse is a CheckRedirect that returns the 3xx itself.
func stopAtFirstResponse(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// newDefaultHTTPClient builds the client used when WithHTTPClient is not
// given. Each Client gets its own transport so that tuning it never touches
// http.DefaultTransport, which the rest of the program shares.
func newDefaultHTTPClient() *http.Client {
	var t *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	} else {
		// The program replaced http.DefaultTransport with something else;
		// start from net/http's documented defaults instead.
		t = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
	}
	t.DisableKeepAlives = false
	t.MaxIdleConnsPerHost = defaultMaxIdleConnsPerHost
	return &http.Client{
		Timeout:   defaultTimeout,
		Transport: t,
		// The request carries the client credentials and the token: never
		// send them on to wherever a 3xx points. The 3xx itself becomes an
		// *Error, so a misconfigured base URL is visible.
		CheckRedirect: stopAtFirstResponse,
	}
}
