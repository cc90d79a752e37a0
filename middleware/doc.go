// Package middleware serves a CentralAuth logout endpoint: it clears the
// app's session cookie, optionally ends the CentralAuth session in every app
// of the organization, and redirects to a validated return_to. Package
// sessioncheck is how the other apps notice such a logout.
//
// Mount a LogoutHandler on a route for every method (chi's r.Handle, or
// http.ServeMux's mux.Handle), or wrap a handler tree with h.Middleware: it
// shows the confirmation page on GET and refuses what it must refuse
// itself, while a route for POST alone would answer GET with 405. To serve
// a confirmation page of your own, route GET to it and POST to the handler
// (Example_ownConfirmationPage). A "log out everywhere" button is a second
// handler, made WithSessionWide(true), on a route of its own.
//
// The defaults are the safe ones, and each differs from CentralAuth's Node
// library on purpose:
//
//   - POST logs out; a cross-origin POST gets 403, judged as
//     net/http.CrossOriginProtection judges it. GET shows a confirmation
//     page, so a link or an <img> on another site cannot log users out.
//   - return_to must be a path on this origin or an absolute http(s) URL on
//     an allowed host (package returnto); anything else falls back to the
//     default.
//   - A session-wide logout that fails is reported (log line, Event.RemoteErr)
//     but never blocks the local logout, and never sends a request without a
//     token.
package middleware
