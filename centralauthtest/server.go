package centralauthtest

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
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// The endpoints, under the base URL.
const (
	loginPath    = "/login"
	verifyPath   = "/api/v1/verify"
	userInfoPath = "/api/v1/userinfo"
	logoutPath   = "/api/v1/logout"
)

// maxRequestBody bounds what the fake reads of a request body, as a real
// server would; a larger body is answered with 413.
const maxRequestBody = 64 << 10

// Server is a running fake CentralAuth. Start it with Start or NewServer
// and stop it with Close. Its methods are safe for concurrent use.
type Server struct {
	clientID  string         // what the login page's client_id must be
	wantCreds string         // base64("id:secret"), what the Authorization header must carry
	domains   []string       // WithAppDomains
	encrypter jose.Encrypter // of the tokens; nil for a secret that cannot be a key (sessions.go)
	listener  net.Listener
	server    *http.Server
	closeOnce sync.Once
	// now tells the time of sessions, calls and codes: time.Now, except in
	// this package's tests (withNow).
	now func() time.Time

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change that a waiter may wait for
	closed   bool
	inflight int // requests being handled
	sessions []*Session
	byToken  map[string]*Session
	calls    []*Call
	faults   []Fault
	codes    map[string]authCode // one-time login codes (login.go)
	logins   map[string]string   // autologin cookie value -> a token of its session

	loginFailure *[2]string // FailNextLogin's error and description

	expiresIn, expiresAt time.Duration // SetTokenExpiry's; 0 answers null
}

type config struct {
	addr    string
	domains []string
	now     func() time.Time // withNow
}

// Option configures a Server.
type Option func(*config) error

// WithAddr sets the TCP address the fake listens on, such as
// "127.0.0.1:9000", so that its URL stays the same from run to run.
// Default: "127.0.0.1:0", loopback on a free port.
func WithAddr(addr string) Option {
	return func(c *config) error {
		if addr == "" {
			return errors.New("centralauthtest: WithAddr: the address is empty")
		}
		c.addr = addr
		return nil
	}
}

// WithAppDomains sets the origins of the organization's apps, such as
// "http://127.0.0.1:8080", the only domains that userinfo then accepts, as
// CentralAuth's whitelist does: any other is answered 403 domainInvalid.
// Default: any http(s) origin.
func WithAppDomains(origins ...string) Option {
	return func(c *config) error {
		for _, o := range origins {
			if !isOrigin(o) {
				return fmt.Errorf("centralauthtest: WithAppDomains: %q is not an http(s) origin such as http://127.0.0.1:8080", o)
			}
			u, _ := url.Parse(o)
			c.domains = append(c.domains, u.Scheme+"://"+u.Host)
		}
		return nil
	}
}

// withNow makes the fake tell the time with now. Only this package's tests
// use it: a user's test cannot reach the time of a real network server, and
// testing/synctest does not apply to one.
func withNow(now func() time.Time) Option {
	return func(c *config) error {
		c.now = now
		return nil
	}
}

// NewServer starts a fake CentralAuth for an app with the given client ID
// and secret, both required, and serves until Close. Outside a test, it is
// the way to embed one; a test calls Start.
func NewServer(clientID, clientSecret string, opts ...Option) (*Server, error) {
	if clientID == "" || clientSecret == "" {
		return nil, errors.New("centralauthtest: the client ID and the client secret are required")
	}
	cfg := config{addr: "127.0.0.1:0", now: time.Now}
	for _, opt := range opts {
		if opt == nil {
			return nil, errors.New("centralauthtest: an option is nil")
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	encrypter, err := newEncrypter(clientSecret)
	if err != nil {
		return nil, fmt.Errorf("centralauthtest: the tokens' encrypter: %w", err)
	}
	l, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("centralauthtest: listening: %w", err)
	}
	s := &Server{
		clientID:  clientID,
		wantCreds: base64.StdEncoding.EncodeToString([]byte(clientID + ":" + clientSecret)),
		domains:   cfg.domains,
		encrypter: encrypter,
		listener:  l,
		now:       cfg.now,
		changed:   make(chan struct{}),
		byToken:   make(map[string]*Session),
		codes:     make(map[string]authCode),
		logins:    make(map[string]string),
		expiresIn: tokenLifetime,
		expiresAt: tokenLifetime,
	}
	s.server = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		// Dropped connections and clients that give up are the point of
		// some tests; net/http's complaints about them are noise.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() { _ = s.server.Serve(l) }()
	return s, nil
}

// Start starts a fake CentralAuth for a test, as NewServer does, and stops
// it when the test ends. Then, if any call to it broke CentralAuth's
// contract, it fails the test with the list of Violations. It ends the test
// at once if the fake cannot start.
func Start(t testing.TB, clientID, clientSecret string, opts ...Option) *Server {
	t.Helper()
	s, err := NewServer(clientID, clientSecret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		if v := s.Violations(); len(v) > 0 {
			t.Errorf("centralauthtest: calls broke CentralAuth's contract:\n\t%s", strings.Join(v, "\n\t"))
		}
	})
	return s
}

// URL returns the base URL of the fake, such as "http://127.0.0.1:41234",
// to configure where CentralAuth's base URL goes.
func (s *Server) URL() string {
	return "http://" + s.listener.Addr().String()
}

// Close stops the server: it closes the listener and every connection,
// ending requests held by a Fault's Delay or Block, and returns once no
// request is being handled. The fake keeps its sessions and calls, for the
// test to read. A second Close does nothing.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		_ = s.server.Close()
		s.waitIdle(context.Background())
	})
}

// waitIdle blocks until no request is being handled, or ctx ends.
func (s *Server) waitIdle(ctx context.Context) error {
	return s.waitFor(ctx, func() bool { return s.inflight == 0 })
}

// serveHTTP wraps every endpoint: it bounds and buffers the body, records
// the call, and tracks the handler so that Close can wait for it.
func (s *Server) serveHTTP(hw http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeError(hw, http.StatusServiceUnavailable, codeGenericError, "server is closing")
		return
	}
	s.inflight++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight--
		s.notifyLocked()
		s.mu.Unlock()
	}()

	body, err := io.ReadAll(http.MaxBytesReader(hw, r.Body, maxRequestBody))
	w := &recorder{ResponseWriter: hw, s: s, call: s.record(r)}
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			w.refuse(http.StatusRequestEntityTooLarge, codeGenericError, "the request body is larger than 64 KiB")
			return
		}
		w.fail(http.StatusBadRequest, codeGenericError, "could not read the request body")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	switch r.URL.Path {
	case loginPath:
		s.handleLogin(w, r)
	case verifyPath:
		s.handleVerify(w, r)
	case userInfoPath:
		s.handleUserInfo(w, r)
	case logoutPath:
		s.handleLogout(w, r)
	default:
		w.refuse(http.StatusNotFound, codeGenericError, "no such endpoint")
	}
}

// notifyLocked wakes every waitFor. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor blocks until cond (called with s.mu held) is true or ctx ends.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok, changed := cond(), s.changed
		s.mu.Unlock()
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
