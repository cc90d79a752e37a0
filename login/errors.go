package login

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// ErrInvalidConfig is matched by the errors New returns for a configuration
// it cannot use.
var ErrInvalidConfig = errors.New("login: invalid configuration")

// ErrState is the cause of a callback whose state is missing, matches no
// login that this browser started, has expired (after 10 minutes), or was
// used already: a replayed or forged callback. 400.
var ErrState = errors.New("login: the login's state is missing, unknown, expired or used already")

// ErrNoCode is the cause of a callback that carries neither a code nor an
// error. 400.
var ErrNoCode = errors.New("login: CentralAuth sent no code")

// ErrRefused is matched by the error of a callback on which CentralAuth
// sent error and error_description instead of a code, such as when the
// user cancelled. The error's text quotes both, bounded. 400.
var ErrRefused = errors.New("login: CentralAuth refused the login")

// ErrExchange is matched by the error of a callback whose code CentralAuth
// did not exchange for tokens: down, refusing, or answering garbage. The
// error also wraps remote's error, which names neither the code nor the
// verifier. 502.
var ErrExchange = errors.New("login: CentralAuth did not exchange the code")

// RequestError is what the error handler (WithErrorHandler) receives for a
// login that failed: the HTTP status to answer, 4xx for the browser's
// fault and 5xx for the server's or CentralAuth's, and the cause, which
// matches ErrState, ErrNoCode, ErrRefused or ErrExchange with errors.Is,
// or is the session store's error (500).
type RequestError struct {
	Status int
	Err    error
}

func (e *RequestError) Error() string { return e.Err.Error() }
func (e *RequestError) Unwrap() error { return e.Err }

// Refusals of hostile requests are allocated once.
var (
	errState  = &RequestError{Status: http.StatusBadRequest, Err: ErrState}
	errNoCode = &RequestError{Status: http.StatusBadRequest, Err: ErrNoCode}
)

// refusedError is CentralAuth's error on the callback, which is the
// browser's to send and so untrusted: bounded, and quoted.
type refusedError struct{ code, description string }

func (e refusedError) Error() string {
	return ErrRefused.Error() + ": " + strconv.Quote(bounded(e.code, 64)) + ": " + strconv.Quote(bounded(e.description, 200))
}

func (refusedError) Is(target error) bool { return target == ErrRefused }

// bounded cuts s to at most n bytes of valid UTF-8.
func bounded(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func configError(msg string) error { return fmt.Errorf("%w: %s", ErrInvalidConfig, msg) }
