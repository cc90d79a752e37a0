package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"
	"unsafe"

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
//     once per check interval.
//
// An answer is for a session and its token together: the cache keys it by
// session ID and keeps a hash of the token, never the token, so a session
// saved again under its ID with another token is asked about afresh.
// Concurrent requests for one session whose answer is due share one call,
// and there is at most one call per session per interval, answered or
// failed. No request waits for CentralAuth longer than the check timeout.
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
// with the call's latency: fresh and cached at Debug. Build it with
// NewSessionCheck; it is safe for concurrent use.
type SessionCheck struct {
	cfg config
	// base is when the SessionCheck was made, with its monotonic clock
	// reading: the cache keeps its times as durations since base.
	base time.Time
	// maxEntries and maxFirst are maxCheckEntries and maxFirstChecks, but
	// in tests.
	maxEntries, maxFirst int

	mu sync.RWMutex
	// entries are the answers, by session ID, each for one token.
	entries map[string]*checkEntry
	// first are the sessions, with their tokens, without an answer yet.
	first      map[firstKey]*checkEntry
	firstCalls int // how many of first have a call in flight
	// misconfigLog is when CentralAuth refusing the app may next be
	// logged at Error, since base.
	misconfigLog time.Duration
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

// maxCheckEntries bounds the sessions a SessionCheck keeps an answer for;
// see bytes per session in BENCHMARKS.md.
const maxCheckEntries = 100_000

// maxFirstChecks bounds the sessions without an answer yet, and so the
// first checks in flight: 1,000 calls of 50 ms each are 20,000 new
// sessions a second.
const maxFirstChecks = 1_000

// NewSessionCheck returns a SessionCheck, or an error matching
// ErrInvalidConfig that says what to fix. It needs WithSessionStore and
// WithRemote (a *remote.Client made with remote.WithAppOrigin), and takes
// WithLogger, WithCheckInterval, WithMaxStale, WithCheckTimeout and
// WithUnauthorized. It calls the Remote's UserInfo once, with an empty
// token and a cancelled context, to refuse a *remote.Client that cannot
// check sessions.
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
	// Without remote.WithAppOrigin every check would fail, logging every
	// user out. A *remote.Client says so for an empty token, before any
	// call; the context is cancelled so that no Remote can make one.
	probe, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := cfg.remote.UserInfo(probe, "", nil); errors.Is(err, remote.ErrInvalidConfig) {
		return nil, configError("the Remote cannot check sessions (%w); make the *remote.Client with remote.WithAppOrigin", err)
	}
	return &SessionCheck{
		cfg: cfg, base: time.Now(), maxEntries: maxCheckEntries, maxFirst: maxFirstChecks,
		entries: make(map[string]*checkEntry), first: make(map[firstKey]*checkEntry),
	}, nil
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
// session, with one that ended, could not be vouched for, or whose user
// CentralAuth reports blocked, and outside SessionCheck.
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

// checkEntry is what the cache keeps of one session and token, in 96
// bytes (see BenchmarkSessionCheckCache). Its times are durations since
// the SessionCheck's base.
type checkEntry struct {
	user userRecord    // the last good answer, and the entry's flags
	tok  tokenHash     // the token the entry is for
	good time.Duration // when the last good answer came
	next time.Duration // when to ask again
	call *flight       // the call in progress, or nil
}

// firstKey names a session without an answer yet: by ID and token, so
// that a new token under a known ID is a first check of its own.
type firstKey struct {
	id  string
	tok tokenHash
}

// tokenHash names the token an answer was for without keeping it: the
// first 64 bits of its SHA-256. Another token with the same hash is a
// second preimage, about 2^64 hashes away.
type tokenHash uint64

func hashToken(token string) tokenHash {
	// Sum256 only reads its input, so the token's bytes need no copy: a
	// copy would be an allocation on every request.
	sum := sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
	return tokenHash(binary.BigEndian.Uint64(sum[:8]))
}

// sessionToken is the token CentralAuth is asked about.
func sessionToken(s *session.Session) string {
	if s.AccessToken != "" {
		return s.AccessToken
	}
	return s.IDToken
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
	outcomeBlocked       = "blocked"
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
	tok := hashToken(sessionToken(sess))
	now := c.since()
	c.mu.RLock()
	e, _ := c.lookupLocked(sess.ID, tok)
	if e == nil || e.call != nil || now >= e.next {
		c.mu.RUnlock()
		return c.ask(w, r, sess, tok)
	}
	cs, outcome := c.answeredLocked(sess, e, now)
	c.mu.RUnlock()
	return c.cached(r, sess, cs, outcome)
}

// ask asks CentralAuth, or waits for the call in progress for the same
// session, for at most the check timeout.
func (c *SessionCheck) ask(w http.ResponseWriter, r *http.Request, sess *session.Session, tok tokenHash) CheckedSession {
	start := time.Now()
	now := c.since()
	c.mu.Lock()
	e, first := c.lookupLocked(sess.ID, tok)
	if e == nil {
		e, first = c.addFirstLocked(firstKey{sess.ID, tok}), true
		if e == nil {
			c.mu.Unlock()
			c.logUnvouched(r, sess, outcomeUnavailable, errTooManyFirstChecks, start, slog.LevelWarn)
			return CheckedSession{}
		}
	}
	f := e.call
	if f == nil {
		if now < e.next {
			// Another request's call was answered after this one found
			// the answer due: the answer stands, so that there is one call
			// per interval however the requests are scheduled.
			cs, outcome := c.answeredLocked(sess, e, now)
			c.mu.Unlock()
			return c.cached(r, sess, cs, outcome)
		}
		f = &flight{done: make(chan struct{})}
		e.call = f
		if first {
			c.firstCalls++
		}
		// What CentralAuth records of the end user, copied: the call may
		// outlive this request.
		endUser := &http.Request{RemoteAddr: r.RemoteAddr, Header: r.Header.Clone()}
		go c.call(r.Context(), sess, endUser, e, f, first)
	}
	c.mu.Unlock()

	timer := time.NewTimer(c.cfg.checkTimeout)
	defer timer.Stop()
	select {
	case <-f.done:
	case <-timer.C:
		// The call goes on for the requests that come later; this one
		// goes on with what is known now.
		return c.settle(w, r, sess, e, outcomeUnavailable, remote.User{}, context.DeadlineExceeded, start)
	}
	return c.settle(w, r, sess, e, f.outcome, f.user, f.err, start)
}

// errTooManyFirstChecks is the error logged for a request of an unknown
// session that is not asked about.
var errTooManyFirstChecks = errors.New("too many first checks in flight")

// lookupLocked finds the entry for the session with token tok: its answer,
// or, with first true, its first check. c.mu is held.
func (c *SessionCheck) lookupLocked(id string, tok tokenHash) (e *checkEntry, first bool) {
	if e := c.entries[id]; e != nil && e.tok == tok {
		return e, false
	}
	if e := c.first[firstKey{id, tok}]; e != nil {
		return e, true
	}
	return nil, false
}

// addFirstLocked adds a first check, or returns nil while maxFirst are in
// flight. When full, it drops one that failed: only another session
// without an answer is pushed out. c.mu is held for writing.
func (c *SessionCheck) addFirstLocked(k firstKey) *checkEntry {
	if len(c.first) >= c.maxFirst {
		if c.firstCalls >= c.maxFirst {
			return nil
		}
		for old, e := range c.first {
			if e.call == nil {
				delete(c.first, old)
				break
			}
		}
	}
	e := &checkEntry{tok: k.tok}
	c.first[k] = e
	return e
}

// keepLocked makes e the answer for session id, in place of another
// token's. When the cache is full, it drops an arbitrary entry (Go's map
// order is random) that no call is waiting on. c.mu is held for writing.
func (c *SessionCheck) keepLocked(id string, e *checkEntry) {
	if _, ok := c.entries[id]; !ok && len(c.entries) >= c.maxEntries {
		for old, oe := range c.entries {
			if oe.call == nil {
				delete(c.entries, old)
				break
			}
		}
	}
	c.entries[id] = e
}

// call makes the userinfo call for e, records its answer, and releases the
// requests that wait on f. It has its own timeout: the request that
// started it may leave, while others wait.
func (c *SessionCheck) call(reqCtx context.Context, sess *session.Session, endUser *http.Request, e *checkEntry, f *flight, first bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(reqCtx), c.cfg.checkTimeout)
	defer cancel()
	u, err := c.cfg.remote.UserInfo(ctx, sessionToken(sess), endUser)
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
		f.outcome, f.user = outcomeFresh, u
		if u.Blocked {
			f.outcome = outcomeBlocked
		}
		e.user, e.good, e.next = newUserRecord(u), now, now+c.cfg.checkInterval
		if first && c.first[k] == e {
			delete(c.first, k)
			c.keepLocked(sess.ID, e)
		}
	case remote.IsSessionEnded(err):
		f.outcome = outcomeEnded
		if first && c.first[k] == e {
			delete(c.first, k)
		} else if !first && c.entries[sess.ID] == e {
			delete(c.entries, sess.ID)
		}
	default:
		f.outcome = outcomeUnavailable
		if re, ok := errors.AsType[*remote.Error](err); ok && (re.Code == "noPermission" || re.Code == "domainInvalid") {
			f.outcome = outcomeMisconfigured
			// The app's fault, not the session's: once per interval for
			// the SessionCheck, not once per request or session.
			if logMisconfigured = now >= c.misconfigLog; logMisconfigured {
				c.misconfigLog = now + c.cfg.checkInterval
			}
		}
		// Ask again after the interval, not on every request: an outage
		// must not become a flood of calls.
		e.user.failed = true
		e.next = now + c.cfg.checkInterval
	}
	f.err = err
	c.mu.Unlock()
	if logMisconfigured {
		c.log(ctx, slog.LevelError, "session check: CentralAuth refuses this app's client ID and secret, or its origin (remote.WithAppOrigin); no session can be checked",
			slog.Any("error", err))
	}
	close(f.done)
}

// settle turns a call's outcome into the request's CheckedSession,
// clearing the cookie of an ended session, and logs it.
func (c *SessionCheck) settle(w http.ResponseWriter, r *http.Request, sess *session.Session, e *checkEntry, outcome string, u remote.User, err error, start time.Time) CheckedSession {
	attrs := []slog.Attr{slog.String("session_id", sess.ID), slog.Duration("latency", time.Since(start)), slog.String("outcome", outcome)}
	switch outcome {
	case outcomeFresh:
		c.log(r.Context(), slog.LevelDebug, "session check", attrs...)
		return CheckedSession{Session: sess, User: u, Checked: time.Now()}
	case outcomeBlocked:
		c.log(r.Context(), slog.LevelInfo, "session check: CentralAuth reports the user blocked; not signed in here", append(attrs, slog.String("user_id", u.ID))...)
		return CheckedSession{}
	case outcomeEnded:
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), c.cfg.checkTimeout)
		defer cancel()
		if _, lerr := c.cfg.store.Logout(ctx, w, r); lerr != nil && !errors.Is(lerr, session.ErrRevoked) {
			attrs = append(attrs, slog.Any("revoke_error", lerr))
		}
		c.log(r.Context(), slog.LevelInfo, "session check: CentralAuth session ended; logged out here too", attrs...)
		return CheckedSession{}
	}
	c.mu.RLock()
	cs, fallback := c.lastGoodLocked(sess, e, c.since())
	c.mu.RUnlock()
	level := slog.LevelWarn
	if outcome == outcomeMisconfigured {
		level = slog.LevelDebug // the call logged it at Error
	}
	if cs.Session != nil {
		outcome = fallback
	}
	c.logUnvouched(r, sess, outcome, err, start, level)
	return cs
}

// answeredLocked is what e's answer, within its interval, makes of sess.
// c.mu is held.
func (c *SessionCheck) answeredLocked(sess *session.Session, e *checkEntry, now time.Duration) (CheckedSession, string) {
	switch {
	case e.user.failed:
		return c.lastGoodLocked(sess, e, now)
	case e.user.blocked:
		return CheckedSession{}, outcomeBlocked
	}
	return CheckedSession{Session: sess, User: e.user.user(), Checked: c.base.Add(e.good)}, outcomeCached
}

// lastGoodLocked is sess when CentralAuth could not vouch for it just now:
// an outage, or a misconfiguration, is not a logout. The session stays
// live, Stale, on a good answer younger than the maximum staleness for a
// user not blocked, and goes on logged out otherwise, its cookie kept.
// c.mu is held.
func (c *SessionCheck) lastGoodLocked(sess *session.Session, e *checkEntry, now time.Duration) (CheckedSession, string) {
	if !e.user.vouched || e.user.blocked || now-e.good >= c.cfg.maxStale {
		return CheckedSession{}, outcomeUnavailable
	}
	return CheckedSession{Session: sess, User: e.user.user(), Checked: c.base.Add(e.good), Stale: true}, outcomeStale
}

// errNotAsked is the error logged for a request that reuses a failed
// answer within the interval.
var errNotAsked = errors.New("the last call within the check interval failed")

// cached logs an answer given within the interval and returns it.
func (c *SessionCheck) cached(r *http.Request, sess *session.Session, cs CheckedSession, outcome string) CheckedSession {
	switch outcome {
	case outcomeCached, outcomeBlocked:
		c.log(r.Context(), slog.LevelDebug, "session check", slog.String("session_id", sess.ID), slog.String("outcome", outcome))
	default:
		c.logUnvouched(r, sess, outcome, errNotAsked, time.Now(), slog.LevelDebug)
	}
	return cs
}

func (c *SessionCheck) logUnvouched(r *http.Request, sess *session.Session, outcome string, err error, start time.Time, level slog.Level) {
	c.log(r.Context(), level, "session check: CentralAuth could not vouch for the session",
		slog.String("session_id", sess.ID), slog.Duration("latency", time.Since(start)),
		slog.String("outcome", outcome), slog.Any("error", err))
}

// since is the time since c's base, on the monotonic clock.
func (c *SessionCheck) since() time.Duration { return time.Since(c.base) }

func (c *SessionCheck) log(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if c.cfg.logger.Enabled(ctx, level) {
		c.cfg.logger.LogAttrs(ctx, level, msg, attrs...)
	}
}

// userRecord is a remote.User in fewer bytes: its four strings end to end
// in one string (a header and an allocation instead of four), and its
// times as Unix nanoseconds (0 for the zero time) instead of time.Time's
// 24 bytes each. It also holds the entry's flags, in what would be
// padding.
type userRecord struct {
	strs              string    // ID, Email, Gravatar and OrganizationID
	ends              [3]uint32 // where the first three end in strs
	verified, blocked bool
	vouched           bool // an answer came: false for a first check
	failed            bool // the last call could not vouch for the session

	created, updated, lastLogin, affirmed int64
}

func newUserRecord(u remote.User) userRecord {
	id, email, gravatar := len(u.ID), len(u.ID)+len(u.Email), len(u.ID)+len(u.Email)+len(u.Gravatar)
	return userRecord{
		strs:    u.ID + u.Email + u.Gravatar + u.OrganizationID,
		ends:    [3]uint32{uint32(id), uint32(email), uint32(gravatar)},
		created: unixNano(u.Created), updated: unixNano(u.Updated),
		lastLogin: unixNano(u.LastLogin), affirmed: unixNano(u.AffirmationDate),
		verified: u.Verified, blocked: u.Blocked, vouched: true,
	}
}

func (u userRecord) user() remote.User {
	id, email, gravatar := u.ends[0], u.ends[1], u.ends[2]
	return remote.User{
		ID: u.strs[:id], Email: u.strs[id:email], Gravatar: u.strs[email:gravatar], OrganizationID: u.strs[gravatar:],
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
