// Package testutil is a fake of CentralAuth's HTTP API for tests and demos.
// It follows the contract in docs/centralauth-api.md:
// the same endpoint, credentials check, content type, error codes and
// session semantics, so that code tested against it works against the real
// service.
//
// The fake is an ordinary HTTP server on loopback, usable from tests and from
// a normal program (it does not import package testing). It issues sessions
// with JWE-looking tokens, records every request it gets, and can inject
// faults (error statuses, delays, dropped connections, oversized bodies) to
// exercise a client's error handling. For the example app and its browser
// tests it also plays the login side, in miniature: a login page with
// autologin (login.go), a code-for-token exchange at /api/v1/verify
// (verify.go) and a session check at /api/v1/userinfo (userinfo.go). The
// real CentralAuth's login endpoints differ; only the logout endpoint is
// part of the contract. Clock is a fake clock whose Sleep returns at once,
// for testing waits without waiting where testing/synctest cannot reach (a
// real loopback connection), and Buffer collects log output from many
// goroutines.
package testutil
