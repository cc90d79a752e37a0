package returnto_test

import (
	"bufio"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/centralauth-go/logout/returnto"
)

// corpusAllowedHost is the site's own host in the published payload lists;
// every list uses the placeholder www.whitelisteddomain.tld for it.
const corpusAllowedHost = "www.whitelisteddomain.tld"

// corpusMinRecords is the number of records each corpus file holds, so that
// a truncated or lost file fails the test. A new file must be added here.
var corpusMinRecords = map[string]int{
	"oauth2-proxy-openredirects.txt":                  828,
	"payloadsallthethings-open-redirect-payloads.txt": 319,
	"payloadsallthethings-open-redirect-wordlist.txt": 22,
	"payloadsallthethings-openredirects.txt":          105,
}

type corpusRecord struct {
	lineNo     int    // line in the corpus file
	safe       bool   // our verdict
	form       string // "decoded", "listed" or "undecodable"
	sourceLine int    // line in the published list
	value      string
}

// readCorpus parses "verdict<TAB>form<TAB>source-line<TAB>Go-quoted value"
// lines, skipping blank lines and "#" comments. See
// testdata/openredirect/README.md.
func readCorpus(t *testing.T, path string) []corpusRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []corpusRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.SplitN(line, "\t", 4)
		if len(fields) != 4 {
			t.Fatalf("%s:%d: want 4 tab-separated fields, got %d", path, n, len(fields))
		}
		r := corpusRecord{lineNo: n, form: fields[1]}
		switch fields[0] {
		case "safe":
			r.safe = true
		case "unsafe":
		default:
			t.Fatalf("%s:%d: verdict %q is neither safe nor unsafe", path, n, fields[0])
		}
		switch r.form {
		case "decoded", "listed", "undecodable":
		default:
			t.Fatalf("%s:%d: unknown form %q", path, n, r.form)
		}
		if r.sourceLine, err = strconv.Atoi(fields[2]); err != nil || r.sourceLine < 1 {
			t.Fatalf("%s:%d: bad source line %q", path, n, fields[2])
		}
		if r.value, err = strconv.Unquote(fields[3]); err != nil {
			t.Fatalf("%s:%d: value is not a Go-quoted string: %v", path, n, err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

// TestCorpus checks Policy.Check against published open-redirect payload
// lists, each value carrying a verdict decided from the rule in
// testdata/openredirect/README.md rather than by running Check.
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "openredirect", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool)
	for _, path := range files {
		seen[filepath.Base(path)] = true
	}
	for name := range corpusMinRecords {
		if !seen[name] {
			t.Errorf("corpus file %s is missing", name)
		}
	}

	policy, err := returnto.NewPolicy(corpusAllowedHost)
	if err != nil {
		t.Fatal(err)
	}

	for _, path := range files {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".txt"), func(t *testing.T) {
			recs := readCorpus(t, path)
			min, ok := corpusMinRecords[name]
			if !ok {
				t.Fatalf("no minimum record count for %s: add it to corpusMinRecords", name)
			}
			if len(recs) < min {
				t.Fatalf("%s has %d records, want at least %d: truncated?", name, len(recs), min)
			}
			safe := 0
			for _, r := range recs {
				if r.safe {
					safe++
				}
				out, err := policy.Check(r.value)
				if err != nil && !errors.Is(err, returnto.ErrUnsafe) {
					t.Errorf("%s:%d: Check(%q) error %v does not match ErrUnsafe", name, r.lineNo, r.value, err)
				}
				if got := err == nil; got != r.safe {
					t.Errorf("%s:%d (source line %d, %s): Check(%q) = %q, %v; want verdict %s",
						name, r.lineNo, r.sourceLine, r.form, r.value, out, err, verdictWord(r.safe))
					continue
				}
				if r.safe {
					checkSafeOutput(t, name, r, out)
				}
			}
			t.Logf("%s: %d records, %d safe, %d unsafe", name, len(recs), safe, len(recs)-safe)
		})
	}
}

// checkSafeOutput asserts that what Check returns for a safe value leads to
// the allowed host: an absolute URL whose host net/url reads as the allowed
// one, or a path that a browser resolves on this origin.
func checkSafeOutput(t *testing.T, name string, r corpusRecord, out string) {
	t.Helper()
	if strings.HasPrefix(r.value, "/") {
		if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") {
			t.Errorf("%s:%d: Check(%q) = %q: a safe path must start with exactly one \"/\"", name, r.lineNo, r.value, out)
		}
		return
	}
	u, err := url.Parse(out)
	if err != nil {
		t.Errorf("%s:%d: Check(%q) = %q, which net/url cannot parse: %v", name, r.lineNo, r.value, out, err)
		return
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		t.Errorf("%s:%d: Check(%q) = %q: scheme %q, want http or https", name, r.lineNo, r.value, out, u.Scheme)
	}
	if u.User != nil {
		t.Errorf("%s:%d: Check(%q) = %q: has userinfo", name, r.lineNo, r.value, out)
	}
	if h := u.Hostname(); h != corpusAllowedHost {
		t.Errorf("%s:%d: Check(%q) = %q: Hostname() = %q, want %q", name, r.lineNo, r.value, out, h, corpusAllowedHost)
	}
}

func verdictWord(safe bool) string {
	if safe {
		return "safe"
	}
	return "unsafe"
}
