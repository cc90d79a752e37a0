package returnto_test

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/centralauth-go/logout/returnto"
)

func mustPolicy(t testing.TB, patterns ...string) *returnto.Policy {
	t.Helper()
	p, err := returnto.NewPolicy(patterns...)
	if err != nil {
		t.Fatalf("NewPolicy(%q): %v", patterns, err)
	}
	return p
}

func TestCheckPaths(t *testing.T) {
	p := mustPolicy(t)
	tests := []struct {
		name, in, want string // want "" means unsafe
	}{
		{"root", "/", "/"},
		{"plain path", "/account/settings", "/account/settings"},
		{"query and fragment", "/search?q=a%20b&next=%2Fx#top", "/search?q=a%20b&next=%2Fx#top"},
		{"absolute URL inside path", "/https://evil.example", "/https://evil.example"},
		{"dot segments staying on a path", "/a/b/../c", "/a/b/../c"},
		{"trailing dot-dot", "/example.com//..", "/example.com//.."},
		{"unicode path is percent-encoded", "/café", "/caf%C3%A9"},
		{"empty", "", ""},
		{"relative without slash", "account", ""},
		{"protocol-relative", "//evil.example", ""},
		{"protocol-relative with backslash", `/\evil.example`, ""},
		{"backslash later", `/a\b`, ""},
		{"tab that browsers strip", "/\t/evil.example", ""},
		{"newline", "/a\nb", ""},
		{"DEL", "/a\x7f", ""},
		{"NUL", "/a\x00", ""},
		{"C1 control", "/a\u0085", ""},
		{"invalid UTF-8", "/a\xff", ""},
		{"encoded slash makes it protocol-relative", "/%2Fevil.example", ""},
		{"encoded slash lower case", "/%2fevil.example", ""},
		{"encoded backslash", "/%5Cevil.example", ""},
		{"encoded tab", "/%09/evil.example", ""},
		{"encoded newline in query", "/?a=%0d%0aSet-Cookie:x", ""},
		{"malformed escape", "/100%", ""},
		{"malformed escape digits", "/%zz", ""},
		{"dot then empty segment", "/.//evil.example", ""},
		{"encoded dot", "/%2e//evil.example", ""},
		{"dot-dot climbing to empty", "/a/..//evil.example", ""},
		{"encoded dot-dot", "/%2E%2e//evil.example", ""},
		{"dot with encoded separators", "/.%2F%2Fevil.example", ""},
		{"dot-dot hidden behind an encoded separator", "/.//..%2fevil.example", ""},
		{"too long", "/" + strings.Repeat("a", returnto.MaxLength), ""},
		{"exactly max length", "/" + strings.Repeat("a", returnto.MaxLength-1), "/" + strings.Repeat("a", returnto.MaxLength-1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Check(tt.in)
			assertVerdict(t, tt.in, got, err, tt.want)
		})
	}
}

func TestCheckAbsoluteURLs(t *testing.T) {
	p := mustPolicy(t,
		"app.example.com",
		"admin.example.com:8443",
		"*.tenants.example.net",
		"bücher.example",
		"192.0.2.10",
		"[2001:db8::1]",
	)
	tests := []struct {
		name, in, want string
	}{
		{"exact host https", "https://app.example.com/home", "https://app.example.com/home"},
		{"exact host http", "http://app.example.com", "http://app.example.com"},
		{"default port written out", "https://app.example.com:443/x", "https://app.example.com:443/x"},
		{"http default port written out", "http://app.example.com:80/", "http://app.example.com:80/"},
		{"upper-case scheme and host are canonicalized", "HTTPS://APP.Example.COM/Path", "https://app.example.com/Path"},
		{"query and fragment only", "https://app.example.com?x=1#y", "https://app.example.com?x=1#y"},
		{"explicit port pattern", "https://admin.example.com:8443/", "https://admin.example.com:8443/"},
		{"wildcard subdomain", "https://acme.tenants.example.net/", "https://acme.tenants.example.net/"},
		{"wildcard deep subdomain", "https://a.b.tenants.example.net/", "https://a.b.tenants.example.net/"},
		{"IDN given in Unicode", "https://bücher.example/ö", "https://xn--bcher-kva.example/%C3%B6"},
		{"IDN given as punycode", "https://xn--bcher-kva.example/", "https://xn--bcher-kva.example/"},
		{"IDN with upper case", "https://BÜCHER.example/", "https://xn--bcher-kva.example/"},
		{"IPv4 literal", "http://192.0.2.10/", "http://192.0.2.10/"},
		{"IPv6 literal", "http://[2001:db8::1]/", "http://[2001:db8::1]/"},

		{"host not allowed", "https://evil.example/", ""},
		{"suffix trick", "https://app.example.com.evil.example/", ""},
		{"prefix trick", "https://evilapp.example.com/", ""},
		{"wildcard does not match apex", "https://tenants.example.net/", ""},
		{"wildcard suffix trick", "https://acmetenants.example.net/", ""},
		{"non-default port on exact pattern", "https://app.example.com:8443/", ""},
		{"https default port on http", "http://app.example.com:443/", ""},
		{"wrong port on port pattern", "https://admin.example.com/", ""},
		{"userinfo", "https://user@app.example.com/", ""},
		{"userinfo hiding the host", "https://app.example.com@evil.example/", ""},
		{"empty userinfo", "https://:@app.example.com/", ""},
		{"percent-encoded host", "https://app%2eexample.com/", ""},
		{"trailing dot", "https://app.example.com./", ""},
		{"empty label", "https://app..example.com/", ""},
		{"empty port", "https://app.example.com:/", ""},
		{"port with leading zero", "https://app.example.com:0443/", ""},
		{"port out of range", "https://app.example.com:65536/", ""},
		{"octal IPv4", "http://0300.0.2.10/", ""},
		{"hex IPv4", "http://0xc0.0.2.10/", ""},
		{"dword IPv4", "http://3221225994/", ""},
		{"short IPv4", "http://192.0.522/", ""},
		{"numeric last label", "http://app.123/", ""},
		{"IPv6 with embedded IPv4", "http://[::ffff:192.0.2.10]/", ""},
		{"IPv6 not canonical", "http://[2001:0db8::1]/", ""},
		{"IPv6 zone", "http://[fe80::1%25eth0]/", ""},
		{"unbracketed IPv6", "http://2001:db8::1/", ""},
		{"scheme without slashes", "https:app.example.com", ""},
		{"scheme with one slash", "https:/app.example.com", ""},
		{"no host", "https:///app.example.com", ""},
		{"backslash authority", `https:\\app.example.com`, ""},
		{"backslash inside host", `https://evil.example\.app.example.com/`, ""},
		{"space in host", "https://app.example.com /", ""},
		{"javascript", "javascript:alert(1)", ""},
		{"javascript with slashes", "javascript://app.example.com/%0aalert(1)", ""},
		{"data", "data:text/html,hi", ""},
		{"ftp", "ftp://app.example.com/", ""},
		{"leading space", " https://app.example.com/", ""},
		{"fullwidth dot trick", "https://evil。example/", ""},
		{"invalid punycode", "https://xn--a.example/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Check(tt.in)
			assertVerdict(t, tt.in, got, err, tt.want)
		})
	}
}

// TestCheckAbsoluteURLEscapes holds an accepted absolute URL to what the
// relative form already meets: every "%" starts a well-formed escape, so
// net/url, and the app's own router behind it, can parse what Check lets
// through. FuzzCheck found "https://app.example.com/%" accepted.
func TestCheckAbsoluteURLEscapes(t *testing.T) {
	p := mustPolicy(t, "app.example.com")
	tests := []struct {
		name, in, want string
	}{
		{"valid escapes", "https://app.example.com/a%20b?q=%2F#%7E", "https://app.example.com/a%20b?q=%2F#%7E"},
		{"escaped non-ASCII byte", "https://app.example.com/%e4", "https://app.example.com/%e4"},

		{"lone percent in path", "https://app.example.com/%", ""},
		{"percent ending the path", "https://app.example.com/100%", ""},
		{"one hex digit", "https://app.example.com/a%2", ""},
		{"non-hex digits", "https://app.example.com/%zz", ""},
		{"non-hex second digit", "https://app.example.com/%2g", ""},
		{"in the fragment", "https://app.example.com/#%zz", ""},
		{"in the query", "https://app.example.com/?a=%zz", ""},
		{"in a query with no path", "https://app.example.com?%", ""},
		{"after a non-ASCII character", "https://app.example.com/ä%", ""},
		{"after a rewritten host", "HTTPS://APP.EXAMPLE.COM/%zz", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Check(tt.in)
			assertVerdict(t, tt.in, got, err, tt.want)
			if err != nil {
				return
			}
			u, err := url.Parse(got)
			if err != nil {
				t.Fatalf("Check(%q) = %q, which net/url cannot parse: %v", tt.in, got, err)
			}
			if u.Host != "app.example.com" {
				t.Fatalf("Check(%q) = %q: net/url reads host %q", tt.in, got, u.Host)
			}
		})
	}
}

func assertVerdict(t *testing.T, in, got string, err error, want string) {
	t.Helper()
	if want == "" {
		if err == nil {
			t.Fatalf("Check(%q) = %q, nil; want it rejected", in, got)
		}
		var ue *returnto.UnsafeError
		if !errors.Is(err, returnto.ErrUnsafe) || !errors.As(err, &ue) || ue.Reason == "" {
			t.Fatalf("Check(%q) error %v: want an *UnsafeError matching ErrUnsafe", in, err)
		}
		if len(in) > 3 && strings.Contains(err.Error(), in) {
			t.Fatalf("error %q repeats the attacker's value", err)
		}
		return
	}
	if err != nil || got != want {
		t.Fatalf("Check(%q) = %q, %v; want %q, nil", in, got, err, want)
	}
}

func TestNewPolicyRejectsBadPatterns(t *testing.T) {
	tests := []struct{ name, pattern string }{
		{"empty", ""},
		{"wildcard on a TLD", "*.com"},
		{"bare wildcard", "*"},
		{"wildcard in the middle", "a.*.example.com"},
		{"partial wildcard label", "*app.example.com"},
		{"URL instead of host", "https://app.example.com"},
		{"path", "app.example.com/x"},
		{"userinfo", "me@app.example.com"},
		{"bad port", "app.example.com:0"},
		{"empty port", "app.example.com:"},
		{"any-port syntax", "app.example.com:*"},
		{"leading dot syntax", ".example.com"},
		{"non-canonical IPv4", "0x7f.1"},
		{"wildcard on an IP", "*.0.2.10"},
		{"space", "app example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := returnto.NewPolicy(tt.pattern)
			if !errors.Is(err, returnto.ErrInvalidPattern) {
				t.Fatalf("NewPolicy(%q) error = %v; want ErrInvalidPattern", tt.pattern, err)
			}
		})
	}
}

func TestLargeAllowListMatchesEveryHost(t *testing.T) {
	var patterns []string
	for i := range 1000 {
		patterns = append(patterns, "host"+strings.Repeat("x", i%7)+"-"+strconv.Itoa(i)+".example.com")
	}
	patterns = append(patterns, "*.wild.example.org")
	p := mustPolicy(t, patterns...)
	for _, h := range patterns[:1000] {
		if _, err := p.Check("https://" + h + "/"); err != nil {
			t.Fatalf("host %s: %v", h, err)
		}
	}
	if _, err := p.Check("https://x.wild.example.org/"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Check("https://host-1000.example.com/"); err == nil {
		t.Fatal("host outside the list accepted")
	}
}
