package returnto

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxLength is the longest return_to value that Check accepts, in bytes.
// Longer values are rejected rather than truncated.
const MaxLength = 2048

// Policy is a compiled allow-list of hosts for absolute return_to URLs.
// Paths on the app's own origin are always allowed; a Policy with no host
// patterns allows only those. The zero value is not usable: build one with
// NewPolicy.
type Policy struct {
	// exact maps a canonical host to the ports it is allowed on, and
	// wildcard maps the suffix after "*." likewise. Both are built once, so
	// a lookup costs the same for one host or ten thousand.
	exact    map[string]ports
	wildcard map[string]ports
}

// ports holds the ports of one host's patterns; noPort stands for "the
// scheme's default port", written out or not.
type ports []uint16

const noPort = 0

func (ps ports) allow(port, defaultPort uint16) bool {
	for _, p := range ps {
		if p == port || (p == noPort && port == defaultPort) {
			return true
		}
	}
	return false
}

// NewPolicy compiles host patterns into a Policy. A pattern is one of:
//
//   - an exact host, "example.com", which matches URLs with no port or with
//     the scheme's default port written out (":80" for http, ":443" for
//     https);
//   - a host and port, "example.com:8443", which matches only that port;
//   - a wildcard, "*.example.com" or "*.example.com:8443", which matches
//     subdomains at any depth but not example.com itself. A wildcard needs
//     at least two labels after "*.", so "*.com" is an error.
//
// Hosts are compared in canonical ASCII form, so a pattern may be written
// in Unicode ("bücher.example") or punycode ("xn--bcher-kva.example"), in
// any case. IPv6 addresses go in brackets. An error wraps ErrInvalidPattern.
func NewPolicy(patterns ...string) (*Policy, error) {
	p := &Policy{exact: make(map[string]ports), wildcard: make(map[string]ports)}
	for _, pattern := range patterns {
		if err := p.add(pattern); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *Policy) add(pattern string) error {
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrInvalidPattern, pattern, why) }
	if strings.Contains(pattern, "://") || strings.ContainsAny(pattern, "/?#@%\\") {
		return bad(`want a host such as "example.com", "example.com:8443" or "*.example.com"`)
	}
	host, port, err := splitHostPort(pattern)
	if err != nil {
		return bad(err.Reason)
	}
	set := p.exact
	rest, wildcard := strings.CutPrefix(host, "*.")
	if wildcard {
		if !strings.Contains(rest, ".") {
			return bad(`a wildcard needs at least two labels after "*."`)
		}
		set, host = p.wildcard, rest
	}
	if strings.Contains(host, "*") {
		return bad(`"*" is allowed only as the whole first label`)
	}
	canon, err := canonicalHost(host)
	if err != nil {
		return bad(err.Reason)
	}
	if wildcard && (canon[0] == '[' || isCanonicalIPv4(canon)) {
		return bad("a wildcard cannot apply to an IP address")
	}
	set[canon] = append(set[canon], port)
	return nil
}

// Check reports whether raw is a safe return_to under p. When it is, Check
// returns the value to put in the Location header: raw itself, or raw
// rewritten into canonical form (lower-case scheme and host, punycode,
// non-ASCII bytes percent-encoded). When it is not, the error is an
// *UnsafeError that says why and matches ErrUnsafe.
func (p *Policy) Check(raw string) (string, error) {
	if raw == "" {
		return "", errEmpty
	}
	if len(raw) > MaxLength {
		return "", errTooLong
	}
	classes, err := scanBytes(raw)
	if err != nil {
		return "", err
	}
	if raw[0] == '/' {
		if err := checkPath(raw, classes); err != nil {
			return "", err
		}
		if classes&classNonASCII != 0 {
			return escapeNonASCII(raw), nil
		}
		return raw, nil
	}
	return p.checkAbsolute(raw, classes)
}

// Byte classes, as bit flags, for the one pass over every value.
const (
	classControl   = 1 << iota // C0 controls and DEL
	classBackslash             // '\\'
	classNonASCII              // 0x80 and above
	classPercent               // '%'
	classDot                   // '.'
	classQuery                 // '?' or '#', which end a path
)

var byteClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c < 0x20 || c == 0x7f:
			t[c] = classControl
		case c == '\\':
			t[c] = classBackslash
		case c >= 0x80:
			t[c] = classNonASCII
		case c == '%':
			t[c] = classPercent
		case c == '.':
			t[c] = classDot
		case c == '?' || c == '#':
			t[c] = classQuery
		}
	}
	return t
}()

// scanBytes rejects what browsers silently strip or rewrite anywhere in a
// URL: ASCII tab and newlines (so "/\t/evil.com" becomes "//evil.com"), other
// controls, and backslashes (read as "/" in http URLs). It returns the
// classes of bytes seen, so later steps skip what cannot apply. It reads
// every byte without branching on it, so hostile input costs the same as
// any other of its length.
func scanBytes(raw string) (classes uint8, err *UnsafeError) {
	for i := 0; i < len(raw); i++ {
		classes |= byteClass[raw[i]]
	}
	switch {
	case classes&classControl != 0:
		return 0, errControl
	case classes&classBackslash != 0:
		return 0, errBackslash
	case classes&classNonASCII != 0:
		if !utf8.ValidString(raw) {
			return 0, errInvalidUTF8
		}
		for _, r := range raw {
			if r >= 0x80 && r <= 0x9f { // C1 controls
				return 0, errControl
			}
		}
	}
	return classes, nil
}

func (p *Policy) checkAbsolute(raw string, classes uint8) (string, error) {
	scheme, rest, ok := cutScheme(raw)
	if !ok {
		return "", errScheme
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if strings.IndexByte(authority, '@') >= 0 {
		return "", errUserinfo
	}
	if strings.IndexByte(authority, '%') >= 0 {
		return "", errEncodedHost
	}
	host, port, err := splitHostPort(authority)
	if err != nil {
		return "", err
	}
	canon, err := canonicalHost(host)
	if err != nil {
		return "", err
	}
	defaultPort := uint16(80)
	if scheme == "https" {
		defaultPort = 443
	}
	if port == noPort {
		port = defaultPort
	}
	if !p.allowed(canon, port, defaultPort) {
		return "", errHostNotAllowed
	}
	// As on a path: a malformed escape anywhere is refused, so that net/url
	// and the app behind it can parse every URL that Check lets through.
	if classes&classPercent != 0 && !wellFormedEscapes(tail) {
		return "", errBadEscape
	}
	if canon == host && raw[:len(scheme)] == scheme && classes&classNonASCII == 0 {
		return raw, nil
	}
	var b strings.Builder
	b.Grow(len(raw) + 16)
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(canon)
	if i := len(host); i < len(authority) {
		b.WriteString(authority[i:]) // ":port", already canonical
	}
	b.WriteString(escapeNonASCII(tail))
	return b.String(), nil
}

func (p *Policy) allowed(host string, port, defaultPort uint16) bool {
	if p.exact[host].allow(port, defaultPort) {
		return true
	}
	if len(p.wildcard) == 0 || host[0] == '[' {
		return false
	}
	// Try each proper suffix: "a.b.example.com" checks "b.example.com",
	// then "example.com", then "com".
	for i := strings.IndexByte(host, '.'); i >= 0; {
		suffix := host[i+1:]
		if p.wildcard[suffix].allow(port, defaultPort) {
			return true
		}
		j := strings.IndexByte(suffix, '.')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return false
}

// cutScheme accepts "http://" and "https://" in any case and returns the
// lower-case scheme and what follows the slashes. Browsers also read
// "https:evil.com" and "https:/evil.com" as absolute URLs; those are
// refused here because they are not in the one canonical shape.
func cutScheme(raw string) (scheme, rest string, ok bool) {
	for _, s := range [...]string{"https", "http"} {
		n := len(s)
		if len(raw) > n+2 && strings.EqualFold(raw[:n], s) && raw[n:n+3] == "://" {
			return s, raw[n+3:], true
		}
	}
	return "", "", false
}

// splitHostPort splits an authority into host and port, where port is
// noPort when absent. Ports must be written canonically: 1-65535, decimal,
// no leading zero, and never an empty ":".
func splitHostPort(authority string) (string, uint16, *UnsafeError) {
	host, portText := authority, ""
	if strings.HasPrefix(authority, "[") {
		end := strings.IndexByte(authority, ']')
		if end < 0 {
			return "", 0, errNonCanonicalHost
		}
		host = authority[:end+1]
		after := authority[end+1:]
		if after != "" {
			if after[0] != ':' {
				return "", 0, errHostChar
			}
			portText = after[1:]
			if portText == "" {
				return "", 0, errPort
			}
		}
	} else if i := strings.IndexByte(authority, ':'); i >= 0 {
		host, portText = authority[:i], authority[i+1:]
		if portText == "" {
			return "", 0, errPort
		}
	}
	if host == "" {
		return "", 0, errNoHost
	}
	if portText == "" {
		return host, noPort, nil
	}
	if portText[0] == '0' || len(portText) > 5 {
		return "", 0, errPort
	}
	n, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || n == 0 {
		return "", 0, errPort
	}
	return host, uint16(n), nil
}
