package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/testutil"
)

const (
	testID     = "ops-app"
	testSecret = "s3cret:with%odd@chars"
)

// binary builds the command once per test run.
var binary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "centralauth-logout-test")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "centralauth-logout")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", &exec.ExitError{Stderr: out}
	}
	return bin, nil
})

func newFake(t *testing.T) *centralauthtest.Server {
	t.Helper()
	ca, err := centralauthtest.NewServer(testID, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ca.Close)
	return ca
}

func fakeEnv(ca *centralauthtest.Server) map[string]string {
	return map[string]string{envClientID: testID, envSecret: testSecret, envBaseURL: ca.URL()}
}

// runProcess runs the built command with env and stdin, and returns its
// exit status, stdout and stderr.
func runProcess(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatalf("building the command: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

// assertNoToken fails if any token, or a long part of one, is in s.
func assertNoToken(t *testing.T, where, s string, tokens []string) {
	t.Helper()
	for _, tok := range tokens {
		for part := range strings.SplitSeq(tok, ".") {
			if len(part) >= 16 && strings.Contains(s, part) {
				t.Fatalf("%s holds (part of) a token", where)
			}
		}
	}
}

// TestEndToEnd runs the built command on a file of 1,000 tokens: some the
// fake never issued (invalid at CentralAuth), some meeting injected 503s,
// two a 429 with Retry-After.
func TestEndToEnd(t *testing.T) {
	ca := newFake(t)
	var file strings.Builder
	file.WriteString("\ufeff# sessions to end after the incident\r\n\r\n")
	var tokens []string
	lineOf := map[int]string{}
	lineNo := 2
	for i := range 1000 {
		tok := "eyJ.never.issued" + strconv.Itoa(i)
		if i%20 != 0 {
			tok = ca.SignIn("user" + strconv.Itoa(i)).AccessToken
		}
		tokens = append(tokens, tok)
		lineNo++
		lineOf[lineNo] = tok
		file.WriteString(tok + "\r\n")
	}
	path := filepath.Join(t.TempDir(), "tokens.txt")
	if err := os.WriteFile(path, []byte(file.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ca.InjectFault(centralauthtest.Fault{Status: 503, Times: 20})
	ca.InjectFault(centralauthtest.Fault{Status: 429, RetryAfter: "1", Times: 2})

	code, stdout, stderr := runProcess(t, fakeEnv(ca), "", "-json", "-c", "8", path)

	results, sum := parseJSON(t, stdout)
	counts := countOutcomes(t, results, sum)
	if len(results) != 1000 {
		t.Fatalf("%d line objects, want one per token (1,000)\nstderr: %s", len(results), stderr)
	}
	for _, r := range results {
		tok, ok := lineOf[r.Line]
		if !ok || r.File != path {
			t.Fatalf("result for %s:%d, which holds no token", r.File, r.Line)
		}
		issued := !strings.HasPrefix(tok, "eyJ.never.issued")
		switch r.Outcome {
		case outcomeEnded:
			if !issued || ca.Active(tok) {
				t.Fatalf("line %d: ended, but issued %v, active %v", r.Line, issued, ca.Active(tok))
			}
		case outcomeInvalid:
			if issued || r.ErrorCode != "tokenInvalid" {
				t.Fatalf("line %d: invalid with %q, issued %v", r.Line, r.ErrorCode, issued)
			}
		case outcomeFailed:
			if r.Attempts != maxAttempts {
				t.Fatalf("line %d: failed after %d attempts, want %d", r.Line, r.Attempts, maxAttempts)
			}
		default:
			t.Fatalf("line %d: %s", r.Line, r.Outcome)
		}
	}
	// A token that met three injected failures in a row fails; every
	// other one is ended (issued) or invalid (never issued).
	if counts[outcomeFailed] > 22 || counts[outcomeInvalid] > 50 || counts[outcomeEnded] > 950 {
		t.Fatalf("outcomes %v, want at most 50 invalid, 950 ended, and the failures the faults explain", counts)
	}
	wantCode := exitOK
	if counts[outcomeFailed] > 0 {
		wantCode = exitFailed
	}
	if code != wantCode {
		t.Fatalf("exit status %d with %v, want %d\n%s", code, counts, wantCode, stderr)
	}
	want := strconv.Itoa(counts[outcomeEnded]) + " ended, 0 already ended, " + strconv.Itoa(counts[outcomeInvalid]) +
		" invalid at CentralAuth, " + strconv.Itoa(counts[outcomeFailed]) + " failed, 0 skipped, 0 not tried"
	if !strings.Contains(stderr, "1000 lines: "+want) {
		t.Fatalf("summary %q, want %q", stderr, want)
	}

	// Each accepted token was accepted once.
	accepted := map[string]int{}
	var pauses []time.Time
	calls := ca.Calls()
	for _, c := range calls {
		if c.Status == 200 {
			accepted[c.SessionID]++
		}
		if c.Status == 429 {
			pauses = append(pauses, c.At)
		}
	}
	for _, n := range accepted {
		if n != 1 {
			t.Fatalf("a token was accepted %d times", n)
		}
	}
	if len(accepted) != counts[outcomeEnded] || len(pauses) != 2 {
		t.Fatalf("%d tokens accepted for %d ended; %d 429s", len(accepted), counts[outcomeEnded], len(pauses))
	}
	// That the 429 pauses every worker is TestPauseHoldsEveryWorker's to
	// prove: here the workers' timing is the machine's.
	assertNoToken(t, "stdout", stdout, tokens)
	assertNoToken(t, "stderr", stderr, tokens)
	t.Logf("exit %d; summary:\n%s", code, stderr)
}

func TestTokenLines(t *testing.T) {
	long := strings.Repeat("a", maxLineBytes+1)
	tests := []struct {
		name  string
		input string
		want  []string // "line:token" or "line:skip"
	}{
		{"one per line", "a.b.c\nd.e.f\n", []string{"1:a.b.c", "2:d.e.f"}},
		{"no final newline", "a.b.c", []string{"1:a.b.c"}},
		{"CRLF", "a.b.c\r\nd.e.f\r\n", []string{"1:a.b.c", "2:d.e.f"}},
		{"byte order mark", "\ufeffa.b.c\n", []string{"1:a.b.c"}},
		{"blank and comment lines", "\n  \n# note\n\ta.b.c  \n#\n", []string{"4:a.b.c"}},
		{"a line over the bound is skipped, the next one read", long + "\nd.e.f\n", []string{"1:skip", "2:d.e.f"}},
		{"every character a token may hold", "azAZ09-_.+/=~\n", []string{"1:azAZ09-_.+/=~"}},
		{"a line of two words", "a.b c.d\n", []string{"1:skip"}},
		{"a byte over 127", "a.b\xc3\xa9\n", []string{"1:skip"}},
		{"a quoted token", `"a.b.c"` + "\n", []string{"1:skip"}},
		{"empty input", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for l := range tokenLines("f", 0, strings.NewReader(tt.input)) {
				v := l.token
				if l.token == "" {
					v = "skip"
					if strings.Contains(l.skip, "aaaa") {
						t.Fatal("the skip reason quotes the line")
					}
				}
				got = append(got, strconv.Itoa(l.no)+":"+v)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("lines %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConfigurationErrors(t *testing.T) {
	ca := newFake(t)
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte("a.b.c\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	without := func(name string) map[string]string {
		env := fakeEnv(ca)
		delete(env, name)
		return env
	}
	with := func(name, value string) map[string]string {
		env := fakeEnv(ca)
		env[name] = value
		return env
	}
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantText string
	}{
		{"no client ID", without(envClientID), []string{tokens}, envClientID},
		{"no client secret", without(envSecret), []string{tokens}, envSecret},
		{"a base URL that is not a URL", with(envBaseURL, "centralauth.com"), []string{tokens}, envBaseURL},
		{"a base URL with credentials", with(envBaseURL, "https://u:"+testSecret+"@x"), []string{tokens}, envBaseURL},
		{"no such file", fakeEnv(ca), []string{"/no/such/tokens"}, "/no/such/tokens"},
		{"zero workers", fakeEnv(ca), []string{"-c", "0", tokens}, "-c"},
		{"a negative rate", fakeEnv(ca), []string{"-rate", "-1", tokens}, "-rate"},
		{"a token flag", fakeEnv(ca), []string{"-token", "a.b.c"}, "-token"},
		{"outbox without a verb", fakeEnv(ca), []string{"outbox"}, "outbox stats"},
		{"outbox without Redis", fakeEnv(ca), []string{"outbox", "stats"}, envRedisURL},
		{"drain without a key", fakeEnv(ca), []string{"outbox", "drain", "-redis", "redis://127.0.0.1:1"}, envOutboxKey},
		{"drain with a short key", with(envOutboxKey, "c2hvcnQ="), []string{"outbox", "drain", "-redis", "redis://127.0.0.1:1"}, envOutboxKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), t.Context(), tt.args, strings.NewReader(""), &stdout, &stderr,
				func(k string) string { return tt.env[k] })
			msg := stderr.String()
			if code != exitUsage || !strings.Contains(msg, tt.wantText) {
				t.Fatalf("exit %d, stderr %q; want 2 naming %q", code, msg, tt.wantText)
			}
			if tt.name != "a token flag" && strings.Count(strings.TrimSpace(msg), "\n") != 0 {
				t.Fatalf("want a one-line error, got %q", msg)
			}
			if strings.Contains(msg, testSecret) {
				t.Fatal("the error shows the secret")
			}
			if n := len(ca.Calls()); n != 0 {
				t.Fatalf("%d requests sent despite the error", n)
			}
		})
	}
}

func TestDryRunSendsNothing(t *testing.T) {
	ca := newFake(t)
	s := ca.SignIn("ada")
	code, _, stderr := runProcess(t, fakeEnv(ca), s.AccessToken+"\nnot a token\n", "-dry-run")
	if code != exitFailed || !strings.Contains(stderr, "dry run: 2 lines: 1 tokens would be sent, 1 skipped") || !strings.Contains(stderr, "-:2: not a token") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if len(ca.Calls()) != 0 || !ca.Active(s.AccessToken) {
		t.Fatal("a dry run sent a request")
	}
}

// TestInterrupt: Ctrl-C stops taking new tokens, lets the requests in
// flight finish, and prints the summary of what was done.
func TestInterrupt(t *testing.T) {
	ca := newFake(t)
	var in strings.Builder
	for i := range 200 {
		in.WriteString(ca.SignIn("u"+strconv.Itoa(i)).AccessToken + "\n")
	}
	ca.InjectFault(centralauthtest.Fault{Delay: 300 * time.Millisecond, Times: 1000}) // slow, then answers
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", "2")
	for k, v := range fakeEnv(ca) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(in.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "the first requests", func() bool { return len(ca.Calls()) >= 2 })
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != exitFailed || time.Since(start) > 5*time.Second {
		t.Fatalf("after Ctrl-C: %v after %v, want exit 1 soon\n%s", err, time.Since(start), stderr.String())
	}
	msg := stderr.String()
	if !strings.Contains(msg, "ended") || !strings.Contains(msg, "interrupted:") {
		t.Fatalf("no summary after Ctrl-C:\n%s", msg)
	}
	ended := 0
	for _, c := range ca.Calls() {
		if c.Status == 200 {
			ended++
		}
	}
	if ended == 0 || ended > 10 {
		t.Fatalf("%d sessions ended: want the requests in flight to finish, and no new ones", ended)
	}
}

// TestRateCeiling: -rate spaces the requests out, across all workers.
func TestRateCeiling(t *testing.T) {
	ca := newFake(t)
	var in strings.Builder
	for i := range 10 {
		in.WriteString(ca.SignIn("u"+strconv.Itoa(i)).AccessToken + "\n")
	}
	code, _, stderr := runProcess(t, fakeEnv(ca), in.String(), "-c", "8", "-rate", "20")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	calls := ca.Calls()
	if len(calls) != 10 {
		t.Fatalf("%d calls, want 10", len(calls))
	}
	// 20 a second: the ten calls span at least nine intervals of 50 ms,
	// less a little for a ticker that fires late, then catches up.
	if span := calls[9].At.Sub(calls[0].At); span < 350*time.Millisecond {
		t.Fatalf("10 calls in %v with -rate 20", span)
	}
}
