// Package sessioncheck notices a logout made elsewhere. A "log out
// everywhere" in another app of the organization ends the session at
// CentralAuth, but this app's signed cookie stays valid until the app asks
// CentralAuth, with userinfo, whether the session still stands. A Check
// asks, at most once per interval per session, with one call shared by
// concurrent requests, and never turns an outage into a logout. Check says
// what each answer does; Outcome names each, for the WithOnCheck hook.
//
// Apps of one organization that share a list of ended CentralAuth sessions
// (WithEndedSessions, and middleware.WithEndedSessions on the session-wide
// logout) end a session on their next request after any of them logs it
// out everywhere, without a call; the same option refuses a token that is
// not CentralAuth's without asking.
//
// Behind a proxy, name it with WithTrustedProxies: CentralAuth records the
// end user's IP with every check, and its IP hijack protection compares it
// with the session's.
package sessioncheck
