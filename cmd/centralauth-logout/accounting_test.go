package main

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/remote"
)

// runInProcess runs the command's run function with env, stdin and args,
// and returns its exit status, stdout and stderr.
func runInProcess(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), t.Context(), args, strings.NewReader(stdin), &stdout, &stderr, func(k string) string { return env[k] })
	return code, stdout.String(), stderr.String()
}

// writeFile writes lines to a new file and returns its path.
func writeFile(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens.txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// injectMix queues n faults in a random order, seeded: 30% 429 with
// Retry-After, 10% 503, the rest answered normally.
func injectMix(ca *centralauthtest.Server, n int) {
	rng := rand.New(rand.NewPCG(18, 18))
	for range n {
		switch p := rng.IntN(100); {
		case p < 30:
			ca.InjectFault(centralauthtest.Fault{Status: 429, RetryAfter: "1"})
		case p < 40:
			ca.InjectFault(centralauthtest.Fault{Status: 503})
		default:
			ca.InjectFault(centralauthtest.Fault{}) // no fault: a normal answer
		}
	}
}

// TestInterruptAccountsForEveryLine is the run: 3,000 tokens and 20
// malformed lines, 30% 429s and 10% 503s, SIGINT mid-run. Every line is
// in -json exactly once or counted as not tried, and a token not tried was
// never sent.
func TestInterruptAccountsForEveryLine(t *testing.T) {
	ca := newFake(t)
	malformed := []string{"not a token", `"quoted.token"`, "two words", strings.Repeat("x", maxLineBytes+1)}
	content := []string{"# after the incident", ""}
	tokenAt := map[int]string{}      // line number -> token
	sessionOf := map[string]string{} // token -> its session's ID, as the fake's calls name it
	badAt := map[int]bool{}
	var tokens []string
	for i := range 3000 {
		if i%150 == 75 {
			content = append(content, malformed[len(badAt)%len(malformed)])
			badAt[len(content)] = true
		}
		s := ca.SignIn("u" + strconv.Itoa(i))
		tok := s.AccessToken
		sessionOf[tok] = s.ID
		tokens = append(tokens, tok)
		content = append(content, tok)
		tokenAt[len(content)] = tok
	}
	if len(badAt) != 20 {
		t.Fatalf("%d malformed lines, want 20", len(badAt))
	}
	path := writeFile(t, content...)
	injectMix(ca, 20_000)

	c := startProcess(t, fakeEnv(ca), strings.NewReader(""), "-json", "-c", "16", path)
	testutil.WaitFor(t, time.Minute, "150 requests before the interrupt", func() bool { return len(ca.Calls()) >= 150 })
	c.signal(t, os.Interrupt)
	code := c.wait(t, "the command to end after SIGINT")
	stdout, stderr := c.stdout.String(), c.stderr.String()
	assertNoToken(t, "stdout", stdout, tokens)
	assertNoToken(t, "stderr", stderr, tokens)

	lines, sum := parseJSON(t, stdout)
	n := countOutcomes(t, lines, sum)
	if sum.Lines != 3020 || !sum.Interrupted || sum.NotTried == 0 {
		t.Fatalf("summary object %+v, want 3,020 lines, interrupted, some not tried", sum)
	}
	seen := map[int]bool{}
	for _, l := range lines {
		switch {
		case l.File != path:
			t.Fatalf("an object for file %q", l.File)
		case seen[l.Line]:
			t.Fatalf("line %d is in -json twice", l.Line)
		case badAt[l.Line] != (l.Outcome == "skipped"):
			t.Fatalf("line %d (malformed: %v) is %s", l.Line, badAt[l.Line], l.Outcome)
		case !badAt[l.Line] && tokenAt[l.Line] == "":
			t.Fatalf("an object for line %d, which is neither a token nor malformed", l.Line)
		case l.Outcome == "skipped" && (l.Reason == "" || strings.Contains(l.Reason, "xxxx")):
			t.Fatalf("line %d: skip reason %q", l.Line, l.Reason)
		}
		seen[l.Line] = true
	}
	// What is not in -json was never sent, and is the not-tried count.
	sent := map[string]bool{}
	for _, call := range ca.Calls() {
		sent[call.SessionID] = true
	}
	var notTried []int
	for no, tok := range tokenAt {
		if !seen[no] {
			notTried = append(notTried, no)
			if sent[sessionOf[tok]] || !ca.Active(tok) {
				t.Fatalf("line %d is counted as not tried, but was sent", no)
			}
		}
	}
	for no := range badAt {
		if !seen[no] {
			t.Fatalf("malformed line %d is not in -json", no)
		}
	}
	first := slices.Min(notTried)
	if len(notTried) != sum.NotTried || sum.FirstNotTried == nil || sum.FirstNotTried.Line != first || sum.FirstNotTried.File != path {
		t.Fatalf("%d lines not in -json, the first %d; the summary object says %d, first %+v", len(notTried), first, sum.NotTried, sum.FirstNotTried)
	}
	if code != exitFailed {
		t.Fatalf("exit status %d after an interrupt, want 1", code)
	}
	wantText := []string{
		strconv.Itoa(sum.Lines) + " lines: " + strconv.Itoa(n["ended"]) + " ended, ",
		strconv.Itoa(n["failed"]) + " failed, 20 skipped, " + strconv.Itoa(sum.NotTried) + " not tried",
		"interrupted", "tail -n +" + strconv.Itoa(first) + " " + path,
	}
	for _, w := range wantText {
		if !strings.Contains(stderr, w) {
			t.Fatalf("the summary lacks %q:\n%s", w, stderr)
		}
	}
	t.Logf("%d requests; summary:\n%s", len(ca.Calls()), stderr)
}

// TestExitStatus: 0 only when every token line was ended, already ended or
// invalid at CentralAuth; 1 when any failed or any line was skipped; 2 for
// a FILE that cannot be read, and then nothing is sent.
func TestExitStatus(t *testing.T) {
	long := strings.Repeat("a", maxLineBytes+1)
	tests := []struct {
		name   string
		lines  []string // "issued" is replaced with a token the fake issued
		args   []string
		faults []centralauthtest.Fault
		file   func(t *testing.T) string // instead of lines
		want   int
	}{
		{name: "every token ended", lines: []string{"issued", "issued"}, want: exitOK},
		{name: "ended and invalid at CentralAuth", lines: []string{"issued", "eyJ.never.issued"}, want: exitOK},
		{name: "a line over 16 KiB", lines: []string{"issued", long, "issued"}, want: exitFailed},
		{name: "a malformed line", lines: []string{"issued", "not a token"}, want: exitFailed},
		{name: "a token that failed", lines: []string{"issued"}, faults: []centralauthtest.Fault{{Status: 500, Times: maxAttempts}}, want: exitFailed},
		{name: "a dry run with a malformed line", lines: []string{"issued", "not a token"}, args: []string{"-dry-run"}, want: exitFailed},
		{name: "a directory as FILE", file: func(t *testing.T) string { return t.TempDir() }, want: exitUsage},
		{name: "a FILE that cannot be opened", file: func(t *testing.T) string {
			// A socket: open(2) refuses it even to root.
			path := filepath.Join(t.TempDir(), "sock")
			l, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = l.Close() })
			return path
		}, want: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca := newFake(t)
			for _, f := range tt.faults {
				ca.InjectFault(f)
			}
			var path string
			if tt.file != nil {
				path = tt.file(t)
			} else {
				lines := slices.Clone(tt.lines)
				for i, l := range lines {
					if l == "issued" {
						lines[i] = ca.SignIn("u" + strconv.Itoa(i)).AccessToken
					}
				}
				path = writeFile(t, lines...)
			}
			code, _, stderr := runInProcess(t, fakeEnv(ca), "", append(slices.Clone(tt.args), path)...)
			if code != tt.want {
				t.Fatalf("exit status %d, want %d\n%s", code, tt.want, stderr)
			}
			if code == exitUsage {
				if n := len(ca.Calls()); n != 0 {
					t.Fatalf("%d requests sent for a usage error", n)
				}
				if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, path) {
					t.Fatalf("want a one-line error naming the file, got %q", stderr)
				}
			}
		})
	}
}

// TestWrongCredentialsStopTheRun: the first noPermission answer stops every
// worker; the run exits 2 naming the likely cause, after at most one more
// request per worker.
func TestWrongCredentialsStopTheRun(t *testing.T) {
	ca := newFake(t)
	var lines []string
	for i := range 1000 {
		lines = append(lines, ca.SignIn("u"+strconv.Itoa(i)).AccessToken)
	}
	path := writeFile(t, lines...)
	env := fakeEnv(ca)
	env[envSecret] = "not-the-secret"
	const workers = 8
	code, stdout, stderr := runProcess(t, env, "", "-json", "-c", strconv.Itoa(workers), path)

	calls := ca.Calls()
	// Before the first answer, each worker has at most one request out;
	// after it, at most one more each.
	if len(calls) > 2*workers {
		t.Fatalf("%d requests sent with wrong credentials, want at most %d", len(calls), 2*workers)
	}
	msg := strings.TrimSpace(stderr)
	last := msg[strings.LastIndex(msg, "\n")+1:]
	if code != exitUsage || !strings.Contains(last, "noPermission") || !strings.Contains(last, envSecret) {
		t.Fatalf("exit status %d, last line %q; want 2 and a line naming noPermission and %s", code, last, envSecret)
	}
	if strings.Contains(stderr, "not-the-secret") {
		t.Fatal("the output shows the secret")
	}
	objs, sum := parseJSON(t, stdout)
	n := countOutcomes(t, objs, sum)
	if sum.Lines != 1000 || n["failed"] != len(calls) || sum.NotTried != 1000-len(calls) {
		t.Fatalf("summary %+v for %d requests", sum, len(calls))
	}
	for _, o := range objs {
		if o.ErrorCode != "noPermission" {
			t.Fatalf("line %d: %s %q, want failed noPermission", o.Line, o.Outcome, o.ErrorCode)
		}
	}
	t.Logf("%d requests; stderr:\n%s", len(calls), stderr)
}

// TestInvalidIsNotAlreadyEnded: a session CentralAuth says has ended is
// "already ended"; a token it does not accept is "invalid at CentralAuth";
// a 5xx is neither, whatever its body says.
func TestInvalidIsNotAlreadyEnded(t *testing.T) {
	ca := newFake(t)
	body := func(code string) string { return `{"errorCode":"` + code + `","message":"m"}` }
	ca.InjectFault(centralauthtest.Fault{Status: 400, Body: body("sessionExpired")})
	ca.InjectFault(centralauthtest.Fault{Status: 400, Body: body("sessionInactive")})
	ca.InjectFault(centralauthtest.Fault{Status: 404, Body: body("sessionMissing")})
	ca.InjectFault(centralauthtest.Fault{Status: 400, Body: body("sessionInvalid")})
	ca.InjectFault(centralauthtest.Fault{Status: 503, Body: body("sessionExpired"), Times: maxAttempts})
	want := []string{"alreadyEnded", "alreadyEnded", "alreadyEnded", "invalid", "failed", "ended", "invalid"}
	var lines []string
	for i := range want {
		tok := ca.SignIn("u" + strconv.Itoa(i)).AccessToken
		if i == len(want)-1 {
			tok = "eyJ.never.issued" // answered tokenInvalid
		}
		lines = append(lines, tok)
	}
	// One worker: each fault meets the line it is meant for.
	code, stdout, stderr := runProcess(t, fakeEnv(ca), strings.Join(lines, "\n"), "-json", "-c", "1")
	objs, sum := parseJSON(t, stdout)
	countOutcomes(t, objs, sum)
	got := make([]string, len(want))
	for _, o := range objs {
		got[o.Line-1] = o.Outcome
	}
	if !slices.Equal(got, want) {
		t.Fatalf("outcomes %q, want %q", got, want)
	}
	if code != exitFailed || !strings.Contains(stderr, "1 ended, 3 already ended, 2 invalid at CentralAuth, 1 failed") {
		t.Fatalf("exit %d, summary:\n%s", code, stderr)
	}
}

// TestClassify is the mapping from CentralAuth's answers to outcomes, and
// which answers stop the run.
func TestClassify(t *testing.T) {
	answer := func(status int, code string) error { return &remote.Error{StatusCode: status, Code: code} }
	tests := []struct {
		name        string
		err         error
		wantOutcome string
		wantRefused bool
	}{
		{"success", nil, outcomeEnded, false},
		{"sessionMissing", answer(404, "sessionMissing"), outcomeAlreadyEnded, false},
		{"sessionExpired", answer(400, "sessionExpired"), outcomeAlreadyEnded, false},
		{"sessionInactive", answer(400, "sessionInactive"), outcomeAlreadyEnded, false},
		{"sessionInvalid", answer(400, "sessionInvalid"), outcomeInvalid, false},
		{"sessionNotVerified", answer(400, "sessionNotVerified"), outcomeInvalid, false},
		{"tokenInvalid", answer(400, "tokenInvalid"), outcomeInvalid, false},
		{"tokenMissing", answer(400, "tokenMissing"), outcomeInvalid, false},
		{"a 5xx that says the session expired", answer(503, "sessionExpired"), outcomeFailed, false},
		{"a 429 that says the token is invalid", answer(429, "tokenInvalid"), outcomeFailed, false},
		{"a 3xx", answer(302, "sessionExpired"), outcomeFailed, false},
		{"missingFields", answer(400, "missingFields"), outcomeFailed, false},
		{"a 4xx without errorCode", answer(400, ""), outcomeFailed, false},
		{"noPermission", answer(401, "noPermission"), outcomeFailed, true},
		{"noPermission as 403", answer(403, "noPermission"), outcomeFailed, true},
		{"domainInvalid", answer(400, "domainInvalid"), outcomeFailed, true},
		{"noPermission in a 5xx", answer(502, "noPermission"), outcomeFailed, false},
		{"a second interrupt", errStoppedNow, outcomeFailed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outcome, _, _ := classify(tt.err)
			_, refusedApp := refused(tt.err)
			if outcome != tt.wantOutcome || refusedApp != tt.wantRefused {
				t.Fatalf("outcome %q, refused %v; want %q, %v", outcome, refusedApp, tt.wantOutcome, tt.wantRefused)
			}
		})
	}
}

// TestReadSendsWhatItHasBeforeBlocking: lines read from a file, and each
// line of a pipe, reach the run before the next read of a pipe, which may
// block for as long as the operator types nothing.
func TestReadSendsWhatItHasBeforeBlocking(t *testing.T) {
	pr, pw := io.Pipe()
	t.Cleanup(func() { _ = pw.Close() })
	quit := make(chan struct{})
	t.Cleanup(func() { close(quit) })
	batches := read([]input{
		{name: "file", r: strings.NewReader("a.b.c\nd.e.f\nnot a token\n"), regular: true},
		{name: "-", r: pr},
	}, quit)
	var mu sync.Mutex
	var got []string
	go func() {
		for b := range batches {
			mu.Lock()
			for _, l := range b {
				got = append(got, l.file+":"+strconv.Itoa(l.no))
			}
			mu.Unlock()
		}
	}()
	received := func(n int) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got) == n
		}
	}
	testutil.WaitFor(t, 30*time.Second, "the file's lines and the pipe's mark", received(5))
	if _, err := pw.Write([]byte("g.h.i\n")); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, "the pipe's first line", received(6))
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"file:0", "file:1", "file:2", "file:3", "-:0", "-:1"}; !slices.Equal(got, want) {
		t.Fatalf("lines %q, want %q", got, want)
	}
}
