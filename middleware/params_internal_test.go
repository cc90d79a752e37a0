package middleware

import (
	"net/url"
	"testing"
)

func TestQueryValue(t *testing.T) {
	tests := []struct{ name, query, want string }{
		{"absent", "a=1", ""},
		{"plain", "return_to=%2Fx", "/x"},
		{"first wins", "return_to=%2Fa&return_to=%2Fb", "/a"},
		{"plus is a space", "return_to=%2Fa+b", "/a b"},
		{"escaped key", "return%5Fto=%2Fk", "/k"},
		{"bad escape skipped", "return_to=%zz&return_to=%2Fok", "/ok"},
		{"semicolon pair skipped", "return_to=%2Fa;x=1&return_to=%2Fb", "/b"},
		{"no value", "return_to", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := queryValue(tt.query, "return_to"); got != tt.want {
				t.Fatalf("queryValue(%q) = %q, want %q", tt.query, got, tt.want)
			}
		})
	}
}

// FuzzQueryValue holds the allocation-free query reader to net/url's
// answer, which is what an app reading r.URL.Query() would see.
func FuzzQueryValue(f *testing.F) {
	for _, s := range []string{"return_to=%2Fx", "a=1&return_to=b", "return%5fto=x", "return_to=%zz&return_to=y", "return_to=a;b", "=&&=", "return_to=+%2B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		want := ""
		if vals, _ := url.ParseQuery(q); vals != nil {
			want = vals.Get("return_to")
		}
		if got := queryValue(q, "return_to"); got != want {
			t.Fatalf("queryValue(%q) = %q, net/url says %q", q, got, want)
		}
	})
}
