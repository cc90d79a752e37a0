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

// TestREADMESnippetsAreExamples keeps the README true: every Go block that
// the README marks with <!-- example: FILE FUNC --> must be, line for line,
// the body of that Example function, which go test compiles and runs.
func TestREADMESnippetsAreExamples(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	marked := regexp.MustCompile("(?s)<!-- example: (\\S+) (\\S+) -->\n```go\n(.*?)```")
	matches := marked.FindAllSubmatch(readme, -1)
	if all := strings.Count(string(readme), "```go\n"); len(matches) != all || all < 3 {
		t.Fatalf("README.md has %d Go snippets, %d of them marked as Examples; every one must be", all, len(matches))
	}
	for _, m := range matches {
		file, fn, snippet := string(m[1]), string(m[2]), string(m[3])
		t.Run(fn, func(t *testing.T) {
			body := exampleBody(t, filepath.Join("..", file), fn)
			if strings.TrimSpace(body) != strings.TrimSpace(snippet) {
				t.Fatalf("README snippet for %s differs from its Example.\nREADME:\n%s\nExample:\n%s", fn, snippet, body)
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
