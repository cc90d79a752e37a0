package sessioncheck

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestEndUserIP: only the X-Forwarded-For hops that trusted proxies wrote
// count, X-Real-IP is ignored, and an ip:port hop means its IP.
func TestEndUserIP(t *testing.T) {
	tests := []struct {
		name    string
		proxies []string
		peer    string
		xff     []string
		realIP  string
		want    string
	}{
		{"no proxy trusted: the peer, whatever the headers say", nil, "198.51.100.1:1", []string{"203.0.113.9"}, "203.0.113.8", "198.51.100.1"},
		{"a trusted proxy: the hop before it", []string{"10.0.0.0/8"}, "10.0.0.5:1", []string{"203.0.113.9"}, "", "203.0.113.9"},
		{"a spoofed leftmost entry is skipped", []string{"10.0.0.0/8"}, "10.0.0.5:1", []string{"6.6.6.6, 203.0.113.9"}, "", "203.0.113.9"},
		{"two trusted hops", []string{"10.0.0.0/8", "192.0.2.7"}, "10.0.0.5:1", []string{"203.0.113.9, 192.0.2.7"}, "", "203.0.113.9"},
		{"several header lines", []string{"10.0.0.0/8"}, "10.0.0.5:1", []string{"6.6.6.6", "203.0.113.9, 10.1.1.1"}, "", "203.0.113.9"},
		{"garbage stops at the last trusted hop", []string{"10.0.0.0/8"}, "10.0.0.5:1", []string{"203.0.113.9, junk"}, "", "10.0.0.5"},
		{"every hop trusted: the leftmost", []string{"10.0.0.0/8"}, "10.0.0.5:1", []string{"10.9.9.9, 10.1.1.1"}, "", "10.9.9.9"},
		{"a hop with a port: its IP", []string{"10.0.0.0/8"}, "10.0.0.5:1", []string{"203.0.113.9:51234"}, "", "203.0.113.9"},
		{"an IPv6 hop with a port: its IP", []string{"10.0.0.0/8"}, "10.0.0.5:1", []string{"[2001:db8::9]:51234"}, "", "2001:db8::9"},
		{"an IPv6 hop", []string{"10.0.0.0/8"}, "10.0.0.5:1", []string{"2001:db8::9"}, "", "2001:db8::9"},
		{"a trusted hop with a port is skipped", []string{"10.0.0.0/8"}, "10.0.0.5:1", []string{"203.0.113.9, 10.1.1.1:443"}, "", "203.0.113.9"},
		{"an IPv4-mapped hop", []string{"10.0.0.0/8"}, "10.0.0.5:1", []string{"::ffff:203.0.113.9"}, "", "203.0.113.9"},
		{"a client's X-Real-IP without X-Forwarded-For is ignored", []string{"10.0.0.0/8"}, "10.0.0.5:1", nil, "203.0.113.8", "10.0.0.5"},
		{"X-Real-IP never overrides X-Forwarded-For", []string{"10.0.0.0/8"}, "10.0.0.5:1", []string{"203.0.113.9"}, "203.0.113.8", "203.0.113.9"},
		{"a bad X-Real-IP", []string{"10.0.0.0/8"}, "10.0.0.5:1", nil, "nope", "10.0.0.5"},
		{"IPv6 peer", nil, "[2001:db8::1]:443", nil, "", "2001:db8::1"},
		{"an untrusted peer sending X-Real-IP", []string{"10.0.0.0/8"}, "198.51.100.1:1", nil, "203.0.113.8", "198.51.100.1"},
		{"a peer that does not parse: unknown", nil, "pipe", nil, "", "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tokenStore{}, &countingRemote{}, WithTrustedProxies(tt.proxies...))
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if tt.realIP != "" {
				r.Header.Set("X-Real-IP", tt.realIP)
			}
			if got := c.endUserIP(r).String(); got != tt.want {
				t.Fatalf("end user IP %s, want %s", got, tt.want)
			}
		})
	}
}
