// Package testutil is a fake of CentralAuth's HTTP API for tests and demos.
// It follows the contract in CENTRALAUTH.md (in the project's shared notes):
// the same endpoint, credentials check, content type, error codes and
// session semantics, so that code tested against it works against the real
// service.
//
// The fake is an ordinary HTTP server on loopback, usable from tests and from
// a normal program (it does not import package testing). It issues sessions
// with JWE-looking tokens, records every request it gets, and can inject
// faults (error statuses, delays, dropped connections, oversized bodies) to
// exercise a client's error handling. Clock is a fake clock.Clock whose
// Sleep returns at once, for testing waits without waiting.
package testutil
