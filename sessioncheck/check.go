package sessioncheck

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/centralauth-go/logout/internal/endedset"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
)

// Check notices a logout made elsewhere: it asks CentralAuth, at most once
// per interval per session, whether the request's session still stands,
// and acts on the answer:
//
//   - The session stands: the request goes on with the session and its
//     user (From).
//   - The session stands, but CentralAuth reports the user blocked: the
//     request goes on logged out, and Require refuses it. The cookie is
//     kept and nothing is revoked: the session stands at CentralAuth, and
//     the user is back, without logging in again, at the first check after
//     being unblocked. Logged at Info.
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
//     and the user is back as soon as CentralAuth answers. Logged at Warn,
//     except that CentralAuth refusing the app's credentials or origin
//     (noPermission, domainInvalid) is a misconfiguration, logged at Error
//     once per interval.
//
// An answer is for a session and its token together: the cache keys it by
// session ID and keeps a hash of the token, never the token, so a session
// saved again under its ID with another token is asked about afresh.
// Concurrent requests for one session whose answer is due share one call,
// and there is at most one call per session per interval, answered or
// failed. No request waits for CentralAuth longer than the timeout.
// Intervals and staleness are measured on the monotonic clock: a step of
// the wall clock changes none of them.
//
// The cache keeps the answers for up to 100,000 sessions; when full, a new
// answer drops an arbitrary one. Sessions without an answer yet, whose
// first check is in flight or failed, are kept apart, up to 1,000, and
// never push out a session with an answer: with session.TokenCookie every
// random cookie is a session, and a flood of them during an outage must
// not log real users out. While 1,000 first checks are in flight, the
// request of yet another unknown session is not asked about: it goes on
// logged out, its cookie kept, logged at Warn. Every outcome is logged,
// with the call's latency (fresh and cached at Debug), and reported to the
// WithOnCheck hook. Build a Check with New; it is safe for concurrent use.
type Check struct {
	cfg   config
	store Store
	users Users
	// base is when the Check was made, with its monotonic clock reading:
	// the cache keeps its times as durations since base.
	base time.Time
	// maxEntries and maxFirst are maxEntries and maxFirstChecks, but in
	// tests.
	maxEntries, maxFirst int

	mu sync.RWMutex
	// entries are the answers, by session ID, each for one token.
	entries map[string]*entry
	// first are the sessions, with their tokens, without an answer yet.
	first      map[firstKey]*entry
	firstCalls int // how many of first have a call in flight

	proxyWarned atomic.Bool // the untrusted proxy was logged

	// When the Check may next log, since base (see due): that CentralAuth
	// refuses the app, that no token has decrypted, or that the list of
	// ended sessions failed.
	misconfigLog, noDecryptLog, endedFailedLog atomic.Int64
	// decryptedAt is when a token last decrypted at a first check, since
	// base, plus one (0: never), with WithEndedSessions.
	decryptedAt atomic.Int64
}

// junkWindow is how long after the last token that decrypted a token that
// does not is refused as not CentralAuth's: see WithEndedSessions.
const junkWindow = 5 * time.Minute

// Store is where the app keeps its sessions: *session.Store and
// *session.TokenCookie fit it, and an app may wrap either.
//
// Load returns the request's session, on every request; its errors follow
// package session: session.ErrNoSession and errors matching
// session.ErrInvalidSession mean "not signed in", and anything else is
// logged at Warn. Logout, called when CentralAuth says that the session
// ended, clears the cookie and revokes the session.
type Store interface {
	Load(r *http.Request) (*session.Session, error)
	Logout(ctx context.Context, w http.ResponseWriter, r *http.Request) ([]*session.Session, error)
}

// Users is CentralAuth's userinfo: a *remote.Client made with
// remote.WithAppOrigin. Its errors are read with remote.IsSessionEnded and
// *remote.Error's Code. New calls UserInfo once, with an empty token and a
// cancelled context, and refuses Users that answer with an error matching
// remote.ErrInvalidConfig, as a *remote.Client without an app origin does.
type Users interface {
	UserInfo(ctx context.Context, token string, eu remote.EndUser) (remote.User, error)
}

// Session is what a Check learnt of a request's session.
type Session struct {
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

// maxEntries bounds the sessions a Check keeps an answer for; see bytes
// per session in BENCHMARKS.md.
const maxEntries = 100_000

// maxFirstChecks bounds the sessions without an answer yet, and so the
// first checks in flight: 1,000 calls of 50 ms each are 20,000 new
// sessions a second.
const maxFirstChecks = 1_000

// New returns a Check that loads sessions from store and asks users about
// them, or an error matching ErrInvalidConfig that says what to fix.
func New(store Store, users Users, opts ...Option) (*Check, error) {
	cfg := config{
		interval:     30 * time.Second,
		maxStale:     10 * time.Minute,
		timeout:      2 * time.Second,
		unauthorized: http.HandlerFunc(unauthorized),
		logger:       slog.Default(),
	}
	for _, opt := range opts {
		if opt == nil {
			return nil, configError("nil Option")
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	switch {
	case isNil(store):
		return nil, configError("nil Store")
	case isNil(users):
		return nil, configError("nil Users")
	}
	// Without remote.WithAppOrigin every check would fail, logging every
	// user out. A *remote.Client says so for an empty token, before any
	// call; the context is cancelled so that no Users can make one.
	probe, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := users.UserInfo(probe, "", remote.EndUser{}); errors.Is(err, remote.ErrInvalidConfig) {
		return nil, configError("Users cannot check sessions (%w); make the *remote.Client with remote.WithAppOrigin", err)
	}
	return &Check{
		cfg: cfg, store: store, users: users, base: time.Now(), maxEntries: maxEntries, maxFirst: maxFirstChecks,
		entries: make(map[string]*entry), first: make(map[firstKey]*entry),
	}, nil
}

// From returns what the Check learnt of the request's session, and whether
// there is a live one. It is false on a request without a session, with
// one that ended, could not be vouched for, or whose user CentralAuth
// reports blocked, and outside a Check.
func From(ctx context.Context) (Session, bool) {
	s, ok := ctx.Value(ctxKey{}).(*Session)
	if !ok || s.Session == nil {
		return Session{}, false
	}
	return *s, true
}

type ctxKey struct{}

// sessionContext carries a Session. One allocation for both the context
// and its value, where context.WithValue would take two.
type sessionContext struct {
	context.Context
	s Session
}

func (c *sessionContext) Value(key any) any {
	if key == (ctxKey{}) {
		return &c.s
	}
	return c.Context.Value(key)
}

// Middleware returns next wrapped so that every request is checked first;
// the handler reads the outcome with From. It never refuses a request: a
// request that is not signed in goes on without a session.
func (c *Check) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, done := r.Context().Value(ctxKey{}).(*Session); done {
			next.ServeHTTP(w, r) // checked already, by an outer Middleware
			return
		}
		ctx := &sessionContext{Context: r.Context(), s: c.check(w, r)}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Require is Middleware that lets only requests with a live session reach
// next; the others get the WithUnauthorized handler (401 by default).
func (c *Check) Require(next http.Handler) http.Handler {
	return c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := From(r.Context()); !ok {
			c.cfg.unauthorized.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// flight is one userinfo call that every request of the session waits on.
type flight struct {
	done    chan struct{}
	outcome Outcome // Fresh, Ended, Unavailable or Misconfigured
	user    remote.User
	err     error
}

// check loads the request's session and vouches for it. The result's
// Session is nil when there is no live session.
func (c *Check) check(w http.ResponseWriter, r *http.Request) Session {
	sess, err := c.store.Load(r)
	switch {
	case err == nil:
	case errors.Is(err, session.ErrNoSession), errors.Is(err, session.ErrInvalidSession):
		return Session{}
	default:
		c.log(r.Context(), slog.LevelWarn, "session check: session store failed", slog.Any("error", err))
		return Session{}
	}
	raw := sessionToken(sess)
	tok := hashToken(raw)
	now := c.since()
	c.mu.RLock()
	e, _ := c.lookupLocked(sess.ID, tok)
	due := e == nil || e.call != nil || now >= e.next
	var (
		s   Session
		ev  Event
		sid string // the CentralAuth session, when the token was read
	)
	if e != nil {
		sid = e.sid
	}
	if !due {
		s, ev = c.answeredLocked(sess, e, now)
	}
	c.mu.RUnlock()
	if c.cfg.tokens != nil {
		if e == nil {
			// Once per session and token: the entry keeps what it says.
			claims, ok := c.cfg.tokens.Decrypt(raw)
			switch {
			case ok:
				sid = claims.SessionID
				c.decryptedAt.Store(int64(now) + 1)
			case c.refusesUnreadable(r, now):
				return c.foreign(r, sess)
			}
		}
		if sid != "" && c.endedElsewhere(r, sid, now) {
			return c.endedInList(w, r, sess, tok)
		}
	}
	if due {
		return c.ask(w, r, sess, tok, sid)
	}
	return c.cached(r, s, ev)
}

// errForeign is the error of a Foreign outcome.
var errForeign = errors.New("sessioncheck: the token does not decrypt with the organization's client secret")

// errEndedInList is the error of an Ended outcome that the list of ended
// sessions decided.
var errEndedInList = errors.New("sessioncheck: the CentralAuth session was ended in another app (the list of ended sessions)")

// foreign reports a session whose token is not CentralAuth's, which goes
// on logged out. At Debug: a flood of them must not flood the log.
func (c *Check) foreign(r *http.Request, sess *session.Session) Session {
	c.log(r.Context(), slog.LevelDebug, "session check: the token does not decrypt with the client secret; not CentralAuth's, not asked about",
		slog.String("session_id", sess.ID), slog.String("outcome", string(Foreign)))
	c.report(r, Event{Outcome: Foreign, SessionID: sess.ID, Err: errForeign})
	return Session{}
}

// refusesUnreadable reports whether a token that does not decrypt is
// refused as not CentralAuth's: while another one decrypted within the
// junk window. Past it, the Check asks CentralAuth, and says so at Error
// once per window if tokens used to decrypt.
func (c *Check) refusesUnreadable(r *http.Request, now time.Duration) bool {
	last := c.decryptedAt.Load()
	if last == 0 {
		return false // none ever decrypted: nothing to compare with
	}
	if now-time.Duration(last-1) < junkWindow {
		return true
	}
	if c.due(&c.noDecryptLog, now, junkWindow) {
		c.log(r.Context(), slog.LevelError, "session check: no token has decrypted with the client secret for "+junkWindow.String()+
			"; CentralAuth may have changed the tokens' format, or the secret been rotated (token.WithPreviousSecret): asking CentralAuth about every token that does not")
	}
	return false
}

// due reports whether the time at next has come, and if so moves it to
// now+every: for log lines that must not repeat on every request.
func (c *Check) due(next *atomic.Int64, now, every time.Duration) bool {
	at := next.Load()
	return int64(now) >= at && next.CompareAndSwap(at, int64(now+every))
}

// endedElsewhere asks the list of ended sessions about sid. A list that
// cannot be asked is not a logout: the check goes on without it.
func (c *Check) endedElsewhere(r *http.Request, sid string, now time.Duration) bool {
	ended, err := c.cfg.ended.Revoked(r.Context(), sid)
	if err != nil {
		if c.due(&c.endedFailedLog, now, c.cfg.interval) {
			c.log(r.Context(), slog.LevelWarn, "session check: the list of ended sessions cannot be asked; logouts made elsewhere are noticed at the check interval meanwhile",
				slog.Any("error", err))
		}
		return false
	}
	return ended
}

// endedInList ends a session whose CentralAuth session the list of ended
// sessions holds, without asking CentralAuth: its answers are dropped,
// its cookie cleared, and the session revoked.
func (c *Check) endedInList(w http.ResponseWriter, r *http.Request, sess *session.Session, tok tokenHash) Session {
	c.mu.Lock()
	if e := c.entries[sess.ID]; e != nil && e.tok == tok && e.call == nil {
		delete(c.entries, sess.ID)
	}
	if e := c.first[firstKey{sess.ID, tok}]; e != nil && e.call == nil {
		delete(c.first, firstKey{sess.ID, tok})
	}
	c.mu.Unlock()
	return c.settle(w, r, sess, nil, Ended, remote.User{}, errEndedInList, time.Now())
}

// ask asks CentralAuth, or waits for the call in progress for the same
// session, for at most the timeout.
func (c *Check) ask(w http.ResponseWriter, r *http.Request, sess *session.Session, tok tokenHash, sid string) Session {
	start := time.Now()
	// What CentralAuth records of the end user, as values: the call may
	// outlive this request.
	eu := c.endUser(r)
	now := c.since()
	c.mu.Lock()
	e, first := c.lookupLocked(sess.ID, tok)
	if e == nil {
		e, first = c.addFirstLocked(firstKey{sess.ID, tok}), true
		if e == nil {
			c.mu.Unlock()
			ev := Event{Outcome: Unavailable, SessionID: sess.ID, Err: errTooManyFirstChecks}
			return c.unvouched(r, Session{}, ev, slog.LevelWarn)
		}
		e.sid = sid
	}
	f := e.call
	if f == nil {
		if now < e.next {
			// Another request's call was answered after this one found
			// the answer due: the answer stands, so that there is one call
			// per interval however the requests are scheduled.
			s, ev := c.answeredLocked(sess, e, now)
			c.mu.Unlock()
			return c.cached(r, s, ev)
		}
		f = &flight{done: make(chan struct{})}
		e.call = f
		if first {
			c.firstCalls++
		}
		go c.call(r.Context(), sess, eu, e, f, first)
	}
	c.mu.Unlock()

	timer := time.NewTimer(c.cfg.timeout)
	defer timer.Stop()
	select {
	case <-f.done:
	case <-timer.C:
		// The call goes on for the requests that come later; this one
		// goes on with what is known now.
		return c.settle(w, r, sess, e, Unavailable, remote.User{}, context.DeadlineExceeded, start)
	}
	return c.settle(w, r, sess, e, f.outcome, f.user, f.err, start)
}

// errTooManyFirstChecks is the error of a request of an unknown session
// that is not asked about.
var errTooManyFirstChecks = errors.New("sessioncheck: too many first checks in flight")

// call makes the userinfo call for e, records its answer, and releases the
// requests that wait on f. It has its own timeout: the request that
// started it may leave, while others wait.
func (c *Check) call(reqCtx context.Context, sess *session.Session, eu remote.EndUser, e *entry, f *flight, first bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(reqCtx), c.cfg.timeout)
	defer cancel()
	u, err := c.users.UserInfo(ctx, sessionToken(sess), eu)
	now := c.since()
	k := firstKey{sess.ID, e.tok}
	logMisconfigured := false
	c.mu.Lock()
	e.call = nil
	if first {
		c.firstCalls--
	}
	switch {
	case err == nil:
		f.outcome, f.user = Fresh, u
		e.user, e.good, e.next = newUserRecord(u), now, now+c.cfg.interval
		if first && c.first[k] == e {
			delete(c.first, k)
			c.keepLocked(sess.ID, e)
		}
	case remote.IsSessionEnded(err):
		f.outcome = Ended
		if first && c.first[k] == e {
			delete(c.first, k)
		} else if !first && c.entries[sess.ID] == e {
			delete(c.entries, sess.ID)
		}
	default:
		f.outcome, e.user.failed = Unavailable, failedUnavailable
		if re, ok := errors.AsType[*remote.Error](err); ok && (re.Code == "noPermission" || re.Code == "domainInvalid") {
			f.outcome, e.user.failed = Misconfigured, failedMisconfigured
			// The app's fault, not the session's: once per interval for
			// the Check, not once per request or session.
			logMisconfigured = c.due(&c.misconfigLog, now, c.cfg.interval)
		}
		// Ask again after the interval, not on every request: an outage
		// must not become a flood of calls.
		e.next = now + c.cfg.interval
	}
	f.err = err
	c.mu.Unlock()
	if f.outcome == Ended && e.sid != "" && endsTheSession(err) {
		// The other apps, and this one's other sessions of the same
		// CentralAuth session, need not ask.
		if lerr := endedset.Mark(ctx, c.cfg.ended, e.sid, sess.Expires); lerr != nil {
			c.log(ctx, slog.LevelWarn, "session check: could not add an ended session to the list of ended sessions",
				slog.String("session_id", sess.ID), slog.Any("error", lerr))
		}
	}
	if logMisconfigured {
		c.log(ctx, slog.LevelError, "session check: CentralAuth refuses this app's client ID and secret, or its origin (remote.WithAppOrigin); no session can be checked",
			slog.Any("error", err))
	}
	close(f.done)
}

// endsTheSession reports whether err, an answer that matches
// remote.IsSessionEnded, is about the CentralAuth session, so that the
// list of ended sessions may hold it for every app. tokenInvalid and
// tokenMissing refuse this one token (one that expired, say), while the
// other apps' tokens of the session may still stand.
func endsTheSession(err error) bool {
	re, ok := errors.AsType[*remote.Error](err)
	return ok && re.Code != "tokenInvalid" && re.Code != "tokenMissing"
}

// settle turns a call's outcome into the request's Session, clearing the
// cookie of an ended session, and reports it.
func (c *Check) settle(w http.ResponseWriter, r *http.Request, sess *session.Session, e *entry, outcome Outcome, u remote.User, err error, start time.Time) Session {
	ev := Event{Outcome: outcome, SessionID: sess.ID, Blocked: outcome == Fresh && u.Blocked, Latency: time.Since(start), Err: err}
	attrs := []slog.Attr{slog.String("session_id", sess.ID), slog.Duration("latency", ev.Latency), slog.String("outcome", logged(ev))}
	switch outcome {
	case Fresh:
		if ev.Blocked {
			c.log(r.Context(), slog.LevelInfo, "session check: CentralAuth reports the user blocked; not signed in here", append(attrs, slog.String("user_id", u.ID))...)
			c.report(r, ev)
			return Session{}
		}
		c.log(r.Context(), slog.LevelDebug, "session check", attrs...)
		c.report(r, ev)
		return Session{Session: sess, User: u, Checked: time.Now()}
	case Ended:
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), c.cfg.timeout)
		defer cancel()
		if _, lerr := c.store.Logout(ctx, w, r); lerr != nil && !errors.Is(lerr, session.ErrRevoked) {
			attrs = append(attrs, slog.Any("revoke_error", lerr))
		}
		msg := "session check: CentralAuth session ended; logged out here too"
		if err == errEndedInList {
			msg = "session check: CentralAuth session ended in another app (the list of ended sessions); logged out here too"
		}
		c.log(r.Context(), slog.LevelInfo, msg, attrs...)
		c.report(r, ev)
		return Session{}
	}
	c.mu.RLock()
	s, fallback := c.lastGoodLocked(sess, e, c.since(), outcome)
	c.mu.RUnlock()
	level := slog.LevelWarn
	if outcome == Misconfigured {
		level = slog.LevelDebug // the call logged it at Error
	}
	fallback.Latency, fallback.Err = ev.Latency, err
	return c.unvouched(r, s, fallback, level)
}

// answeredLocked is what e's answer, within its interval, makes of sess.
// c.mu is held.
func (c *Check) answeredLocked(sess *session.Session, e *entry, now time.Duration) (Session, Event) {
	switch e.user.failed {
	case failedUnavailable:
		return c.lastGoodLocked(sess, e, now, Unavailable)
	case failedMisconfigured:
		return c.lastGoodLocked(sess, e, now, Misconfigured)
	}
	ev := Event{Outcome: Cached, SessionID: sess.ID, Blocked: e.user.blocked}
	if ev.Blocked {
		return Session{}, ev
	}
	return Session{Session: sess, User: e.user.user(), Checked: c.base.Add(e.good)}, ev
}

// lastGoodLocked is sess when CentralAuth could not vouch for it just now,
// with the outcome failed: an outage, or a misconfiguration, is not a
// logout. The session stays live, Stale, on a good answer younger than the
// maximum staleness for a user not blocked, and goes on logged out
// otherwise, its cookie kept. c.mu is held.
func (c *Check) lastGoodLocked(sess *session.Session, e *entry, now time.Duration, failed Outcome) (Session, Event) {
	ev := Event{Outcome: failed, SessionID: sess.ID, Blocked: e.user.vouched && e.user.blocked}
	if !e.user.vouched || e.user.blocked || now-e.good >= c.cfg.maxStale {
		return Session{}, ev
	}
	ev.Outcome = Stale
	return Session{Session: sess, User: e.user.user(), Checked: c.base.Add(e.good), Stale: true}, ev
}

// errNotAsked is the error of a request that reuses a failed answer within
// the interval.
var errNotAsked = errors.New("sessioncheck: the last call within the check interval failed")

// cached reports an answer given within the interval and returns s.
func (c *Check) cached(r *http.Request, s Session, ev Event) Session {
	if ev.Outcome != Cached {
		ev.Err = errNotAsked
		return c.unvouched(r, s, ev, slog.LevelDebug)
	}
	c.log(r.Context(), slog.LevelDebug, "session check", slog.String("session_id", ev.SessionID), slog.String("outcome", logged(ev)))
	c.report(r, ev)
	return s
}

// unvouched reports a session that CentralAuth could not vouch for just
// now, and returns s.
func (c *Check) unvouched(r *http.Request, s Session, ev Event, level slog.Level) Session {
	c.log(r.Context(), level, "session check: CentralAuth could not vouch for the session",
		slog.String("session_id", ev.SessionID), slog.Duration("latency", ev.Latency),
		slog.String("outcome", logged(ev)), slog.Any("error", ev.Err))
	c.report(r, ev)
	return s
}

// logged is the outcome as log lines name it: "blocked" for a blocked
// user's answer.
func logged(ev Event) string {
	if ev.Blocked && (ev.Outcome == Fresh || ev.Outcome == Cached) {
		return "blocked"
	}
	return string(ev.Outcome)
}

func (c *Check) report(r *http.Request, ev Event) {
	if c.cfg.onCheck != nil {
		c.cfg.onCheck(r, ev)
	}
}

// since is the time since c's base, on the monotonic clock.
func (c *Check) since() time.Duration { return time.Since(c.base) }

func (c *Check) log(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if c.cfg.logger.Enabled(ctx, level) {
		c.cfg.logger.LogAttrs(ctx, level, msg, attrs...)
	}
}
