package returnto

import (
	"net/netip"
	"strings"

	"golang.org/x/net/idna"
)

// canonicalHost returns host in the canonical ASCII form that browsers put
// in a URL: lower case, internationalized names as punycode, IPv4 addresses
// as four decimal octets, IPv6 addresses as netip formats them. Any host
// that a browser would rewrite into something else, beyond case and IDNA
// mapping, is rejected: an allow-list compared against one spelling must not
// be bypassed by another.
func canonicalHost(host string) (string, *UnsafeError) {
	if host == "" {
		return "", errNoHost
	}
	if host[0] == '[' {
		return canonicalIPv6(host)
	}
	upper, nonASCII := false, false
	for i := 0; i < len(host); i++ {
		switch c := host[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_':
		case 'A' <= c && c <= 'Z':
			upper = true
		case c >= 0x80:
			nonASCII = true
		default:
			return "", errHostChar
		}
	}
	if nonASCII {
		ascii, err := idna.Lookup.ToASCII(host)
		if err != nil || ascii == "" {
			return "", errInternationalHost
		}
		for i := 0; i < len(ascii); i++ {
			if ascii[i] >= 0x80 {
				return "", errInternationalHost
			}
		}
		// The mapped form must itself be canonical; it is ASCII now, so
		// this recursion runs at most once.
		return canonicalHost(ascii)
	}
	if upper {
		host = strings.ToLower(host)
	}
	if err := checkLabels(host); err != nil {
		return "", err
	}
	return host, nil
}

// checkLabels validates a lower-case ASCII host name label by label.
func checkLabels(host string) *UnsafeError {
	if len(host) > 253 {
		return errNonCanonicalHost
	}
	punycode := false
	last := ""
	for rest := host; ; {
		label, tail, more := strings.Cut(rest, ".")
		// An empty label is a leading, trailing or doubled dot: browsers
		// treat "example.com." as a different origin from "example.com".
		if label == "" || len(label) > 63 {
			return errNonCanonicalHost
		}
		if strings.HasPrefix(label, "xn--") {
			punycode = true
		}
		last = label
		if !more {
			break
		}
		rest = tail
	}
	// A host whose last label is a number is an IPv4 address to a browser,
	// which also accepts octal, hex and fewer than four parts. Only the
	// dotted-decimal spelling is canonical.
	if isNumericLabel(last) && !isCanonicalIPv4(host) {
		return errNonCanonicalHost
	}
	if punycode {
		// Invalid punycode makes browsers refuse the URL; refuse it first.
		if ascii, err := idna.Lookup.ToASCII(host); err != nil || ascii != host {
			return errInternationalHost
		}
	}
	return nil
}

// isNumericLabel reports whether a browser's URL parser would read the label
// as a number (WHATWG URL "ends in a number").
func isNumericLabel(label string) bool {
	if len(label) >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X') {
		for i := 2; i < len(label); i++ {
			if !isHex(label[i]) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(label); i++ {
		if label[i] < '0' || label[i] > '9' {
			return false
		}
	}
	return true
}

func isCanonicalIPv4(host string) bool {
	addr, err := netip.ParseAddr(host)
	// netip rejects leading zeros and fewer than four parts, and formats
	// back exactly when the input was canonical.
	return err == nil && addr.Is4() && addr.String() == host
}

func canonicalIPv6(host string) (string, *UnsafeError) {
	if len(host) < 2 || host[len(host)-1] != ']' {
		return "", errNonCanonicalHost
	}
	inner := host[1 : len(host)-1]
	// Embedded IPv4 ("::ffff:1.2.3.4") is written in hex by browsers.
	if strings.ContainsAny(inner, ".%") {
		return "", errNonCanonicalHost
	}
	addr, err := netip.ParseAddr(inner)
	if err != nil || !addr.Is6() || addr.Zone() != "" || addr.String() != inner {
		return "", errNonCanonicalHost
	}
	return host, nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}
