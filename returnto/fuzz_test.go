package returnto_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/centralauth-go/logout/returnto"
)

// FuzzCheck holds Check to the promise that matters: whatever it accepts,
// net/url parses, and a browser following it as a Location header stays on
// this origin or on an allowed host.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"/", "/a/b?c=d#e", "//evil.example", `/\evil.example`, "/.//x", "/%2e%2e//x",
		"https://app.example.com/x", "HTTPS://APP.EXAMPLE.COM", "https://bücher.example/",
		"https://a.tenants.example.net:8443/", "http://[2001:db8::1]/", "http://0x7f.1/",
		"https://app.example.com@evil.example/", "javascript:alert(1)", "https:app.example.com",
	} {
		f.Add(s)
	}
	p, err := returnto.NewPolicy("app.example.com", "*.tenants.example.net:8443", "bücher.example", "[2001:db8::1]")
	if err != nil {
		f.Fatal(err)
	}
	allowed := map[string]bool{
		"app.example.com": true, "xn--bcher-kva.example": true, "[2001:db8::1]": true,
	}
	f.Fuzz(func(t *testing.T, raw string) {
		loc, err := p.Check(raw)
		if err != nil {
			return
		}
		for i := 0; i < len(loc); i++ {
			if c := loc[i]; c < 0x20 || c >= 0x7f || c == '\\' {
				t.Fatalf("Check(%q) = %q: byte %#x in Location", raw, loc, c)
			}
		}
		if again, err := p.Check(loc); err != nil || again != loc {
			t.Fatalf("Check(%q) = %q, but Check of that = %q, %v", raw, loc, again, err)
		}
		if strings.HasPrefix(loc, "/") {
			if strings.HasPrefix(loc, "//") {
				t.Fatalf("Check(%q) = %q: protocol-relative", raw, loc)
			}
			u, err := url.Parse("https://self.invalid" + loc)
			if err != nil || u.Host != "self.invalid" {
				t.Fatalf("Check(%q) = %q leaves the origin (%v)", raw, loc, err)
			}
			return
		}
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("Check(%q) = %q, which net/url cannot parse: %v", raw, loc, err)
		}
		if u.User != nil || (u.Scheme != "http" && u.Scheme != "https") {
			t.Fatalf("Check(%q) = %q: scheme %q, userinfo %v", raw, loc, u.Scheme, u.User)
		}
		host := u.Hostname()
		if strings.Contains(u.Host, "[") {
			host = "[" + host + "]"
		}
		if !allowed[host] && !strings.HasSuffix(host, ".tenants.example.net") {
			t.Fatalf("Check(%q) = %q: host %q is not allowed", raw, loc, host)
		}
	})
}
