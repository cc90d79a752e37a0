package returnto_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/centralauth-go/logout/returnto"
)

func BenchmarkCheck(b *testing.B) {
	p := mustPolicy(b, "app.example.com", "*.example.org")
	for _, bc := range []struct{ name, in string }{
		{"relative_path", "/account/settings?tab=security"},
		{"allowed_absolute", "https://app.example.com/account/settings?tab=security"},
		{"allowed_wildcard", "https://shop.eu.example.org/cart"},
		{"rejected_host", "https://evil.example/"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Check(bc.in); (err == nil) == strings.Contains(bc.in, "evil") {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCheckHostile feeds 2 KB inputs built to make a naive validator
// go quadratic.
func BenchmarkCheckHostile(b *testing.B) {
	p := mustPolicy(b, "app.example.com")
	n := returnto.MaxLength
	for _, bc := range []struct{ name, in string }{
		{"all_slashes", strings.Repeat("/", n)},
		{"all_percent", strings.Repeat("%", n)},
		{"percent_escapes", "/" + strings.Repeat("%41", (n-1)/3)},
		{"deep_dotdot", "/" + strings.Repeat("../", (n-1)/3)},
		{"deep_dot_segments", "/" + strings.Repeat("a/./", (n-1)/4)},
		{"long_host", "https://" + strings.Repeat("a.", (n-9)/2) + "/"},
		{"long_label_host", "https://" + strings.Repeat("a", n-9) + "/"},
		{"many_dots_allowed_suffix", "https://" + strings.Repeat("a.", (n-30)/2) + "app.example.com/"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.in)))
			for b.Loop() {
				_, _ = p.Check(bc.in)
			}
		})
	}
}

// BenchmarkCheckAllowListSize shows that lookups cost the same whatever the
// size of the allow-list.
func BenchmarkCheckAllowListSize(b *testing.B) {
	for _, n := range []int{1, 100, 10_000} {
		patterns := make([]string, 0, n+100)
		for i := range n {
			patterns = append(patterns, "h"+strconv.Itoa(i)+".example.com")
		}
		for i := range 100 {
			patterns = append(patterns, "*.w"+strconv.Itoa(i)+".example.net")
		}
		if n == 1 {
			patterns = patterns[:1] // the baseline: one exact host, no wildcards
		}
		p := mustPolicy(b, patterns...)
		in := "https://h0.example.com/account"
		b.Run("hosts="+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Check(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
