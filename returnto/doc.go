// Package returnto decides whether a return_to value is a safe place to send
// a browser after logout, so that a logout endpoint cannot be used as an open
// redirect.
//
// A value is safe when it is either
//
//   - a path on this origin: it starts with exactly one "/" (not "//" and not
//     "/\"), and contains no backslash and no control character anywhere, or
//   - an absolute http or https URL with no userinfo whose host, in canonical
//     ASCII form, matches one of the allowed host patterns.
//
// Everything else is unsafe: other schemes (javascript:, data:, ...),
// protocol-relative URLs, values over MaxLength bytes, malformed percent
// escapes, and hosts that are percent-encoded or not written in their
// canonical form (such as the IPv4 address 127.0.0.1 written as 0x7f.1). The
// rules are stricter than a browser needs, on purpose: whenever two URL
// parsers could disagree about where a value leads, it is rejected.
//
// A Policy does no I/O and is safe for concurrent use. Check allocates only
// when it has to rewrite a value into canonical form.
package returnto
