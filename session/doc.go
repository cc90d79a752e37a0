// Package session keeps a CentralAuth session in a signed, optionally
// encrypted cookie, and removes it again on logout.
//
// Store is the recommended cookie: signed with HMAC-SHA256 through
// gorilla/securecookie, optionally encrypted with AES, with a compact binary
// payload that is cheap to decode and a signed issue time that bounds its age
// whatever the browser does with Max-Age. TokenCookie reads the raw token
// cookie that CentralAuth's Node library sets, for apps that migrate from it.
//
// A Store revokes on logout out of the box: Logout adds the session to a
// RevocationList, and Load refuses it from then on, so that a copy of the
// cookie taken before the logout stops working. The default list is in
// memory, for an app that runs as one instance; package redisstore shares
// one between instances.
//
// Both satisfy middleware.SessionStore. Their defaults are the secure ones:
// Secure, HttpOnly, SameSite=Lax, Path "/", host-only.
package session
