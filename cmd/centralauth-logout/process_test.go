package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/internal/testutil"
)

// child is the built command running in the background, for the tests
// that signal it or feed it through a pipe that stays open.
type child struct {
	cmd            *exec.Cmd
	stdin          io.WriteCloser // nil unless started with a pipe
	stdout, stderr testutil.Buffer
	done           chan struct{}
	err            error
}

// startProcess starts the built command with env and args. A nil stdin
// is a pipe that stays open until the test writes to or closes c.stdin.
func startProcess(t *testing.T, env map[string]string, stdin io.Reader, args ...string) *child {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatalf("building the command: %v", err)
	}
	c := &child{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	c.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range env {
		c.cmd.Env = append(c.cmd.Env, k+"="+v)
	}
	c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
	if stdin == nil {
		if c.stdin, err = c.cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
	} else {
		c.cmd.Stdin = stdin
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

func (c *child) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// wait waits for the command to exit and returns its exit status.
func (c *child) wait(t *testing.T, what string) int {
	t.Helper()
	testutil.WaitFor(t, time.Minute, what, c.exited, func() string { return "stderr: " + c.stderr.String() })
	var ee *exec.ExitError
	switch {
	case c.err == nil:
		return 0
	case errors.As(c.err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(c.err)
	return -1
}

// jsonObject is one object of -json: a line's, or the summary.
type jsonObject struct {
	Kind      string `json:"kind"`
	File      string `json:"file"`
	Line      int    `json:"line"`
	Outcome   string `json:"outcome"`
	Status    int    `json:"status"`
	ErrorCode string `json:"errorCode"`
	Attempts  int    `json:"attempts"`
	Reason    string `json:"reason"`

	Lines, Ended, AlreadyEnded, Invalid, Failed, Skipped, NotTried, Retries int
	Interrupted                                                             bool
	FirstNotTried                                                           *struct {
		File string `json:"file"`
		Line int    `json:"line"`
	} `json:"firstNotTried"`
}

// parseJSON reads -json's output: the line objects, and the summary,
// which must come last.
func parseJSON(t *testing.T, stdout string) ([]jsonObject, jsonObject) {
	t.Helper()
	var lines []jsonObject
	var sum *jsonObject
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var o jsonObject
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("stdout line %q: %v", sc.Text(), err)
		}
		switch {
		case sum != nil:
			t.Fatalf("an object after the summary: %s", sc.Text())
		case o.Kind == "summary":
			sum = &o
		case o.Kind == "line":
			lines = append(lines, o)
		default:
			t.Fatalf("an object of kind %q: %s", o.Kind, sc.Text())
		}
	}
	if sum == nil {
		t.Fatalf("no summary object in -json's %d objects", len(lines))
	}
	return lines, *sum
}

// countOutcomes counts the line objects by outcome, and checks that the
// summary object agrees and adds up.
func countOutcomes(t *testing.T, lines []jsonObject, sum jsonObject) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, l := range lines {
		n[l.Outcome]++
	}
	got := map[string]int{"ended": sum.Ended, "alreadyEnded": sum.AlreadyEnded, "invalid": sum.Invalid,
		"failed": sum.Failed, "skipped": sum.Skipped}
	for k, v := range got {
		if n[k] != v {
			t.Fatalf("the summary object counts %d %s, the line objects %d", v, k, n[k])
		}
	}
	if total := len(lines) + sum.NotTried; total != sum.Lines {
		t.Fatalf("%d line objects and %d not tried, for %d lines read", len(lines), sum.NotTried, sum.Lines)
	}
	return n
}
