package login

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/returnto"
	"github.com/centralauth-go/logout/session"
)

// Store saves the session a login creates. *session.Store is one.
type Store interface {
	Save(w http.ResponseWriter, sess *session.Session) error
}

// Client is CentralAuth's side of a login: its login page, and the code
// exchange. *remote.Client is one.
type Client interface {
	LoginURL(redirectURI, state, codeChallenge string) string
	Exchange(ctx context.Context, code, redirectURI, codeVerifier string) (remote.Tokens, error)
}

// exchangeTimeout bounds a callback's wait for CentralAuth, retries
// included.
const exchangeTimeout = 10 * time.Second

// Handler signs browsers in through CentralAuth. Mount Login where the app
// sends a browser to log in, and Callback at the callback URL. Build it
// with New; it is safe for concurrent use.
type Handler struct {
	store      Store
	client     Client
	callback   string // the redirect_uri, the same string in the login and the exchange
	secure     bool   // https: Secure, __Host- state cookies
	cookiePath string
	policy     *returnto.Policy
	defaultLoc string
	cfg        config
}

// New returns a Handler that saves sessions in store and signs in through
// client, for a callback at callbackURL: the absolute URL, registered with
// CentralAuth, at which the app mounts Callback. It must be https, or http
// on a loopback host (localhost, 127.0.0.0/8, ::1) for local development,
// with a path and no query or fragment.
//
// A nil store or client, an invalid callback URL, an unsafe default
// return_to, a bad host pattern or a nil option is an error matching
// ErrInvalidConfig that says what to fix.
func New(store Store, client Client, callbackURL string, opts ...Option) (*Handler, error) {
	switch {
	case isNil(store):
		return nil, configError("nil Store")
	case isNil(client):
		return nil, configError("nil Client")
	}
	u, err := checkCallback(callbackURL)
	if err != nil {
		return nil, err
	}
	cfg := config{defaultReturnTo: "/", logger: slog.Default(), onError: defaultErrorPage}
	for _, opt := range opts {
		if opt == nil {
			return nil, configError("nil Option")
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	policy, err := returnto.NewPolicy(cfg.allowedHosts...)
	if err != nil {
		return nil, configError(err.Error())
	}
	defaultLoc, err := policy.Check(cfg.defaultReturnTo)
	if err != nil {
		return nil, configError("default return_to is unsafe: " + err.Error())
	}
	h := &Handler{store: store, client: client, callback: callbackURL, secure: u.Scheme == "https",
		cookiePath: "/", policy: policy, defaultLoc: defaultLoc, cfg: cfg}
	if !h.secure {
		// Without Secure the __Host- prefix is refused, so the cookie is
		// kept from the rest of the site by its path instead.
		h.cookiePath = u.EscapedPath()
	}
	return h, nil
}

// checkCallback validates the callback URL.
func checkCallback(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" || u.Opaque != "":
		return nil, configError("callback URL must be an absolute https URL, such as https://app.example.com/auth/callback")
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?#"):
		return nil, configError("callback URL must have no user, query or fragment")
	case !strings.HasPrefix(u.Path, "/"):
		return nil, configError("callback URL must have a path, such as /auth/callback")
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return nil, configError("callback URL must be https; plain http is for a loopback host only (localhost, 127.0.0.1, [::1])")
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Login starts a login: it keeps a new state and PKCE verifier, with the
// validated return_to query parameter, in a state cookie for this browser,
// and redirects (303) to CentralAuth's login page with the state and the
// verifier's S256 challenge. An unsafe return_to is replaced by the default
// one. It answers GET, HEAD and POST; other methods get 405.
//
// The state cookie is HttpOnly, SameSite=Lax (it must come back on the
// redirect from CentralAuth, another site) and lasts 10 minutes. With an
// https callback it is Secure and named with the __Host- prefix, so no
// sibling subdomain can plant a state; with http it is scoped to the
// callback's path. Each login has a cookie of its own, so logins started in
// several tabs all complete; a fourth login under way drops the oldest.
func (h *Handler) Login(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	returnTo := h.defaultLoc
	if raw := r.URL.Query().Get("return_to"); raw != "" {
		if loc, err := h.policy.Check(raw); err == nil {
			returnTo = loc
		} else {
			h.log(r.Context(), slog.LevelInfo, "login: unsafe return_to replaced by the default", slog.Any("reason", err))
		}
	}
	now := time.Now()
	h.dropOldest(w, r, now)
	p := newPending(returnTo, now)
	http.SetCookie(w, h.stateCookie(h.cookieName(random(6)), p.encode(), int(stateLifetime/time.Second)))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, h.client.LoginURL(h.callback, p.state, p.challenge()), http.StatusSeeOther)
}

// dropOldest removes the state cookies of logins that expired or, beyond
// maxPending-1, started earliest, to make room for one more. Over http the
// cookies are scoped to the callback and Login does not see them; they
// expire on their own, and Callback removes the expired ones it sees.
func (h *Handler) dropOldest(w http.ResponseWriter, r *http.Request, now time.Time) {
	type found struct {
		name    string
		started int64
	}
	var live []found
	for _, c := range r.Cookies() {
		if !h.isStateCookie(c.Name) {
			continue
		}
		p, err := decodePending(c.Value)
		if err != nil || p.expired(now) {
			h.removeCookie(w, c.Name)
			continue
		}
		live = append(live, found{c.Name, p.started})
	}
	for len(live) >= maxPending {
		oldest := 0
		for i, f := range live {
			if f.started < live[oldest].started {
				oldest = i
			}
		}
		h.removeCookie(w, live[oldest].name)
		live = append(live[:oldest], live[oldest+1:]...)
	}
}

// Callback finishes a login, at the callback URL, on GET only: it checks
// the state against the browser's state cookies, in constant time, and
// uses it up; it exchanges the code, with the login's verifier, for the
// tokens; and it saves a new session with them, under a fresh session ID
// whatever cookie the browser had, that expires with the tokens (the sooner
// of expires_in and expires_at). It then calls the WithOnLogin function and
// redirects (303) to the return_to the login started with, validated again.
//
// A failure saves no session and goes to the error handler
// (WithErrorHandler) with a *RequestError: ErrState, ErrNoCode or
// ErrRefused (400), ErrExchange (502), or the store's error (500).
func (h *Handler) Callback(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	p, ok := h.take(w, r, q.Get("state"))
	if !ok {
		h.fail(w, r, errState, slog.LevelInfo)
		return
	}
	if e := q.Get("error"); e != "" {
		h.fail(w, r, &RequestError{Status: http.StatusBadRequest, Err: refusedError{e, q.Get("error_description")}}, slog.LevelInfo)
		return
	}
	code := q.Get("code")
	if code == "" {
		h.fail(w, r, errNoCode, slog.LevelInfo)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), exchangeTimeout)
	defer cancel()
	tok, err := h.client.Exchange(ctx, code, h.callback, p.verifier)
	if err != nil {
		h.fail(w, r, &RequestError{Status: http.StatusBadGateway, Err: fmt.Errorf("%w: %w", ErrExchange, err)}, slog.LevelWarn)
		return
	}
	// No ID: Save draws a fresh one, so a login never carries on with an
	// ID the browser brought (no session fixation).
	sess := &session.Session{AccessToken: tok.AccessToken, IDToken: tok.IDToken, Expires: tok.Expires}
	if err := h.store.Save(w, sess); err != nil {
		h.fail(w, r, &RequestError{Status: http.StatusInternalServerError, Err: err}, slog.LevelError)
		return
	}
	if h.cfg.onLogin != nil {
		h.cfg.onLogin(r, sess)
	}
	loc, err := h.policy.Check(p.returnTo)
	if err != nil { // the policy changed since the login started
		loc = h.defaultLoc
	}
	h.log(r.Context(), slog.LevelInfo, "login", slog.String("outcome", "ok"), slog.String("session_id", sess.ID))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, loc, http.StatusSeeOther)
}

// take finds the login whose state is state among the browser's state
// cookies, comparing in constant time, and removes its cookie: a state
// works once. Expired and malformed state cookies are removed on the way.
func (h *Handler) take(w http.ResponseWriter, r *http.Request, state string) (pending, bool) {
	now := time.Now()
	var match pending
	found := false
	for _, c := range r.Cookies() {
		if !h.isStateCookie(c.Name) {
			continue
		}
		p, err := decodePending(c.Value)
		if err != nil || p.expired(now) {
			h.removeCookie(w, c.Name)
			continue
		}
		if state != "" && !found && subtle.ConstantTimeCompare([]byte(p.state), []byte(state)) == 1 {
			match, found = p, true
			h.removeCookie(w, c.Name)
		}
	}
	return match, found
}

func (h *Handler) cookieName(suffix string) string {
	if h.secure {
		return hostPrefix + cookieBase + suffix
	}
	return cookieBase + suffix
}

func (h *Handler) isStateCookie(name string) bool {
	return strings.HasPrefix(name, h.cookieName(""))
}

func (h *Handler) stateCookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     h.cookiePath,
		MaxAge:   maxAge,
		Secure:   h.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

// removeCookie expires a state cookie, with the Path it was set with, or
// the browser would keep it.
func (h *Handler) removeCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, h.stateCookie(name, "", -1))
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err *RequestError, level slog.Level) {
	h.log(r.Context(), level, "login failed", slog.Int("status", err.Status), slog.Any("error", err))
	h.cfg.onError(w, r, err)
}

func (h *Handler) log(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if h.cfg.logger.Enabled(ctx, level) {
		h.cfg.logger.LogAttrs(ctx, level, msg, attrs...)
	}
}

// defaultErrorPage answers a failed login in plain text, which no browser
// renders as markup: CentralAuth's error is the browser's to send.
func defaultErrorPage(w http.ResponseWriter, _ *http.Request, err error) {
	status := http.StatusInternalServerError
	var re *RequestError
	if errors.As(err, &re) {
		status = re.Status
	}
	msg := "The login failed: the session could not be saved."
	switch {
	case errors.Is(err, ErrState):
		msg = "The login failed: it was not started in this browser, took longer than 10 minutes, or was used already."
	case errors.Is(err, ErrNoCode):
		msg = "The login failed: CentralAuth sent no code."
	case errors.Is(err, ErrRefused):
		msg = "The login failed. " + strings.TrimPrefix(re.Err.Error(), "login: ")
	case errors.Is(err, ErrExchange):
		msg = "The login failed: CentralAuth did not accept the login code."
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\nStart again from the login link.\n"))
}

// isNil reports whether v is nil, or a nil pointer in an interface.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}
