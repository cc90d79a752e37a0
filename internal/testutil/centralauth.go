package testutil

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// LogoutPath is the path of CentralAuth's session-wide logout endpoint.
const LogoutPath = "/api/v1/logout"

// maxRequestBody bounds what the fake reads of a request body, as a real
// server would; a larger body is answered with 413.
const maxRequestBody = 64 << 10

// CentralAuth is a running fake CentralAuth server. Create it with
// NewCentralAuth and stop it with Close. All methods are safe for concurrent
// use.
type CentralAuth struct {
	clientID  string   // what the login page's client_id must be
	domains   []string // WithAppDomains
	wantCreds string   // base64("id:secret"), what the Authorization header must carry
	clock     nower
	listener  net.Listener
	server    *http.Server
	mux       *http.ServeMux
	closeOnce sync.Once

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change that a waiter may wait for
	closed   bool
	inflight int // requests being handled
	sessions []*Session
	byToken  map[string]*Session
	calls    []*Call
	faults   []Fault
	codes    map[string]authCode // one-time login codes (login.go)
	logins   map[string]string   // provider cookie value -> a token of its session

	loginFailure *[2]string // FailNextLogin's error and description

	expiresIn, expiresAt time.Duration // SetTokenExpiry's; 0 answers null
}

type config struct {
	addr    string
	clock   nower
	domains []string
}

// nower is the fake's time source: a *Clock, or the system's.
type nower interface{ Now() time.Time }

type systemTime struct{}

func (systemTime) Now() time.Time { return time.Now() }

// Option configures NewCentralAuth.
type Option func(*config)

// WithAddr sets the TCP address the fake listens on. Defaults to
// "127.0.0.1:0": loopback only, on a free port (see URL).
func WithAddr(addr string) Option {
	return func(c *config) { c.addr = addr }
}

// WithAppDomains sets the origins (such as "http://127.0.0.1:8080") that
// userinfo accepts as its domain parameter, as CentralAuth's whitelist
// does. Default: any http(s) origin.
func WithAppDomains(origins ...string) Option {
	return func(cfg *config) { cfg.domains = append(cfg.domains, origins...) }
}

// WithClock sets the clock for session and call timestamps. It does not
// affect Fault.Delay, which is real time because it exists to trip a
// client's real timeouts. Defaults to the system clock.
func WithClock(c *Clock) Option {
	return func(cfg *config) {
		if c != nil {
			cfg.clock = c
		}
	}
}

// NewCentralAuth starts a fake CentralAuth that accepts the given client
// credentials, both required. It serves until Close.
func NewCentralAuth(clientID, clientSecret string, opts ...Option) (*CentralAuth, error) {
	if clientID == "" || clientSecret == "" {
		return nil, errors.New("testutil: client ID and client secret are required")
	}
	cfg := config{addr: "127.0.0.1:0", clock: systemTime{}}
	for _, opt := range opts {
		opt(&cfg)
	}
	l, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("testutil: listening for the fake CentralAuth: %w", err)
	}
	ca := &CentralAuth{
		clientID:  clientID,
		wantCreds: base64.StdEncoding.EncodeToString([]byte(clientID + ":" + clientSecret)),
		clock:     cfg.clock,
		domains:   cfg.domains,
		listener:  l,
		mux:       http.NewServeMux(),
		changed:   make(chan struct{}),
		byToken:   make(map[string]*Session),
		codes:     make(map[string]authCode),
		expiresIn: TokenLifetime,
		expiresAt: TokenLifetime,
		logins:    make(map[string]string),
	}
	ca.routes()
	ca.server = &http.Server{
		Handler:           http.HandlerFunc(ca.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		// Dropped connections and clients that give up are the point of
		// some tests; net/http's complaints about them are noise.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() { _ = ca.server.Serve(l) }()
	return ca, nil
}

// routes registers the endpoints. serveHTTP records the calls of every one
// of them; faults (InjectFault) apply to the logout endpoint only.
func (ca *CentralAuth) routes() {
	ca.mux.HandleFunc(LogoutPath, ca.handleLogout)
	ca.mux.HandleFunc(LoginPath, ca.handleLogin)
	ca.mux.HandleFunc(VerifyPath, ca.handleVerify)
	ca.mux.HandleFunc(UserInfoPath, ca.handleUserInfo)
	ca.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, CodeGenericError, "no such endpoint")
	})
}

// URL returns the base URL of the fake, such as "http://127.0.0.1:41234",
// to pass where CentralAuth's base URL goes.
func (ca *CentralAuth) URL() string {
	return "http://" + ca.listener.Addr().String()
}

// Close stops the server: it closes the listener and every connection
// (ending requests held by a Delay or Block fault) and returns once no
// request handler is running. It is safe to call more than once.
func (ca *CentralAuth) Close() {
	ca.closeOnce.Do(func() {
		ca.mu.Lock()
		ca.closed = true
		ca.mu.Unlock()
		_ = ca.server.Close()
		_ = ca.waitFor(context.Background(), func() bool { return ca.inflight == 0 })
	})
}

// WaitIdle blocks until no request is being handled, or ctx ends. Use it to
// know that the fake finished with a request whose client gave up.
func (ca *CentralAuth) WaitIdle(ctx context.Context) error {
	if err := ca.waitFor(ctx, func() bool { return ca.inflight == 0 }); err != nil {
		return fmt.Errorf("testutil: waiting for the fake to be idle: %w", err)
	}
	return nil
}

// serveHTTP wraps every endpoint: it bounds and buffers the body, records
// the call, and tracks the handler so that Close can wait for it.
func (ca *CentralAuth) serveHTTP(w http.ResponseWriter, r *http.Request) {
	ca.mu.Lock()
	if ca.closed {
		ca.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, CodeGenericError, "server is closing")
		return
	}
	ca.inflight++
	ca.mu.Unlock()
	defer func() {
		ca.mu.Lock()
		ca.inflight--
		ca.notifyLocked()
		ca.mu.Unlock()
	}()

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	call := ca.record(r, body)
	rw := &recordingWriter{ResponseWriter: w, ca: ca, call: call}
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(rw, http.StatusRequestEntityTooLarge, CodeGenericError, "request body is larger than 64 KiB")
			return
		}
		writeError(rw, http.StatusBadRequest, CodeGenericError, "could not read the request body")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	ca.mux.ServeHTTP(rw, r)
}

// notifyLocked wakes every waitFor. ca.mu must be held.
func (ca *CentralAuth) notifyLocked() {
	close(ca.changed)
	ca.changed = make(chan struct{})
}

// waitFor blocks until cond (called with ca.mu held) is true or ctx ends.
func (ca *CentralAuth) waitFor(ctx context.Context, cond func() bool) error {
	for {
		ca.mu.Lock()
		ok, changed := cond(), ca.changed
		ca.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
