// Package e2e holds the end-to-end proofs of GitHub issue 4 (revocation and
// the session-wide logout outbox), in its tests only: real session.Store,
// middleware.LogoutHandler and outbox.Outbox instances wired to the fake
// CentralAuth of package centralauthtest and to a real redis-server started by
// internal/redistest, each proof run against the memory defaults too where
// the issue asks for it.
package e2e
