// Package remote is the client for CentralAuth's API. Logout sends the
// session-wide logout: a POST of the user's access token or ID token to
// {base}/api/v1/logout, authenticated with the application's client ID and
// secret. UserInfo asks whether a session still stands, the check that
// lets every app notice a logout made in another (package sessioncheck).
// The API facts it relies on are written down in the repository's
// docs/centralauth-api.md.
//
// A session-wide logout ends the user's CentralAuth session, so the user is
// signed out of every application of the organization, not only this one. It
// has an effect only when the organization enabled autologin; deleting the
// local token cookie is always needed as well, and is not done here.
//
// Unlike the Node library, a Client
//
//   - never sends a request without a token ([ErrNoToken]);
//   - reports every failure as an error: [*Error] for a non-2xx answer (with
//     CentralAuth's errorCode and message), a wrapped transport error otherwise;
//   - retries only what may succeed later (transport errors, 429 and 5xx),
//     with jittered exponential backoff that honours Retry-After and the
//     context's deadline;
//   - never puts the token or the client secret into an error string, even
//     when the server echoes them back.
//
// A logout that CentralAuth could not take now can be retried later, from a
// durable queue, by package outbox.
package remote
