package returnto

import "strings"

// checkPath accepts a path on this origin. The caller has already rejected
// control characters and backslashes. Beyond the raw text, the value must
// also be safe once percent-decoded, for apps and proxies that decode it
// again before using it, and its dot segments must not resolve to a
// protocol-relative path ("/.//evil.com" is "//evil.com" to a browser).
func checkPath(raw string, classes uint8) *UnsafeError {
	if len(raw) > 1 && raw[1] == '/' {
		return errProtocolRelative
	}
	// Only a dot segment can make the path resolve to "//...": without one,
	// the first segment stays the non-empty one checked above.
	dots, encodedSlash := classes&classDot != 0, false
	for i := 1; classes&classPercent != 0 && i < len(raw); i++ {
		if raw[i] != '%' {
			continue
		}
		if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
			return errBadEscape
		}
		switch b := unhex(raw[i+1])<<4 | unhex(raw[i+2]); {
		case b < 0x20 || b == 0x7f || b == '\\':
			return errEncodedControl
		case b == '/' && i == 1:
			return errProtocolRelative
		case b == '/':
			encodedSlash = true
		case b == '.':
			dots = true
		}
		i += 2
	}
	if !dots {
		return nil
	}
	path := raw[1:]
	if classes&classQuery != 0 {
		if end := strings.IndexAny(path, "?#"); end >= 0 {
			path = path[:end]
		}
	}
	// Browsers split only at "/"; a server that decodes first also splits
	// at "%2F". Either reading must stay off "//".
	if resolvesProtocolRelative(path, false) || (encodedSlash && resolvesProtocolRelative(path, true)) {
		return errDotSegments
	}
	return nil
}

// wellFormedEscapes reports whether every "%" in s starts a "%XX" escape.
func wellFormedEscapes(s string) bool {
	for i := strings.IndexByte(s, '%'); i >= 0; i = strings.IndexByte(s, '%') {
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return false
		}
		s = s[i+3:]
	}
	return true
}

// resolvesProtocolRelative runs the URL standard's dot-segment removal on
// the segments of a path (without its leading "/") and reports whether the
// result starts with "//": that is, whether it has two or more segments and
// the first is empty. Segments leave the stack only from the top, so its
// depth and the emptiness of its bottom segment are all the state needed.
func resolvesProtocolRelative(path string, decoded bool) bool {
	depth, bottomEmpty := 0, false
	for start := 0; ; {
		end, next := nextSeparator(path, start, decoded)
		seg, last := path[start:end], next < 0
		// A dot segment is dropped, or becomes an empty last segment; ".."
		// also removes the one before it.
		push, empty := true, seg == ""
		if !empty && (seg[0] == '.' || seg[0] == '%') {
			switch {
			case isDoubleDot(seg):
				depth = max(depth-1, 0)
				push, empty = last, true
			case isSingleDot(seg):
				push, empty = last, true
			}
		}
		if push {
			if depth == 0 {
				bottomEmpty = empty
			}
			depth++
		}
		if last {
			return depth >= 2 && bottomEmpty
		}
		start = next
	}
}

// nextSeparator finds the end of the segment that starts at path[start] and
// where the next one starts (-1 for none). A separator is "/", and also
// "%2F" when decoded is set.
func nextSeparator(path string, start int, decoded bool) (end, next int) {
	for i := start; i < len(path); i++ {
		switch path[i] {
		case '/':
			return i, i + 1
		case '%':
			if decoded && i+2 < len(path) && path[i+1] == '2' && path[i+2]|0x20 == 'f' {
				return i, i + 3
			}
		}
	}
	return len(path), -1
}

// isSingleDot and isDoubleDot follow the URL standard, where "%2e" is a
// dot. They compare bytes rather than call strings.EqualFold: they run once
// per segment, and hostile paths have a thousand segments.
func isSingleDot(seg string) bool {
	switch len(seg) {
	case 1:
		return seg[0] == '.'
	case 3:
		return isEncodedDot(seg)
	}
	return false
}

func isDoubleDot(seg string) bool {
	switch len(seg) {
	case 2:
		return seg[0] == '.' && seg[1] == '.'
	case 4:
		return seg[0] == '.' && isEncodedDot(seg[1:]) || seg[3] == '.' && isEncodedDot(seg[:3])
	case 6:
		return isEncodedDot(seg[:3]) && isEncodedDot(seg[3:])
	}
	return false
}

// isEncodedDot reports whether s is "%2e" in either case.
func isEncodedDot(s string) bool { return s[0] == '%' && s[1] == '2' && s[2]|0x20 == 'e' }

// escapeNonASCII percent-encodes bytes outside ASCII, as browsers do, so
// the Location header is plain ASCII.
func escapeNonASCII(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hexDigits = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}
