package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/testutil"
)

// ended counts the fake's logout calls answered 200.
func ended(ca *centralauthtest.Server) int {
	n := 0
	for _, c := range ca.Calls() {
		if c.Status == 200 {
			n++
		}
	}
	return n
}

// TestSignalWhileStdinOpen: SIGINT or SIGTERM ends a run that is waiting
// on stdin, which the operator has not closed; the summary says it was
// interrupted and where to resume.
func TestSignalWhileStdinOpen(t *testing.T) {
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			ca := newFake(t)
			c := startProcess(t, fakeEnv(ca), nil, "-c", "2")
			for i := range 3 {
				if _, err := c.stdin.Write([]byte(ca.SignIn("u"+strconv.Itoa(i)).AccessToken + "\n")); err != nil {
					t.Fatal(err)
				}
			}
			testutil.WaitFor(t, 30*time.Second, "3 sessions ended", func() bool { return ended(ca) == 3 })
			c.signal(t, sig)
			code := c.wait(t, "the command to end after "+sig.String()+", stdin still open")
			msg := c.stderr.String()
			if code != exitFailed || !strings.Contains(msg, "interrupted") || !strings.Contains(msg, "-:4") {
				t.Fatalf("exit status %d, want 1 and a summary that says interrupted, resuming at -:4:\n%s", code, msg)
			}
		})
	}
}

// TestSecondSignalStopsAtOnce: after a first SIGINT the requests in flight
// may finish; a second one stops them at once.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	ca := newFake(t)
	hold := make(chan struct{}) // never closed: CentralAuth does not answer
	ca.InjectFault(centralauthtest.Fault{Block: hold, Times: 1000})
	var lines []string
	for i := range 20 {
		lines = append(lines, ca.SignIn("u"+strconv.Itoa(i)).AccessToken)
	}
	c := startProcess(t, fakeEnv(ca), strings.NewReader(""), "-json", "-c", "2", writeFile(t, lines...))
	testutil.WaitFor(t, 30*time.Second, "two requests in flight", func() bool { return len(ca.Calls()) == 2 })
	c.signal(t, os.Interrupt)
	testutil.WaitFor(t, 30*time.Second, "the notice of the first interrupt", func() bool {
		return strings.Contains(c.stderr.String(), "again")
	}, func() string { return "stderr: " + c.stderr.String() })
	c.signal(t, os.Interrupt)
	code := c.wait(t, "the command to end after a second SIGINT")

	objs, sum := parseJSON(t, c.stdout.String())
	countOutcomes(t, objs, sum)
	// The second signal also stops the reading, so how many of the 20
	// lines were read by then depends on scheduling; every line read
	// beyond the 2 in flight is not tried, and the resume point is the
	// first of them.
	if code != exitFailed || len(objs) != 2 || sum.Lines < 2 || sum.Lines > 20 || sum.NotTried != sum.Lines-2 || !sum.Interrupted {
		t.Fatalf("exit %d, %d line objects, summary %+v; want 1, the 2 in flight, every other line read not tried", code, len(objs), sum)
	}
	if sum.Lines > 2 && (sum.FirstNotTried == nil || sum.FirstNotTried.Line != 3) {
		t.Fatalf("first line not tried %+v, want line 3, the first after the 2 in flight", sum.FirstNotTried)
	}
	for _, o := range objs {
		if o.Outcome != "failed" || o.ErrorCode != "interrupted" {
			t.Fatalf("line %d in flight: %s %q, want failed \"interrupted\" (stopped by the second signal)", o.Line, o.Outcome, o.ErrorCode)
		}
	}
	if len(ca.Calls()) != 2 {
		t.Fatalf("%d requests, want the 2 in flight only", len(ca.Calls()))
	}
}
