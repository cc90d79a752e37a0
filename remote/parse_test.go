package remote

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestParseErrorBody(t *testing.T) {
	const secret = "Sup3r-S3cret<&>"
	tests := []struct {
		name     string
		body     string
		secrets  []string
		wantCode string
		wantMsg  string
	}{
		{name: "CentralAuth JSON", body: `{"errorCode":"noPermission","message":"bad credentials"}`, wantCode: "noPermission", wantMsg: "bad credentials"},
		{name: "code only", body: `{"errorCode":"tokenMissing"}`, wantCode: "tokenMissing"},
		{name: "message only", body: `{"message":"nope"}`, wantMsg: "nope"},
		{name: "extra fields", body: `{"errorCode":"x","message":"y","trace":[1,2]}`, wantCode: "x", wantMsg: "y"},
		{name: "JSON without the fields", body: `{"error":"x"}`, wantMsg: `{"error":"x"}`},
		{name: "JSON with other types", body: `{"errorCode":5,"message":"y"}`, wantMsg: `{"errorCode":5,"message":"y"}`},
		{name: "JSON array", body: `["x"]`, wantMsg: `["x"]`},
		{name: "JSON null", body: `null`, wantMsg: `null`},
		{name: "empty", body: ""},
		{name: "blank", body: " \r\n\t "},
		{name: "plain text is trimmed", body: "\n  Service Unavailable  \n", wantMsg: "Service Unavailable"},
		{name: "first 512 bytes", body: strings.Repeat("abcdefgh", 100), wantMsg: strings.Repeat("abcdefgh", 64)},
		{name: "no split rune at the cut", body: strings.Repeat("a", 511) + "é and more", wantMsg: strings.Repeat("a", 511)},
		{name: "JSON message is bounded too", body: `{"message":"` + strings.Repeat("m", 600) + `"}`, wantMsg: strings.Repeat("m", 512)},
		{name: "invalid UTF-8", body: "bad \xff\xfe byte", wantMsg: "bad \uFFFD byte"},
		{name: "control characters", body: "line1\nline2\x1b[31m\x00end", wantMsg: "line1 line2 [31m end"},
		{name: "bidi override", body: "invoice\u202Efdp.exe", wantMsg: "invoice fdp.exe"},
		{name: "secret in plain text", body: "secret is " + secret + "!", secrets: []string{secret}, wantMsg: "secret is [redacted]!"},
		{name: "secret escaped in JSON", body: `{"message":"secret is Sup3r-S3cret\u003c\u0026\u003e"}`, secrets: []string{secret}, wantMsg: "secret is [redacted]"},
		{name: "secret in the code", body: `{"errorCode":"` + "Sup3r-S3cret<&>" + `"}`, secrets: []string{secret}, wantCode: "[redacted]"},
		{name: "secret across the cut", body: strings.Repeat("a", 505) + secret, secrets: []string{secret}, wantMsg: strings.Repeat("a", 505) + "[redact"},
		{name: "longer secret first", body: "tok-123-extra", secrets: []string{"tok-123", "tok-123-extra"}, wantMsg: "[redacted]"},
		{name: "empty secret ignored", body: "plain", secrets: []string{""}, wantMsg: "plain"},
		{name: "beyond 64 KiB is ignored", body: strings.Repeat(" ", maxBodyBytes) + "tail", wantMsg: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := parseErrorBody(503, []byte(tt.body), tt.secrets...)
			if e.StatusCode != 503 || e.Code != tt.wantCode || e.Message != tt.wantMsg {
				t.Errorf("got %d %q %q, want 503 %q %q", e.StatusCode, e.Code, e.Message, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

// fuzzSecret shares no character with "[redacted]" or with what clean puts
// in (space, U+FFFD), so no redaction or clean-up can form it anew.
const fuzzSecret = "S3CR3T-FUZZ"

func FuzzParseErrorBody(f *testing.F) {
	for _, seed := range []string{
		`{"errorCode":"noPermission","message":"bad credentials"}`,
		`{"errorCode":"tokenInvalid"}`,
		`{"message":"` + strings.Repeat("é", 300) + `"}`,
		`{"errorCode":"S3CR3T-FUZ\u005A","message":"S3CR3T-FUZZ"}`,
		"<html><body>502 Bad Gateway</body></html>",
		strings.Repeat("a", 511) + "é",
		"\xff\xfe\xc3(\x80",
		"line1\nline2\x1b[31m\u202e",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, status := range []int{400, 503} {
			e := parseErrorBody(status, body, fuzzSecret)
			if e == nil || e.StatusCode != status {
				t.Fatalf("parseErrorBody = %#v, want an *Error with status %d", e, status)
			}
			for field, s := range map[string]string{"Code": e.Code, "Message": e.Message} {
				if len(s) > maxMessageBytes {
					t.Errorf("%s has %d bytes, want at most %d", field, len(s), maxMessageBytes)
				}
				if !utf8.ValidString(s) {
					t.Errorf("%s %q is not valid UTF-8", field, s)
				}
				if strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
					t.Errorf("%s %q has non-printable characters", field, s)
				}
				if strings.Contains(s, fuzzSecret) {
					t.Errorf("%s %q shows the secret", field, s)
				}
			}
			if msg := e.Error(); !strings.HasPrefix(msg, "remote: logout failed: ") {
				t.Errorf("Error() = %q", msg)
			}
		}
	})
}
