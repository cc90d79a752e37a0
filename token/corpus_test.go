package token_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite FuzzDecrypt's committed seed corpus from seeds")

// TestCorpus keeps FuzzDecrypt's committed seeds meaningful: each file
// named ok-* must be read by one of fuzzDecrypters, each junk-* by none.
// Other names are inputs that fuzzing found; FuzzDecrypt checks those. With
// -update-corpus, the ok-* and junk-* files are first written anew from
// seeds.
func TestCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecrypt")
	if *updateCorpus {
		old, _ := filepath.Glob(filepath.Join(dir, "*-*"))
		for _, name := range old {
			if err := os.Remove(name); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, s := range seeds(t) {
			name := "junk-" + s.name
			if s.ok {
				name = "ok-" + s.name
			}
			content := fmt.Sprintf("go test fuzz v1\nstring(%q)\n", s.token)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ds := fuzzDecrypters(t)
	count := map[bool]int{}
	for _, e := range entries {
		verdict, _, named := strings.Cut(e.Name(), "-")
		if !named || (verdict != "ok" && verdict != "junk") {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			lit, ok := strings.CutPrefix(string(b), "go test fuzz v1\nstring(")
			lit, ok2 := strings.CutSuffix(lit, ")\n")
			raw, err := strconv.Unquote(lit)
			if !ok || !ok2 || err != nil {
				t.Fatalf("not a one-string fuzz corpus file: %q", b)
			}
			read := false
			for _, d := range ds {
				_, ok := d.Decrypt(raw)
				read = read || ok
			}
			if want := verdict == "ok"; read != want {
				t.Fatalf("read = %v, want %v", read, want)
			}
			count[read]++
		})
	}
	if count[true] == 0 || count[false] == 0 {
		t.Fatalf("the corpus holds %d tokens that are read and %d that are not; want some of each", count[true], count[false])
	}
}
