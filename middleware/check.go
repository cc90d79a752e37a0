package middleware

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
)

// SessionCheck notices a logout made elsewhere. "Log out everywhere" in
// another app ends the session at CentralAuth, but this app's signed
// cookie stays valid until it asks CentralAuth, with userinfo, whether the
// session still stands. SessionCheck asks, at most once per check interval
// per session, and acts on the answer:
//
//   - The session stands: the request goes on with the session and its
//     user (SessionFrom).
//   - CentralAuth says it ended: the cookie is cleared and the session
//     revoked through the store (with a shared list, such as Redis, every
//     instance then refuses it without asking), and the request goes on
//     logged out. Logged at Info.
//   - CentralAuth cannot be asked (down, slow, rate limiting, answering
//     garbage, or refusing the app's credentials): that is not a logout.
//     Nothing is cleared or revoked. The session stays live, marked Stale,
//     while its last good answer is younger than the maximum staleness;
//     past that, and on a session's first check, which has no good answer
//     to fall back on, the request goes on logged out with its cookie kept,
//     and the user is back as soon as CentralAuth answers. Logged at Warn.
//
// Concurrent requests for one session whose answer is due share one call.
// No request waits for CentralAuth longer than the check timeout. Answers
// are cached by session ID, never by token, for up to 100,000 sessions;
// when full, an arbitrary entry is dropped. Every outcome is logged, with
// the call's latency: fresh and cached at Debug. Build it with
// NewSessionCheck; it is safe for concurrent use.
type SessionCheck struct {
	cfg config

	mu      sync.RWMutex
	entries map[string]*checkEntry
}

// CheckedSession is what SessionCheck learnt of a request's session.
type CheckedSession struct {
	// Session is the app's session, from the store.
	Session *session.Session
	// User is CentralAuth's user, from the last good answer.
	User remote.User
	// Checked is when CentralAuth last vouched for the session.
	Checked time.Time
	// Stale says that CentralAuth could not be asked just now, and User and
	// Checked come from an earlier answer, younger than the maximum
	// staleness.
	Stale bool
}

// maxCheckEntries bounds a SessionCheck's cache; see bytes per entry in
// BENCHMARKS.md.
const maxCheckEntries = 100_000

// NewSessionCheck returns a SessionCheck, or an error matching
// ErrInvalidConfig that says what to fix. It needs WithSessionStore and
// WithRemote (a *remote.Client made with remote.WithAppOrigin), and takes
// WithLogger, WithCheckInterval, WithMaxStale, WithCheckTimeout and
// WithUnauthorized.
func NewSessionCheck(opts ...Option) (*SessionCheck, error) {
	cfg := config{
		logger:        slog.Default(),
		checkInterval: 30 * time.Second,
		maxStale:      10 * time.Minute,
		checkTimeout:  2 * time.Second,
		unauthorized:  http.HandlerFunc(unauthorized),
	}
	if err := cfg.apply(opts, true); err != nil {
		return nil, err
	}
	switch {
	case cfg.store == nil:
		return nil, configError("no session store; use WithSessionStore")
	case cfg.remote == nil:
		return nil, configError("no CentralAuth client to ask; use WithRemote")
	}
	return &SessionCheck{cfg: cfg, entries: make(map[string]*checkEntry)}, nil
}

// WithCheckInterval sets how long an answer from CentralAuth is trusted
// before the next request of that session asks again. It bounds how long a
// "log out everywhere" made in another app takes to reach this one. 0 asks
// on every request. Default: 30s.
func WithCheckInterval(d time.Duration) Option {
	return checkOnly("WithCheckInterval", func(c *config) error {
		if d < 0 {
			return configError("check interval %v is negative", d)
		}
		c.checkInterval = d
		return nil
	})
}

// WithMaxStale sets how long a session stays live on its last good answer
// while CentralAuth cannot be asked. Past it the request goes on logged
// out, with its cookie kept. 0 logs out at once. Default: 10m.
func WithMaxStale(d time.Duration) Option {
	return checkOnly("WithMaxStale", func(c *config) error {
		if d < 0 {
			return configError("max staleness %v is negative", d)
		}
		c.maxStale = d
		return nil
	})
}

// WithCheckTimeout bounds how long a request waits for CentralAuth's
// answer, retries included. Default: 2s.
func WithCheckTimeout(d time.Duration) Option {
	return checkOnly("WithCheckTimeout", func(c *config) error {
		if d <= 0 {
			return configError("check timeout %v is not positive", d)
		}
		c.checkTimeout = d
		return nil
	})
}

// WithUnauthorized sets what Require serves to a request without a live
// session, such as a redirect to the login page carrying a return_to that
// the login validates with package returnto. Default: 401 Unauthorized.
func WithUnauthorized(h http.Handler) Option {
	return checkOnly("WithUnauthorized", func(c *config) error {
		if isNil(h) {
			return configError("nil unauthorized handler")
		}
		c.unauthorized = h
		return nil
	})
}

func unauthorized(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
}

// SessionFrom returns what SessionCheck learnt of the request's session,
// and whether there is a live one. It is false on a request without a
// session, with one that ended or could not be vouched for, and outside
// SessionCheck.
func SessionFrom(ctx context.Context) (CheckedSession, bool) {
	cs, ok := ctx.Value(checkedKey{}).(*CheckedSession)
	if !ok || cs.Session == nil {
		return CheckedSession{}, false
	}
	return *cs, true
}

type checkedKey struct{}

// checkedContext carries a CheckedSession. One allocation for both the
// context and its value, where context.WithValue would take two.
type checkedContext struct {
	context.Context
	cs CheckedSession
}

func (c *checkedContext) Value(key any) any {
	if key == (checkedKey{}) {
		return &c.cs
	}
	return c.Context.Value(key)
}

// Middleware returns next wrapped so that every request is checked first;
// the handler reads the outcome with SessionFrom. It never refuses a
// request: a request that is not signed in goes on without a session.
func (c *SessionCheck) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, done := r.Context().Value(checkedKey{}).(*CheckedSession); done {
			next.ServeHTTP(w, r) // checked already, by an outer Middleware
			return
		}
		ctx := &checkedContext{Context: r.Context(), cs: c.check(w, r)}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Require is Middleware that lets only requests with a live session reach
// next; the others get the WithUnauthorized handler (401 by default).
func (c *SessionCheck) Require(next http.Handler) http.Handler {
	return c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := SessionFrom(r.Context()); !ok {
			c.cfg.unauthorized.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// checkEntry is the cache's memory of one session, in 128 bytes (see
// BenchmarkSessionCheckCache): the user's times as Unix nanoseconds, and
// the booleans side by side.
type checkEntry struct {
	user userRecord
	good int64   // when the last good answer came, Unix ns; 0: never
	next int64   // when to ask again, Unix ns
	call *flight // the call in progress, or nil
}

// flight is one userinfo call that every request of the session waits on.
type flight struct {
	done    chan struct{}
	outcome string // see the outcome constants
	user    remote.User
	err     error
}

// The outcomes of a check, as logged.
const (
	outcomeCached        = "cached"
	outcomeFresh         = "fresh"
	outcomeEnded         = "ended"
	outcomeStale         = "stale"
	outcomeUnavailable   = "unavailable"
	outcomeMisconfigured = "misconfigured"
)

// check loads the request's session and vouches for it. The result's
// Session is nil when there is no live session.
func (c *SessionCheck) check(w http.ResponseWriter, r *http.Request) CheckedSession {
	sess, err := c.cfg.store.Load(r)
	switch {
	case err == nil:
	case errors.Is(err, session.ErrNoSession), errors.Is(err, session.ErrInvalidSession):
		return CheckedSession{}
	default:
		c.log(r.Context(), slog.LevelWarn, "session check: session store failed", slog.Any("error", err))
		return CheckedSession{}
	}
	now := time.Now()
	c.mu.RLock()
	e := c.entries[sess.ID]
	if e == nil || e.call != nil || now.UnixNano() >= e.next {
		c.mu.RUnlock()
		return c.ask(w, r, sess)
	}
	// Answered within the interval: the answer stands.
	failed := e.user.failed
	cs := CheckedSession{Session: sess, User: e.user.user(), Checked: time.Unix(0, e.good)}
	c.mu.RUnlock()
	if failed {
		return c.unvouched(r, sess, outcomeUnavailable, errNotAsked, now, slog.LevelDebug)
	}
	c.log(r.Context(), slog.LevelDebug, "session check", slog.String("outcome", outcomeCached), slog.String("session_id", sess.ID))
	return cs
}

// ask asks CentralAuth, or waits for the call in progress for the same
// session, for at most the check timeout.
func (c *SessionCheck) ask(w http.ResponseWriter, r *http.Request, sess *session.Session) CheckedSession {
	start := time.Now()
	c.mu.Lock()
	e := c.entries[sess.ID]
	if e == nil {
		e = &checkEntry{}
		c.evictLocked()
		c.entries[sess.ID] = e
	}
	f := e.call
	if f == nil {
		f = &flight{done: make(chan struct{})}
		e.call = f
		// What CentralAuth records of the end user, copied: the call may
		// outlive this request.
		endUser := &http.Request{RemoteAddr: r.RemoteAddr, Header: r.Header.Clone()}
		go c.call(r.Context(), sess, endUser, e, f)
	}
	c.mu.Unlock()

	timer := time.NewTimer(c.cfg.checkTimeout)
	defer timer.Stop()
	select {
	case <-f.done:
	case <-timer.C:
		// The call goes on for the requests that come later; this one
		// goes on with what is known now.
		return c.settle(w, r, sess, outcomeUnavailable, remote.User{}, context.DeadlineExceeded, start)
	}
	return c.settle(w, r, sess, f.outcome, f.user, f.err, start)
}

// call makes the userinfo call for e, records its answer, and releases the
// requests that wait on f. It has its own timeout: the request that
// started it may leave, while others wait.
func (c *SessionCheck) call(reqCtx context.Context, sess *session.Session, endUser *http.Request, e *checkEntry, f *flight) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(reqCtx), c.cfg.checkTimeout)
	defer cancel()
	token := sess.AccessToken
	if token == "" {
		token = sess.IDToken
	}
	u, err := c.cfg.remote.UserInfo(ctx, token, endUser)
	now := time.Now()
	c.mu.Lock()
	e.call = nil
	switch {
	case err == nil:
		f.outcome, f.user = outcomeFresh, u
		e.user, e.good = newUserRecord(u), now.UnixNano()
		e.user.failed = false
		e.next = now.Add(c.cfg.checkInterval).UnixNano()
	case remote.IsSessionEnded(err):
		f.outcome = outcomeEnded
		delete(c.entries, sess.ID)
	default:
		f.outcome = outcomeUnavailable
		if re, ok := errors.AsType[*remote.Error](err); ok && (re.Code == "noPermission" || re.Code == "domainInvalid") {
			f.outcome = outcomeMisconfigured
		}
		// Ask again after the interval, not on every request: an outage
		// must not become a flood of calls.
		e.user.failed = true
		e.next = now.Add(c.cfg.checkInterval).UnixNano()
	}
	f.err = err
	c.mu.Unlock()
	close(f.done)
}

// settle turns an outcome into the request's CheckedSession, clearing the
// cookie of an ended session, and logs it.
func (c *SessionCheck) settle(w http.ResponseWriter, r *http.Request, sess *session.Session, outcome string, u remote.User, err error, start time.Time) CheckedSession {
	attrs := []slog.Attr{slog.String("session_id", sess.ID), slog.Duration("latency", time.Since(start)), slog.String("outcome", outcome)}
	switch outcome {
	case outcomeFresh:
		c.log(r.Context(), slog.LevelDebug, "session check", attrs...)
		return CheckedSession{Session: sess, User: u, Checked: time.Now()}
	case outcomeEnded:
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), c.cfg.checkTimeout)
		defer cancel()
		if _, lerr := c.cfg.store.Logout(ctx, w, r); lerr != nil && !errors.Is(lerr, session.ErrRevoked) {
			attrs = append(attrs, slog.Any("revoke_error", lerr))
		}
		c.log(r.Context(), slog.LevelInfo, "session check: CentralAuth session ended; logged out here too", attrs...)
		return CheckedSession{}
	}
	return c.unvouched(r, sess, outcome, err, start, slog.LevelWarn)
}

// errNotAsked is the error logged for a request that reuses a failed
// answer within the interval.
var errNotAsked = errors.New("the last call within the check interval failed")

// unvouched is a request whose session CentralAuth could not vouch for:
// an outage, or a misconfiguration, is not a logout. The session stays
// live, Stale, on a good answer younger than the maximum staleness, and
// the request goes on logged out otherwise, its cookie kept.
func (c *SessionCheck) unvouched(r *http.Request, sess *session.Session, outcome string, err error, start time.Time, level slog.Level) CheckedSession {
	c.mu.RLock()
	var cs CheckedSession
	if e := c.entries[sess.ID]; e != nil && e.good != 0 && time.Since(time.Unix(0, e.good)) < c.cfg.maxStale {
		cs = CheckedSession{Session: sess, User: e.user.user(), Checked: time.Unix(0, e.good), Stale: true}
	}
	c.mu.RUnlock()
	if cs.Session != nil {
		outcome = outcomeStale
	}
	c.log(r.Context(), level, "session check: CentralAuth could not vouch for the session",
		slog.String("session_id", sess.ID), slog.Duration("latency", time.Since(start)),
		slog.String("outcome", outcome), slog.Any("error", err))
	return cs
}

// evictLocked makes room for one entry when the cache is full, by dropping
// an arbitrary one (Go's map order is random) that no call is waiting on.
func (c *SessionCheck) evictLocked() {
	if len(c.entries) < maxCheckEntries {
		return
	}
	for id, e := range c.entries {
		if e.call == nil {
			delete(c.entries, id)
			return
		}
	}
}

func (c *SessionCheck) log(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if c.cfg.logger.Enabled(ctx, level) {
		c.cfg.logger.LogAttrs(ctx, level, msg, attrs...)
	}
}

// userRecord is a remote.User in fewer bytes: times as Unix nanoseconds
// (0 for the zero time) instead of time.Time's 24 bytes each. It also
// holds the entry's failed flag, in what would be padding.
type userRecord struct {
	id, email, gravatar, org              string
	created, updated, lastLogin, affirmed int64
	verified, blocked                     bool
	failed                                bool // the last call could not vouch for the session
}

func newUserRecord(u remote.User) userRecord {
	return userRecord{
		id: u.ID, email: u.Email, gravatar: u.Gravatar, org: u.OrganizationID,
		created: unixNano(u.Created), updated: unixNano(u.Updated),
		lastLogin: unixNano(u.LastLogin), affirmed: unixNano(u.AffirmationDate),
		verified: u.Verified, blocked: u.Blocked,
	}
}

func (u userRecord) user() remote.User {
	return remote.User{
		ID: u.id, Email: u.email, Gravatar: u.gravatar, OrganizationID: u.org,
		Created: fromUnixNano(u.created), Updated: fromUnixNano(u.updated),
		LastLogin: fromUnixNano(u.lastLogin), AffirmationDate: fromUnixNano(u.affirmed),
		Verified: u.verified, Blocked: u.blocked,
	}
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
