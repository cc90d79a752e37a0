package middleware

import "strconv"

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
	// this logout (by WithSessionWide or LogoutParams.SessionWide), even if
	// there was no token to send.
	SessionWide bool
	// ReturnTo is where the response redirects: the validated return_to or
	// the default.
	ReturnTo string
	// RevokeErr is the error of adding the session to the store's
	// revocation list (session.WithRevocations), or nil.
	RevokeErr error
	// Remote says what became of the session-wide logout.
	Remote RemoteOutcome
	// RemoteErr is the error of the session-wide logout, or nil if it
	// succeeded or was not attempted. See package remote for its types.
	// With Remote == RemoteQueued it is the error that got it queued.
	RemoteErr error
}

// RemoteOutcome is what became of a session-wide logout.
type RemoteOutcome int

const (
	// RemoteNone: no session-wide logout was sent, because none was
	// requested or there was no token.
	RemoteNone RemoteOutcome = iota
	// RemoteDelivered: CentralAuth accepted the logout.
	RemoteDelivered
	// RemoteQueued: CentralAuth could not take it now, and the outbox
	// (WithOutbox) will retry it.
	RemoteQueued
	// RemoteFailed: the logout failed and was not queued, because the
	// error was not retryable, there is no outbox, or the outbox refused
	// it. Event.RemoteErr says why.
	RemoteFailed
)

func (o RemoteOutcome) String() string {
	switch o {
	case RemoteNone:
		return "none"
	case RemoteDelivered:
		return "delivered"
	case RemoteQueued:
		return "queued"
	case RemoteFailed:
		return "failed"
	}
	return "RemoteOutcome(" + strconv.Itoa(int(o)) + ")"
}
