// Package testenv finds the system programs that some tests drive for
// real: redis-server and Chromium. On a machine without them those tests
// skip, naming the Debian package to install, so that a plain
// `go test ./...` passes anywhere. `make test` installs the packages and
// sets RequireEnv, which turns every such skip into a failure: a green
// `make test` always means that the proofs ran.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireEnv is the environment variable that, set to 1, makes a missing
// program fail the test instead of skipping it.
const RequireEnv = "CENTRALAUTH_REQUIRE_SYSTEM_DEPS"

// Program returns the path of program, which Debian's package pkg
// provides, or skips the test (fails it, under RequireEnv=1) when it is
// not on PATH.
func Program(t testing.TB, program, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err == nil {
		return path
	}
	msg := "this test needs " + program + ": install Debian's package " + pkg +
		" (apt-get install " + pkg + "), or run `make test` as root, which installs it"
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s (%s=1 makes it mandatory): %v", msg, RequireEnv, err)
	}
	t.Skip(msg)
	return ""
}
