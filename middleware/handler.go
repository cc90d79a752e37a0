package middleware

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/centralauth-go/logout/internal/endedset"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/returnto"
	"github.com/centralauth-go/logout/session"
)

// SessionStore is where the app keeps its session: *session.Store and
// *session.TokenCookie satisfy it, and an app may wrap either.
//
// Logout ends the request's sessions in the app: it clears the cookie, and
// revokes the sessions so that a copy of the cookie stops working. It
// returns the sessions it ended (usually one: see session.Store.Logout),
// whose tokens a session-wide logout sends to CentralAuth. Its errors
// follow package session: with no session, session.ErrNoSession and errors
// matching session.ErrInvalidSession are expected, and anything else is
// logged as a fault; with sessions, an error means they could not all be
// revoked.
type SessionStore interface {
	Logout(ctx context.Context, w http.ResponseWriter, r *http.Request) ([]*session.Session, error)
}

// Remote ends a session in every app of the organization: a
// *remote.Client. Errors are classified with remote.IsRetryable.
type Remote interface {
	Logout(ctx context.Context, token string) error
}

// Outbox keeps a session-wide logout that failed for a retryable reason,
// to deliver it later. *outbox.Outbox is one.
type Outbox interface {
	Enqueue(ctx context.Context, token string) error
}

// LogoutHandler serves logout. Build it with NewLogoutHandler; it is safe
// for concurrent use.
type LogoutHandler struct {
	cfg         config
	store       SessionStore
	policy      *returnto.Policy
	defaultLoc  string
	crossOrigin *http.CrossOriginProtection
}

// NewLogoutHandler returns a LogoutHandler that ends the sessions of store,
// or an error matching ErrInvalidConfig that says what to fix: no store,
// session-wide logout without a remote client, an unsafe default
// return_to, a bad host pattern or trusted origin, or an invalid option.
func NewLogoutHandler(store SessionStore, opts ...Option) (*LogoutHandler, error) {
	cfg := config{
		defaultReturnTo: "/",
		path:            "/logout",
		logger:          slog.Default(),
		remoteTimeout:   3 * time.Second,
		errorHandler:    defaultErrorHandler,
	}
	for _, opt := range opts {
		if opt == nil {
			return nil, configError("nil Option")
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if isNil(store) {
		return nil, configError("nil SessionStore")
	}
	if cfg.sessionWide && cfg.remote == nil {
		return nil, configError("WithSessionWide(true) needs WithRemote")
	}
	if cfg.ended != nil && !cfg.sessionWide {
		return nil, configError("WithEndedSessions needs WithSessionWide(true): only a session-wide logout ends the CentralAuth session")
	}
	policy, err := returnto.NewPolicy(cfg.allowedHosts...)
	if err != nil {
		return nil, configError("%w", err)
	}
	defaultLoc, err := policy.Check(cfg.defaultReturnTo)
	if err != nil {
		return nil, configError("default return_to %q: %w", cfg.defaultReturnTo, err)
	}
	crossOrigin := http.NewCrossOriginProtection()
	for _, o := range cfg.trustedOrigins {
		if err := crossOrigin.AddTrustedOrigin(o); err != nil {
			return nil, configError("trusted origin: %w", err)
		}
	}
	return &LogoutHandler{cfg: cfg, store: store, policy: policy, defaultLoc: defaultLoc, crossOrigin: crossOrigin}, nil
}

// Middleware returns next wrapped so that requests for the logout path
// (WithPath) are served by h, and every other request goes to next
// untouched and without allocation.
func (h *LogoutHandler) Middleware(next http.Handler) http.Handler {
	return &wrapped{path: h.cfg.path, logout: h, next: next}
}

// wrapped is what Middleware returns. The path is copied in so that the
// pass-through test, run on every request of the app, reads one struct.
type wrapped struct {
	path   string
	logout *LogoutHandler
	next   http.Handler
}

func (m *wrapped) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == m.path {
		m.logout.ServeHTTP(w, r)
		return
	}
	m.next.ServeHTTP(w, r)
}

// ServeHTTP serves every request routed to it, whatever its path. A POST
// logs out and redirects with 303 See Other; a GET logs out (and redirects
// with 302 Found) only with WithGETLogout(true), and otherwise gets the
// confirmation page, as a HEAD always does; any other method is refused
// with 405. A cross-origin POST is refused with 403. So a link or an image
// on another site can never log a user out, however the route is mounted.
//
// It always clears the session cookie, even when the cookie is missing or
// invalid: logout is idempotent. For a session-wide logout it sends the
// session's access token, else its ID token (or, with
// WithBearerToken(true), a token from an "Authorization: Bearer" header),
// and sends nothing when there is none. A remote failure is logged and
// reported in the Event, and the user is logged out locally and redirected
// all the same.
func (h *LogoutHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
	case http.MethodGet:
		if !h.cfg.getLogout {
			h.confirm(w, r)
			return
		}
	case http.MethodHead:
		h.confirm(w, r)
		return
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		h.cfg.errorHandler(w, r, errMethodNotAllowed)
		return
	}
	if err := h.crossOrigin.Check(r); err != nil {
		h.refuseCrossOrigin(w, r)
		return
	}
	ev := Event{ReturnTo: h.returnTo(r), SessionWide: h.cfg.sessionWide, Remote: RemoteNone}

	sessions, revokeErr := h.endLocally(w, r)
	ev.SessionIDs, ev.RevokeErr = sessionIDs(sessions), revokeErr
	if ev.SessionWide {
		var listErr error
		ev.Remote, ev.RemoteErr, listErr = h.remoteLogout(r, sessions)
		ev.RevokeErr = errors.Join(ev.RevokeErr, listErr)
	}
	if h.cfg.onLogout != nil {
		h.cfg.onLogout(r, ev)
	}

	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Location", ev.ReturnTo)
	if r.Method == http.MethodPost {
		w.WriteHeader(http.StatusSeeOther)
	} else {
		w.WriteHeader(http.StatusFound)
	}
}

// endLocally clears the cookie and revokes the sessions. It returns the
// sessions, none when there is none that can be trusted, and the error of
// revoking them.
func (h *LogoutHandler) endLocally(w http.ResponseWriter, r *http.Request) ([]*session.Session, error) {
	// The server-side steps outlive the request: see detached.
	ctx, cancel := h.detached(r)
	defer cancel()
	sessions, err := h.store.Logout(ctx, w, r)
	switch {
	case err == nil:
	case len(sessions) > 0:
		h.log(r.Context(), slog.LevelError, "logout: could not revoke the session; copies of its cookie stay valid until it expires",
			slog.Any("session_ids", sessionIDs(sessions)), slog.Any("error", err))
		return sessions, err
	case errors.Is(err, session.ErrNoSession):
	case errors.Is(err, session.ErrInvalidSession): // revoked included
		h.log(r.Context(), slog.LevelDebug, "logout: unusable session cookie", slog.Any("error", err))
	default:
		h.log(r.Context(), slog.LevelWarn, "logout: session store failed", slog.Any("error", err))
	}
	return sessions, nil
}

func sessionIDs(sessions []*session.Session) []string {
	ids := make([]string, len(sessions))
	for i, s := range sessions {
		ids[i] = s.ID
	}
	return ids
}

// remoteLogout ends the CentralAuth sessions, within the remote timeout,
// and hands a retryable failure to the outbox. It sends the Bearer token,
// when WithBearerToken allows one, else each session's access token, else
// its ID token. The outcome is the worst of the calls'; the last error is
// that of adding the sessions to the list of ended sessions.
func (h *LogoutHandler) remoteLogout(r *http.Request, sessions []*session.Session) (RemoteOutcome, error, error) {
	var tokens []string
	if h.cfg.bearer {
		token, present := bearerToken(r)
		if present && token == "" {
			h.log(r.Context(), slog.LevelDebug, "logout: Bearer token refused: not a compact JWE or JWT, or over 8 KiB")
		}
		if token != "" {
			tokens = append(tokens, token)
		}
	}
	if len(tokens) == 0 {
		for _, s := range sessions {
			if token := cmp.Or(s.AccessToken, s.IDToken); token != "" && !slices.Contains(tokens, token) {
				tokens = append(tokens, token)
			}
		}
	}
	if len(tokens) == 0 {
		return RemoteNone, nil, nil
	}
	// One bound for all the calls: see WithRemoteTimeout.
	ctx, cancel := h.detached(r)
	defer cancel()
	outcome, errs, listErrs := RemoteNone, []error(nil), []error(nil)
	for _, token := range tokens {
		o, err := h.sendRemote(ctx, r, token)
		outcome = worse(outcome, o)
		errs = append(errs, err)
		if o == RemoteDelivered || o == RemoteQueued {
			listErrs = append(listErrs, h.listEnded(r, token, sessions))
		}
	}
	return outcome, errors.Join(errs...), errors.Join(listErrs...)
}

// listEnded adds the CentralAuth session of token, which CentralAuth ended
// or the outbox will, to the list of ended sessions (WithEndedSessions).
func (h *LogoutHandler) listEnded(r *http.Request, token string, sessions []*session.Session) error {
	if h.cfg.ended == nil {
		return nil
	}
	claims, ok := h.cfg.tokens.Decrypt(token)
	if !ok {
		h.log(r.Context(), slog.LevelDebug, "logout: the token does not decrypt with the client secret; the other apps notice the logout at their check interval")
		return nil
	}
	var expires time.Time // the token's, when a session holds it
	for _, s := range sessions {
		if s.AccessToken == token || s.IDToken == token {
			expires = s.Expires
		}
	}
	// Its own bound: the calls to CentralAuth may have used up theirs.
	ctx, cancel := h.detached(r)
	defer cancel()
	if err := endedset.Mark(ctx, h.cfg.ended, claims.SessionID, expires); err != nil {
		h.log(r.Context(), slog.LevelError, "logout: could not add the session to the list of ended sessions; the other apps notice the logout at their check interval",
			slog.Any("error", err))
		return fmt.Errorf("middleware: list of ended sessions: %w", err)
	}
	return nil
}

// sendRemote ends one CentralAuth session, and queues a retryable failure.
// remote's errors never contain the token or the secret.
func (h *LogoutHandler) sendRemote(ctx context.Context, r *http.Request, token string) (RemoteOutcome, error) {
	err := h.cfg.remote.Logout(ctx, token)
	if err == nil {
		return RemoteDelivered, nil
	}
	if h.cfg.outbox != nil && remote.IsRetryable(err) {
		// A fresh bound: a timeout may be why the first call failed.
		qctx, qcancel := h.detached(r)
		defer qcancel()
		qerr := h.cfg.outbox.Enqueue(qctx, token)
		if qerr == nil {
			h.log(r.Context(), slog.LevelWarn, "logout: session-wide logout at CentralAuth failed; queued for retry", slog.Any("error", err))
			return RemoteQueued, err
		}
		h.log(r.Context(), slog.LevelError, "logout: session-wide logout at CentralAuth failed, and the outbox refused it",
			slog.Any("error", err), slog.Any("outbox_error", qerr))
		return RemoteFailed, errors.Join(err, qerr)
	}
	h.log(r.Context(), slog.LevelError, "logout: session-wide logout at CentralAuth failed",
		slog.Any("error", err), slog.Bool("retryable", remote.IsRetryable(err)))
	return RemoteFailed, err
}

// detached returns the context for the server-side steps of a logout. The
// user may close the tab the moment they click; that must not abandon the
// revocation or the logout at CentralAuth, so the request's cancellation is
// dropped (its values are kept) and only the remote timeout bounds them.
func (h *LogoutHandler) detached(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), h.cfg.remoteTimeout)
}

func (h *LogoutHandler) log(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if h.cfg.logger.Enabled(ctx, level) {
		h.cfg.logger.LogAttrs(ctx, level, msg, attrs...)
	}
}

// refuseCrossOrigin answers a cross-origin logout with 403, and says why at
// Debug: a proxy that rewrites Host, or localhost against 127.0.0.1, is
// otherwise hard to tell from an attack. The headers are the client's and
// are logged as quoted, bounded values.
func (h *LogoutHandler) refuseCrossOrigin(w http.ResponseWriter, r *http.Request) {
	h.log(r.Context(), slog.LevelDebug, "logout: cross-origin request refused",
		slog.String("origin", prefix(r.Header.Get("Origin"), 128)),
		slog.String("sec_fetch_site", prefix(r.Header.Get("Sec-Fetch-Site"), 32)),
		slog.String("host", prefix(r.Host, 128)))
	h.cfg.errorHandler(w, r, errCrossOrigin)
}

func defaultErrorHandler(w http.ResponseWriter, _ *http.Request, err error) {
	status := http.StatusBadRequest
	var re *RequestError
	if errors.As(err, &re) {
		status = re.Status
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, http.StatusText(status), status)
}
