package middleware

import "errors"

// ErrInvalidConfig is matched by the errors NewLogoutHandler returns for a
// configuration it cannot use.
var ErrInvalidConfig = errors.New("middleware: invalid configuration")

// ErrCrossOrigin is the cause of the 403 for a logout request sent from
// another origin (logout CSRF).
var ErrCrossOrigin = errors.New("middleware: cross-origin logout request refused")

// RequestError is what the error handler receives for a refused request:
// the HTTP status to answer and the cause: 403 and ErrCrossOrigin, or 405
// for a method other than GET, HEAD and POST.
type RequestError struct {
	Status int
	Err    error
}

func (e *RequestError) Error() string { return e.Err.Error() }
func (e *RequestError) Unwrap() error { return e.Err }

// Refusals are allocated once: refusing hostile requests costs nothing.
var (
	errCrossOrigin      = &RequestError{Status: 403, Err: ErrCrossOrigin}
	errMethodNotAllowed = &RequestError{Status: 405, Err: errors.New("middleware: method not allowed on the logout endpoint")}
)
