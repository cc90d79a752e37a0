// Package centralauthtest is a fake CentralAuth for testing an app's login,
// session check and logout against CentralAuth's contract, as
// net/http/httptest is a fake of the network for handlers. CentralAuth's
// servers are not reachable from CI; this one runs on loopback, in the
// test's process.
//
// Start one per test, for the app's client ID and secret, and point the app
// at its URL:
//
//	ca := centralauthtest.Start(t, "my-app", "my-secret")
//	client, err := remote.NewClient("my-app", "my-secret", remote.WithBaseURL(ca.URL()))
//
// It serves CentralAuth's endpoints, as CentralAuth documents them:
//
//   - GET /login, the sign-in page, with the app's client_id,
//     response_type=code, redirect_uri (on a loopback host), state and a PKCE
//     code_challenge with code_challenge_method=S256. It shows a form that
//     asks for an email, prefilled with the optional email parameter. The
//     form posts the same parameters and the email to /login, which starts
//     a session and sends the browser back to redirect_uri with a one-time
//     code. The page also sets a cookie on the fake's own origin, so that a
//     later login from another app of the organization, in the same browser,
//     comes straight back with a code: CentralAuth's autologin. A test
//     without a browser posts the form itself, with an http.Client that has
//     a cookie jar.
//   - POST /api/v1/verify exchanges the code, within a minute and once, for
//     the session's access and ID tokens. It takes the app's Basic
//     credentials and a form of code, the login's redirect_uri and the PKCE
//     code_verifier.
//   - POST /api/v1/userinfo?domain=<the app's origin> answers the user while
//     the token's session is active, and 401 sessionInactive once it ended:
//     this is how an app notices a "log out everywhere" made in another.
//   - POST /api/v1/logout ends the token's session, for every app.
//
// The last three take the app's Basic credentials, base64("id:secret")
// without URL-escaping, and the token as a text/plain body.
//
// The tokens are JWEs, as CentralAuth's are, which the token package reads:
// encrypted with the client secret's UTF-8 bytes as the key (alg "dir", and
// the enc whose key is as long as the secret), they carry the session's ID,
// and the ID token also the user that userinfo answers. That takes a secret
// of 16, 24, 32, 48 or 64 bytes; since the length of CentralAuth's real
// secrets is unconfirmed, for any other secret, such as "my-secret", the
// tokens are random strings of a JWE's shape that nothing can decrypt.
//
// The fake is strict. A request that breaks the contract, such as a plain
// PKCE challenge, a code used twice or sent with another redirect_uri,
// wrong credentials or a JSON body, fails as CentralAuth would fail it, with
// CentralAuth's JSON error and its errorCode, and is recorded as a
// violation. Violations lists them; Start fails the test at its end if
// there are any. A token that CentralAuth does not know (or no longer
// knows) is not a violation: an app must expect it.
//
// A test can also sign a user in without a browser (SignIn), end a session
// as another app's "log out everywhere" would (EndSession), make
// CentralAuth fail (InjectFault: an error status with Retry-After, a dropped
// connection, a slow answer), make the next login fail (FailNextLogin), and
// read the calls the fake received (Calls, WaitCalls), which name the
// session a token belongs to but never hold a token or a secret.
//
// NewServer starts one outside a test: a program can embed it, as the
// repository's example app does.
package centralauthtest
