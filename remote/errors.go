package remote

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidConfig is wrapped by every error NewClient returns for bad
// arguments or options. The message says what to fix and never includes the
// client secret.
var ErrInvalidConfig = errors.New("remote: invalid configuration")

// ErrNoToken is returned by Logout for an empty token. Nothing is sent: a
// logout without a token cannot end a session (the Node library sends it
// anyway).
var ErrNoToken = errors.New("remote: no token to log out")

// Error is a non-2xx answer from CentralAuth. Logout returns it as *Error;
// use errors.As to get at it.
//
// Code and Message come from CentralAuth's JSON error body
// {"errorCode": "...", "message": "..."}. When the body is not such JSON,
// Code is empty and Message holds the start of the body (at most 512 bytes).
// Both are valid UTF-8 without control characters, and any copy of the token,
// the client secret or the encoded credentials that the server echoed is
// replaced by "[redacted]".
type Error struct {
	// StatusCode is the HTTP status code of the answer.
	StatusCode int
	// Code is CentralAuth's errorCode, such as "noPermission" or
	// "tokenInvalid"; empty if the body had none.
	Code string
	// Message is CentralAuth's human-readable message, or the start of a
	// body that was not CentralAuth's JSON; empty if there was no body.
	Message string
	// RetryAfter is the wait that a 429 or 5xx answer asked for in its
	// Retry-After header (seconds or an HTTP date), as sent; zero if there
	// was none. Logout caps its own waits at 30 s.
	RetryAfter time.Duration

	op string // the call that failed: "logout" (also for ""), "userinfo" or "exchange"
}

// Error formats the error as, for example,
// "remote: logout failed: 401 Unauthorized (noPermission): bad credentials".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("remote: ")
	b.WriteString(cmp.Or(e.op, "logout"))
	b.WriteString(" failed: ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if text := http.StatusText(e.StatusCode); text != "" {
		b.WriteString(" ")
		b.WriteString(text)
	}
	if e.Code != "" {
		b.WriteString(" (")
		b.WriteString(e.Code)
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// retryable reports whether sending the same request again may succeed:
// true for 429 Too Many Requests and 5xx, false for every other status (a
// 4xx will fail the same way again).
func (e *Error) retryable() bool {
	return e.StatusCode == http.StatusTooManyRequests ||
		(e.StatusCode >= 500 && e.StatusCode <= 599)
}

// transportError is a failure to get an answer at all: a refused or dropped
// connection, a timeout, a malformed response. Its message is redacted (a
// malformed response is quoted by net/http, and a hostile server could echo
// the request), while Unwrap keeps the original for errors.Is and errors.As.
type transportError struct {
	msg string
	err error
}

func (e *transportError) Error() string { return e.msg }
func (e *transportError) Unwrap() error { return e.err }

// IsRetryable reports whether err is a Logout failure that may succeed if
// the logout is sent again later, such as from an outbox: true for transport
// errors (including timeouts and deadlines), 429 and 5xx; false for nil,
// other statuses, ErrNoToken, configuration errors, and any error that
// includes context.Canceled, because then the caller chose to stop.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.retryable()
	}
	_, ok := errors.AsType[*transportError](err)
	return ok
}
