package remote

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"

	"github.com/centralauth-go/logout/internal/retry"
)

// Client calls CentralAuth's API: the session-wide logout, and userinfo,
// which says whether a session still stands. Create it with NewClient; it
// is safe for concurrent use and should be reused, so that connections are
// kept alive between calls.
type Client struct {
	// The state sits behind a pointer so that printing a Client, with any
	// verb, shows an address and never the secret.
	c *client
}

type client struct {
	endpoint   string // {base}/api/v1/logout
	login      string // {base}/login
	verify     string // {base}/api/v1/verify
	clientID   string
	userInfo   string // {base}/api/v1/userinfo?domain=<app origin>, or "" without WithAppOrigin
	authHeader string // "Basic " + credentials, computed once
	userAgent  string
	httpClient *http.Client
	retries    int
	clock      retry.Clock // only this package's tests replace it
	// secrets are what must never appear in an error: the client secret
	// and the encoded credentials (a server might echo the header). The
	// token is added per call.
	secrets []string
}

// NewClient returns a Client for the application with the given client ID
// and secret, both required (they are on the integration page of the
// CentralAuth dashboard). Errors wrap ErrInvalidConfig and never contain the
// secret.
func NewClient(clientID, clientSecret string, opts ...Option) (*Client, error) {
	if clientID == "" {
		return nil, fmt.Errorf("%w: client ID is empty", ErrInvalidConfig)
	}
	if clientSecret == "" {
		return nil, fmt.Errorf("%w: client secret is empty", ErrInvalidConfig)
	}
	cfg := config{
		retries:   defaultRetries,
		userAgent: defaultUserAgent,
	}
	cfg.baseURL, _ = url.Parse(defaultBaseURL) // a constant, known to parse
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: nil Option", ErrInvalidConfig)
		}
		if err := opt(&cfg); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
	}
	if cfg.httpClient == nil {
		cfg.httpClient = newDefaultHTTPClient()
	} else {
		// A shallow copy that never follows a redirect: on a 301, 302 or
		// 303 net/http would copy the Authorization header to the same
		// host, even over plain http. The caller's client is left as it
		// is; the copy shares its transport, jar and timeout.
		hc := *cfg.httpClient
		hc.CheckRedirect = stopAtFirstResponse
		cfg.httpClient = &hc
	}

	// CentralAuth (like the Node library) takes id:secret as they are, not
	// URL-escaped as RFC 7617 would have it, so (*http.Request).SetBasicAuth
	// is fine but the header is built once here rather than on every call.
	creds := base64.StdEncoding.EncodeToString([]byte(clientID + ":" + clientSecret))
	return &Client{&client{
		endpoint:   cfg.baseURL.JoinPath("api", "v1", "logout").String(),
		login:      cfg.baseURL.JoinPath("login").String(),
		verify:     cfg.baseURL.JoinPath("api", "v1", "verify").String(),
		clientID:   clientID,
		userInfo:   userInfoURL(cfg.baseURL, cfg.appOrigin),
		authHeader: "Basic " + creds,
		userAgent:  cfg.userAgent,
		httpClient: cfg.httpClient,
		retries:    cfg.retries,
		clock:      retry.System,
		secrets:    []string{clientSecret, creds},
	}}, nil
}

// String describes the Client by its endpoint only, so that printing or
// logging a Client never shows its secret.
func (cl *Client) String() string { return "remote.Client(" + cl.c.endpoint + ")" }

// CloseIdleConnections closes the keep-alive connections that the client's
// HTTP transport holds open, for a clean shutdown. It does not stop calls
// in flight.
func (cl *Client) CloseIdleConnections() { cl.c.httpClient.CloseIdleConnections() }

// Logout ends the CentralAuth session that token (an access token or an ID
// token) belongs to, on every application of the organization. It returns
// nil on any 2xx answer.
//
// An empty token returns ErrNoToken without sending anything. A non-2xx
// answer returns an *Error. A transport error is returned wrapped, prefixed
// "remote: ", so errors.Is(err, context.DeadlineExceeded) works.
//
// Transport errors, 429 and 5xx are retried (see WithRetries) after a
// jittered exponential backoff from about 100 ms, or the answer's
// Retry-After if longer, capped at 30 s. Logout gives up at once, returning
// the last error, when the next wait would pass ctx's deadline; if ctx is
// cancelled during a wait, the last error is returned wrapped together with
// ctx.Err(). After the last attempt its error is returned.
func (cl *Client) Logout(ctx context.Context, token string) error {
	if token == "" {
		return ErrNoToken
	}
	return cl.c.withRetries(ctx, func() error {
		return cl.c.send(ctx, token, call{op: "logout", url: cl.c.endpoint})
	})
}

// withRetries runs attempt until it succeeds, fails for good, runs out of
// retries, or the next wait would pass ctx's deadline.
func (c *client) withRetries(ctx context.Context, attempt func() error) error {
	for n := 0; ; n++ {
		err := attempt()
		if err == nil || n >= c.retries || !IsRetryable(err) {
			return err
		}
		wait := retryWait(n, err)
		if deadline, ok := ctx.Deadline(); ok && c.clock.Now().Add(wait).After(deadline) {
			// Sleeping would only end in the deadline; the caller learns
			// more from the last answer, and learns it now.
			return err
		}
		// A ctx that ended during the attempt ends the wait at once.
		if werr := c.clock.Sleep(ctx, wait); werr != nil {
			return fmt.Errorf("%w; retry abandoned: %w", err, werr)
		}
	}
}

// secretsFor returns the strings to redact from errors of a call with token
// and more secrets of its own.
func (c *client) secretsFor(token string, more ...string) []string {
	return append(append([]string{token}, more...), c.secrets...)
}

// newTransportError wraps a failure to get an answer, redacting its message.
func (c *client) newTransportError(op string, err error, token string, more ...string) error {
	msg := redact(err.Error(), redactionOrder(c.secretsFor(token, more...)))
	return &transportError{msg: "remote: " + op + " request failed: " + msg, err: err}
}
