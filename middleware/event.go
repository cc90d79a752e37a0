package middleware

import "slices"

// Event describes one completed logout. The WithOnLogout hook receives it
// synchronously, before the response is written, so the hook can still set
// headers. It never holds a token.
type Event struct {
	// SessionIDs are the IDs of the sessions that were ended: usually one,
	// none when the request had no valid session, several when cookies of
	// the same name came from a sibling subdomain (see
	// session.Store.Logout).
	SessionIDs []string
	// SessionWide says whether a session-wide logout was requested for
	// this logout (WithSessionWide), even if there was no token to send.
	SessionWide bool
	// ReturnTo is where the response redirects: the validated return_to or
	// the default.
	ReturnTo string
	// RevokeErr is the error of adding the session to the store's
	// revocation list (session.WithRevocations), or to the list of ended
	// sessions (WithEndedSessions), or nil.
	RevokeErr error
	// Remote says what became of the session-wide logout.
	Remote RemoteOutcome
	// RemoteErr is the error of the session-wide logout, or nil if it
	// succeeded or was not attempted. See package remote for its types.
	// With Remote == RemoteQueued it is the error that got it queued.
	RemoteErr error
}

// RemoteOutcome is what became of a session-wide logout.
type RemoteOutcome string

const (
	// RemoteNone: no session-wide logout was sent, because none was
	// requested or there was no token.
	RemoteNone RemoteOutcome = "none"
	// RemoteDelivered: CentralAuth accepted the logout.
	RemoteDelivered RemoteOutcome = "delivered"
	// RemoteQueued: CentralAuth could not take it now, and the outbox
	// (WithOutbox) will retry it.
	RemoteQueued RemoteOutcome = "queued"
	// RemoteFailed: the logout failed and was not queued, because the
	// error was not retryable, there is no outbox, or the outbox refused
	// it. Event.RemoteErr says why.
	RemoteFailed RemoteOutcome = "failed"
)

// worse is the worse of two outcomes, for a logout that sent several
// tokens: the one further down remoteOutcomes.
func worse(a, b RemoteOutcome) RemoteOutcome {
	if slices.Index(remoteOutcomes[:], b) > slices.Index(remoteOutcomes[:], a) {
		return b
	}
	return a
}

var remoteOutcomes = [...]RemoteOutcome{RemoteNone, RemoteDelivered, RemoteQueued, RemoteFailed}
