package returnto

import "errors"

// ErrUnsafe is matched, with errors.Is, by every error that Check returns.
var ErrUnsafe = errors.New("returnto: unsafe return_to")

// ErrInvalidPattern is matched by the errors that NewPolicy returns for a host
// pattern it cannot use.
var ErrInvalidPattern = errors.New("returnto: invalid host pattern")

// UnsafeError says why Check rejected a value. It never holds the value
// itself, which is attacker-controlled.
type UnsafeError struct {
	// Reason is a short, fixed description, such as "host not allowed".
	Reason string
}

func (e *UnsafeError) Error() string { return "returnto: unsafe return_to: " + e.Reason }

// Is makes errors.Is(err, ErrUnsafe) true.
func (e *UnsafeError) Is(target error) bool { return target == ErrUnsafe }

// The reasons are allocated once, so that rejecting hostile input costs no
// allocation.
var (
	errEmpty             = &UnsafeError{"empty"}
	errTooLong           = &UnsafeError{"longer than MaxLength"}
	errControl           = &UnsafeError{"control character"}
	errBackslash         = &UnsafeError{"backslash"}
	errInvalidUTF8       = &UnsafeError{"invalid UTF-8"}
	errScheme            = &UnsafeError{"neither a path nor an http(s) URL"}
	errProtocolRelative  = &UnsafeError{"protocol-relative"}
	errBadEscape         = &UnsafeError{"malformed percent escape"}
	errEncodedControl    = &UnsafeError{"percent-encoded control character or backslash"}
	errDotSegments       = &UnsafeError{"dot segments resolve to a protocol-relative path"}
	errNoHost            = &UnsafeError{"empty host"}
	errUserinfo          = &UnsafeError{"userinfo"}
	errEncodedHost       = &UnsafeError{"percent-encoded host"}
	errHostChar          = &UnsafeError{"character not allowed in host"}
	errPort              = &UnsafeError{"invalid or non-canonical port"}
	errNonCanonicalHost  = &UnsafeError{"non-canonical host"}
	errHostNotAllowed    = &UnsafeError{"host not allowed"}
	errInternationalHost = &UnsafeError{"invalid internationalized host"}
)
