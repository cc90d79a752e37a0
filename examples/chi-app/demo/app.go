package demo

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/login"
	"github.com/centralauth-go/logout/middleware"
	"github.com/centralauth-go/logout/outbox"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
	"github.com/centralauth-go/logout/sessioncheck"
	"github.com/centralauth-go/logout/token"
)

// Routes of each app.
const (
	logoutPath     = "/logout"            // POST logs out of this app; GET asks first
	everywherePath = "/logout/everywhere" // POST logs out of every app of the session
	loginPath      = "/login"             // login: off to CentralAuth, with PKCE
	callbackPath   = "/auth/callback"     // back from CentralAuth with a code
	cookiePath     = "/"                  // the session cookie's Path
)

// mount says how an app mounts its two logout handlers. The example shows
// both ways.
type mount int

const (
	// mountRoute registers the handlers as chi routes, with r.Handle.
	mountRoute mount = iota
	// mountMiddleware wraps the whole router with h.Middleware, which
	// serves the handler's WithPath and passes everything else on.
	mountMiddleware
)

func (m mount) String() string {
	if m == mountMiddleware {
		return "h.Middleware"
	}
	return "r.Handle"
}

// sessionLister is the embedded CentralAuth, as the demo page lists it.
type sessionLister interface {
	Sessions() iter.Seq[centralauthtest.Session]
}

// appConfig is what one app of the example needs.
type appConfig struct {
	Name       string // shown on its page, such as "App A"
	CookieName string // its session cookie: distinct per app, since browsers share cookies across the ports of one host
	Mount      mount
	// PublicURL is the app's origin as the browser sees it, such as
	// http://127.0.0.1:8080: CentralAuth sends logins back there.
	PublicURL string
	// OtherName and OtherURL link to the other app.
	OtherName, OtherURL string
	// CentralAuth's base URL and the app's credentials there.
	BaseURL, ClientID, ClientSecret string
	// HashKey and EncryptionKey are the session cookie's keys.
	HashKey, EncryptionKey []byte
	// Demo is the embedded CentralAuth, or nil when BaseURL is a real one.
	// The list of its sessions is shown only with it.
	Demo sessionLister
	// Logger gets a line per login and logout, never a token. Nil means
	// slog.Default().
	Logger *slog.Logger
	// Revocations and Queue keep logouts server-side: the revoked session
	// IDs and the session-wide logouts to retry. Nil means in memory; with
	// REDIS_URL they are in Redis, shared by every instance.
	Revocations session.RevocationList
	Queue       outbox.Queue
	// Workers runs the outbox's worker for the app's lifetime; nil runs
	// none (queued logouts then wait).
	Workers *workers
	// CheckInterval and MaxStale tune the session check: see
	// sessioncheck.WithInterval and sessioncheck.WithMaxStale.
	CheckInterval, MaxStale time.Duration
	// Tokens reads the CentralAuth session behind a token, with the
	// organization's client secret, and Ended is the organization's list of
	// ended CentralAuth sessions, one list for both apps: a "Log out
	// everywhere" in one app then reaches the other on its next request
	// (sessioncheck.WithEndedSessions). Both nil leave the other app to
	// notice at its check interval.
	Tokens *token.Decrypter
	Ended  session.RevocationList
}

// workers runs background loops until the example stops.
type workers struct {
	ctx context.Context
	wg  sync.WaitGroup
}

func (w *workers) run(fn func(context.Context) error) {
	w.wg.Go(func() { _ = fn(w.ctx) })
}

// memoryQueueLimit bounds the in-memory outbox of one app.
const memoryQueueLimit = 10_000

// app is one running app: its cookie store, its CentralAuth client and
// its pages.
type app struct {
	cfg      appConfig
	store    *session.Store
	log      *slog.Logger
	caOrigin string // CentralAuth's scheme and host, for the pages' CSP
}

// newApp builds one app of the example as an http.Handler.
func newApp(cfg appConfig) (http.Handler, error) {
	if cfg.Name == "" || cfg.CookieName == "" || cfg.PublicURL == "" {
		return nil, errors.New("chi-app: an app needs a name, a cookie name and a public URL")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("app", cfg.Name)

	if cfg.Queue == nil {
		q, err := outbox.NewMemoryQueue(memoryQueueLimit)
		if err != nil {
			return nil, err
		}
		cfg.Queue = q
	}
	opts := []session.Option{
		session.WithEncryptionKey(cfg.EncryptionKey),
		session.WithCookieName(cfg.CookieName),
		session.WithCookiePath(cookiePath),
		// The example serves plain HTTP on loopback, where the browser
		// would never send a Secure cookie back. An app behind TLS drops
		// this option and keeps the Secure default.
		session.WithInsecure(),
	}
	if cfg.Revocations != nil {
		// Shared by every instance; without it, the store keeps its own
		// list in memory. Either way a logged-out session stays logged
		// out, even if a copy of its cookie is replayed before it expires.
		opts = append(opts, session.WithRevocations(cfg.Revocations))
	}
	store, err := session.NewStore(cfg.HashKey, opts...)
	if err != nil {
		return nil, fmt.Errorf("chi-app: session store: %w", err)
	}
	rc, err := remote.NewClient(cfg.ClientID, cfg.ClientSecret,
		remote.WithBaseURL(cfg.BaseURL), remote.WithAppOrigin(cfg.PublicURL))
	if err != nil {
		return nil, fmt.Errorf("chi-app: CentralAuth client: %w", err)
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("chi-app: CentralAuth base URL: %w", err)
	}
	a := &app{cfg: cfg, store: store, log: log, caOrigin: base.Scheme + "://" + base.Host}
	// Login: PKCE S256 and a state checked at the callback, a fresh
	// session, and a return_to that must be a path on this origin.
	signIn, err := login.New(store, rc, cfg.PublicURL+callbackPath,
		login.WithLogger(log), login.WithErrorHandler(a.loginFailed))
	if err != nil {
		return nil, err
	}
	// Every page load asks CentralAuth, at most every CheckInterval,
	// whether the session still stands, and first the list of ended
	// CentralAuth sessions, if any: that is how this app notices a "Log out
	// everywhere" made in the other one, at once through the list, else at
	// the interval.
	checkOpts := []sessioncheck.Option{
		sessioncheck.WithLogger(log),
		sessioncheck.WithInterval(cfg.CheckInterval),
		sessioncheck.WithMaxStale(cfg.MaxStale),
	}
	if cfg.Tokens != nil {
		checkOpts = append(checkOpts, sessioncheck.WithEndedSessions(cfg.Tokens, cfg.Ended))
	}
	check, err := sessioncheck.New(store, rc, checkOpts...)
	if err != nil {
		return nil, err
	}
	// A session-wide logout that CentralAuth cannot take right now is
	// queued and retried, not lost.
	// The outbox seals tokens at rest with a key of its own, derived from
	// the cookie encryption key so that the example needs no third key.
	mac := hmac.New(sha256.New, cfg.EncryptionKey)
	mac.Write([]byte("centralauth-go/logout example outbox"))
	retries, err := outbox.New(rc, cfg.Queue, outbox.WithEncryptionKey(mac.Sum(nil)), outbox.WithLogger(log))
	if err != nil {
		return nil, err
	}
	if cfg.Workers != nil {
		cfg.Workers.run(retries.Run)
	}

	common := []middleware.Option{
		middleware.WithLogger(log),
		middleware.WithOnLogout(a.onLogout),
		middleware.WithDefaultReturnTo("/"),
	}
	// Log out of this app only: the cookie goes, the CentralAuth session
	// (and so the other app's login) stays.
	logout, err := middleware.NewLogoutHandler(store, append(common, middleware.WithPath(logoutPath))...)
	if err != nil {
		return nil, err
	}
	// Log out everywhere: the cookie goes, and CentralAuth ends the
	// session. Once it has (or the outbox has the logout to retry), the
	// session goes on the list of ended sessions, and the other app refuses
	// it on its next request; without the list, it notices within its check
	// interval.
	everywhereOpts := append(common,
		middleware.WithPath(everywherePath),
		middleware.WithRemote(rc),
		middleware.WithSessionWide(true),
		middleware.WithOutbox(retries),
	)
	if cfg.Tokens != nil {
		everywhereOpts = append(everywhereOpts, middleware.WithEndedSessions(cfg.Tokens, cfg.Ended))
	}
	everywhere, err := middleware.NewLogoutHandler(store, everywhereOpts...)
	if err != nil {
		return nil, err
	}

	r := chi.NewRouter()
	r.With(check.Middleware).Get("/", a.home)
	r.Get(loginPath, signIn.Login)
	r.Get(callbackPath, signIn.Callback)
	switch cfg.Mount {
	case mountRoute:
		r.Handle(logoutPath, logout)
		r.Handle(everywherePath, everywhere)
		return r, nil
	case mountMiddleware:
		return everywhere.Middleware(logout.Middleware(r)), nil
	}
	return nil, fmt.Errorf("chi-app: unknown mount %d", cfg.Mount)
}

// loginFailed shows a failed login on the example's own page. The login
// package has logged it already.
func (a *app) loginFailed(w http.ResponseWriter, _ *http.Request, err error) {
	status := http.StatusInternalServerError
	if re, ok := errors.AsType[*login.RequestError](err); ok {
		status = re.Status
	}
	detail := "The session could not be saved."
	switch {
	case errors.Is(err, login.ErrState):
		detail = "The login's state does not match this browser's, has expired, or was used already. Start again from the Log in button."
	case errors.Is(err, login.ErrNoCode):
		detail = "CentralAuth sent no code."
	case errors.Is(err, login.ErrRefused):
		// The error quotes CentralAuth's error and description; the page
		// template escapes them.
		detail = strings.TrimPrefix(err.Error(), "login: ")
	case errors.Is(err, login.ErrExchange):
		detail = "CentralAuth did not accept the login code. Start again."
	}
	a.errorPage(w, status, "Login failed", detail)
}

// onLogout logs one line per logout. The Event holds no token.
func (a *app) onLogout(r *http.Request, ev middleware.Event) {
	attrs := []any{
		slog.Any("session_ids", ev.SessionIDs),
		slog.Bool("session_wide", ev.SessionWide),
		slog.String("return_to", ev.ReturnTo),
	}
	if ev.RemoteErr != nil {
		attrs = append(attrs, slog.Any("remote_error", ev.RemoteErr))
	}
	if ev.RevokeErr != nil {
		attrs = append(attrs, slog.Any("revoke_error", ev.RevokeErr))
	}
	a.log.InfoContext(r.Context(), "logout", attrs...)
}
