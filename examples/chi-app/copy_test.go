package main

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/internal/testenv"
)

// The example's import path, and the module a user's copy gets instead,
// as gonew would rename it.
const (
	examplePath = "github.com/centralauth-go/logout/examples/chi-app"
	copyPath    = "example.com/chi-app"
	libraryPath = "github.com/centralauth-go/logout"
)

// TestBuildsFromACopy copies the example out of the repository, as a user
// would: its files except the tests (which use the repository's internal
// helpers), a module of its own (go mod init, the import paths renamed),
// and the library by a replace directive. The copy must build: the example
// imports nothing internal.
func TestBuildsFromACopy(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		msg := "this test builds a copy of the example with the go command, which is not on PATH"
		if os.Getenv(testenv.RequireEnv) == "1" {
			t.Fatalf("%s (%s=1 makes it mandatory)", msg, testenv.RequireEnv)
		}
		t.Skip(msg)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copied := 0
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && d.Name() == "testdata":
			return filepath.SkipDir
		case d.IsDir() || strings.HasSuffix(path, "_test.go"):
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".go") {
			b = []byte(strings.ReplaceAll(string(b), `"`+examplePath, `"`+copyPath))
			copied++
		}
		dst := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil || copied == 0 {
		t.Fatalf("copying the example: %d Go files, %v", copied, err)
	}
	// The library's go.sum holds the sums of the modules that the copy
	// shares with it: tidy need not ask the checksum database for them.
	sums, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sums, 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	for _, args := range [][]string{
		{"mod", "init", copyPath},
		{"mod", "edit", "-replace", libraryPath + "=" + root},
		{"mod", "tidy"},
		{"build", "./..."}, // with several packages, it writes nothing
	} {
		cmd := exec.CommandContext(ctx, goCmd, args...)
		cmd.Dir = dir
		// The module cache and proxy as configured; no workspace, and
		// go.mod may change.
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s in a copy of the example: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
