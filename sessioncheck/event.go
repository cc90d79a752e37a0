package sessioncheck

import "time"

// Event is one check of a request's session. The WithOnCheck hook receives
// it synchronously, before the request goes on. It never holds a token.
type Event struct {
	Outcome Outcome
	// SessionID is the ID of the app's session.
	SessionID string
	// Blocked says that CentralAuth's last answer reports the user blocked:
	// the request goes on logged out, its cookie kept, with the Outcome
	// Fresh or Cached (or Unavailable, when CentralAuth cannot be asked
	// again).
	Blocked bool
	// Latency is how long the request waited for CentralAuth: 0 when it
	// asked nothing (Cached, and a failed answer reused within the
	// interval).
	Latency time.Duration
	// Err is CentralAuth's answer when it did not vouch for the session:
	// with Ended, an error matching remote.IsSessionEnded, or, when the
	// list of ended sessions said so (WithEndedSessions), one that says
	// that; with Foreign, one that says why; with Stale,
	// Unavailable and Misconfigured, why it could not be asked. Nil with
	// Fresh and Cached.
	Err error
}

// Outcome is what became of a request's session.
type Outcome string

const (
	// Fresh: CentralAuth vouched for the session just now.
	Fresh Outcome = "fresh"
	// Cached: an answer younger than the interval vouched for it.
	Cached Outcome = "cached"
	// Ended: CentralAuth says the session ended; the cookie was cleared and
	// the session revoked.
	Ended Outcome = "ended"
	// Stale: CentralAuth could not be asked, and the last good answer,
	// younger than the maximum staleness, keeps the session live.
	Stale Outcome = "stale"
	// Unavailable: CentralAuth could not be asked, and no good answer
	// stands in; the request goes on logged out, its cookie kept.
	Unavailable Outcome = "unavailable"
	// Misconfigured: as Unavailable, because CentralAuth refuses the app's
	// client ID and secret or its origin (noPermission, domainInvalid).
	Misconfigured Outcome = "misconfigured"
	// Foreign: with WithEndedSessions, the token does not decrypt with
	// the organization's client secret while others do, so it is not
	// CentralAuth's. CentralAuth is not asked; the request goes on logged
	// out, its cookie kept.
	Foreign Outcome = "foreign"
)
