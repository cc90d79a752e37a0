package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestProgram runs itself in a child process, where a missing program
// either skips or fails, and reads the verdict from the child's output.
func TestProgram(t *testing.T) {
	if name := os.Getenv("TESTENV_CHILD_PROGRAM"); name != "" {
		Program(t, name, "some-package")
		return
	}
	tests := []struct {
		name     string
		program  string
		require  string
		wantPass bool
		wantOut  string
	}{
		{"present", filepath.Base(os.Args[0]), "1", true, "--- PASS"},
		{"missing: skip", "no-such-program-here", "", true, "--- SKIP"},
		{"missing and required: fail", "no-such-program-here", "1", false, "--- FAIL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestProgram$", "-test.v")
			cmd.Env = append(os.Environ(), "TESTENV_CHILD_PROGRAM="+tt.program, RequireEnv+"="+tt.require,
				"PATH="+filepath.Dir(os.Args[0]))
			out, err := cmd.CombinedOutput()
			if (err == nil) != tt.wantPass || !strings.Contains(string(out), tt.wantOut) {
				t.Fatalf("child: err %v, output:\n%s\nwant %s", err, out, tt.wantOut)
			}
			if !tt.wantPass || strings.Contains(tt.wantOut, "SKIP") {
				if !strings.Contains(string(out), "apt-get install some-package") {
					t.Fatalf("the message does not name the package:\n%s", out)
				}
			}
		})
	}
}
