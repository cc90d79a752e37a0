package remote

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// maxBodyBytes bounds how much of a response body is read, so a broken
	// or hostile server cannot make Logout buffer megabytes.
	maxBodyBytes = 64 << 10
	// maxMessageBytes bounds Error.Code and Error.Message: they end up in
	// logs, where the start of a body is useful and the rest is noise.
	maxMessageBytes = 512
	redacted        = "[redacted]"
)

// parseErrorBody turns a non-2xx response body into an *Error. The body is
// untrusted input: the result is bounded, valid UTF-8, free of control
// characters (which could forge log lines), and has every occurrence of the
// given secrets replaced by "[redacted]". Empty secrets are ignored.
func parseErrorBody(status int, body []byte, secrets ...string) *Error {
	if len(body) > maxBodyBytes {
		body = body[:maxBodyBytes]
	}
	secrets = redactionOrder(secrets)
	// Redact the raw bytes first, as well as the decoded fields below: a
	// secret that JSON escapes (such as one with '<' or '"') only shows in
	// the decoded text, and one with a control character only in the raw.
	raw := redact(string(body), secrets)

	e := &Error{StatusCode: status}
	var j struct {
		ErrorCode string `json:"errorCode"`
		Message   string `json:"message"`
	}
	if err := json.Unmarshal([]byte(raw), &j); err == nil && (j.ErrorCode != "" || j.Message != "") {
		e.Code = clean(j.ErrorCode, secrets)
		e.Message = clean(j.Message, secrets)
		return e
	}
	e.Message = clean(raw, secrets)
	return e
}

// clean makes untrusted text fit for an error string. Redaction comes after
// the character clean-up, so that a replaced character cannot join the
// pieces of a secret back together, and before truncation, so that a
// secret cut in half at the limit is still redacted.
func clean(s string, secrets []string) string {
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		// Control, format (bidi overrides) and separator characters could
		// break or disguise a log line.
		return ' '
	}, s)
	s = redact(s, secrets)
	return strings.TrimSpace(truncate(strings.TrimSpace(s), maxMessageBytes))
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// redactionOrder drops empty secrets (replacing "" would insert the marker
// everywhere) and puts longer ones first, so that a secret containing
// another is replaced whole.
func redactionOrder(secrets []string) []string {
	out := make([]string, 0, len(secrets))
	for _, s := range secrets {
		if s != "" {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return out
}

// redact replaces every occurrence of each secret with "[redacted]".
// secrets must come from redactionOrder.
func redact(s string, secrets []string) string {
	for _, secret := range secrets {
		s = strings.ReplaceAll(s, secret, redacted)
	}
	return s
}
