// Package login signs a browser in through CentralAuth and saves the
// session: the authorization code flow with PKCE S256 and a checked state,
// which CentralAuth's Node library gets wrong (it neither stores nor checks
// the state, uses a 36-character verifier, below RFC 7636's 43, and
// redirects to any return_to).
//
// Build a Handler with New, from the app's session store (a
// *session.Store), a CentralAuth client (a *remote.Client) and the callback
// URL registered with CentralAuth, and mount its two handlers:
//
//   - Login, where the app sends a browser to log in, such as /login or
//     /login?return_to=/account. It keeps a new state and PKCE verifier,
//     with the validated return_to, in a short-lived HttpOnly cookie of
//     this browser, and redirects to CentralAuth.
//   - Callback, at the callback URL. CentralAuth sends the browser back
//     there with a code and the state. Callback checks the state against
//     the browser's cookie (so that the browser that finishes a login is
//     the one that started it, and no other site can log it in to an
//     account of its choosing), exchanges the code with the verifier,
//     saves a new session under a fresh ID, and redirects to the return_to.
//
// The session holds the access and ID tokens until they expire. Package
// sessioncheck then notices when the session ends elsewhere, and package
// middleware's LogoutHandler ends it here and, when asked, everywhere.
//
// A callback that fails saves no session, is logged once, and is answered
// by the WithErrorHandler function with a *RequestError: the status, and a
// cause that errors.Is tells apart (ErrState, ErrNoCode, ErrRefused,
// ErrExchange, or the store's error). No log line or error ever holds a
// token, a code, a verifier or a state.
package login
