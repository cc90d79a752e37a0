package middleware

// Event describes one completed logout. The WithOnLogout hook receives it
// synchronously, before the response is written, so the hook can still set
// headers. It never holds a token.
type Event struct {
	// SessionID is the ID of the session that was loaded and cleared, or
	// "" when the request had no valid session.
	SessionID string
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
	// RemoteErr is the error of the session-wide logout, or nil if it
	// succeeded or was not attempted. See package remote for its types.
	RemoteErr error
}
