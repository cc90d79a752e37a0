package middleware_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocSnippetsAreCompiled keeps the docs true: every Go block that a
// document marks with <!-- example: FILE FUNC --> must be, line for line,
// the body of that function, which go test compiles (and runs, for an
// Example with output, or for the test that calls it).
func TestDocSnippetsAreCompiled(t *testing.T) {
	docs := []struct {
		path  string
		least int // Go blocks the document has at least
	}{
		{"README.md", 3},
		{"docs/observability.md", 1},
	}
	marked := regexp.MustCompile("(?s)<!-- example: (\\S+) (\\S+) -->\n```go\n(.*?)```")
	for _, doc := range docs {
		t.Run(doc.path, func(t *testing.T) {
			text, err := os.ReadFile(filepath.Join("..", doc.path))
			if err != nil {
				t.Fatal(err)
			}
			matches := marked.FindAllSubmatch(text, -1)
			if all := strings.Count(string(text), "```go\n"); len(matches) != all || all < doc.least {
				t.Fatalf("%s has %d Go snippets, %d of them marked as compiled; every one must be", doc.path, all, len(matches))
			}
			for _, m := range matches {
				file, fn, snippet := string(m[1]), string(m[2]), string(m[3])
				t.Run(fn, func(t *testing.T) {
					body := exampleBody(t, filepath.Join("..", file), fn)
					if strings.TrimSpace(body) != strings.TrimSpace(snippet) {
						t.Fatalf("%s's snippet for %s differs from the function.\n%s:\n%s\n%s:\n%s", doc.path, fn, doc.path, snippet, file, body)
					}
				})
			}
		})
	}
}

// exampleBody returns the source of fn's body, dedented, without its
// "// Output:" comment.
func exampleBody(t *testing.T, path, fn string) string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != fn {
			continue
		}
		body := string(src[fset.Position(fd.Body.Lbrace).Offset+1 : fset.Position(fd.Body.Rbrace).Offset])
		if i := strings.Index(body, "// Output:"); i >= 0 {
			body = body[:i]
		}
		var out []string
		for _, line := range strings.Split(body, "\n") {
			out = append(out, strings.TrimPrefix(line, "\t"))
		}
		return strings.Join(out, "\n")
	}
	t.Fatalf("no function %s in %s", fn, path)
	return ""
}
