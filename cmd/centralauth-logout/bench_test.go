package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/testenv"
)

// BenchmarkCommand is the command's throughput target: 20,000 tokens
// through the built command with -c 32 against the fake CentralAuth,
// against a raw http.Client loop of 32 goroutines posting the same tokens
// (testdata/rawloop), each its own process, back to back in every
// iteration (command/raw; target ≥ 0.9×). The command's peak RSS is
// reported too (maxrss-KiB).
func BenchmarkCommand(b *testing.B) {
	const n, workers = 20_000, 32
	ca, err := centralauthtest.NewServer(testID, testSecret)
	if err != nil {
		b.Fatal(err)
	}
	defer ca.Close()
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = ca.SignIn("u" + strconv.Itoa(i)).AccessToken
	}
	path := filepath.Join(b.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte(strings.Join(tokens, "\n")+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	bin, err := binary()
	if err != nil {
		b.Fatal(err)
	}

	rawBin := filepath.Join(b.TempDir(), "rawloop")
	if out, err := exec.Command("go", "build", "-o", rawBin, "./testdata/rawloop").CombinedOutput(); err != nil {
		b.Fatalf("building the raw loop: %v: %s", err, out)
	}
	var env []string
	for k, v := range fakeEnv(ca) {
		env = append(env, k+"="+v)
	}
	// Each iteration runs both, back to back, so that the ratio compares
	// the two under the same load of this small, noisy machine.
	for b.Loop() {
		start := time.Now()
		if out, _ := timed(b, env, rawBin, path); !strings.Contains(out, "20000 ended") {
			b.Fatalf("raw loop: %s", out)
		}
		rawRate := n / time.Since(start).Seconds()
		start = time.Now()
		out, rss := timed(b, env, bin, "-c", strconv.Itoa(workers), path)
		if !strings.Contains(out, "20000 ended") {
			b.Fatalf("%s", out)
		}
		cmdRate := n / time.Since(start).Seconds()
		b.ReportMetric(rawRate, "raw-tokens/s")
		b.ReportMetric(cmdRate, "command-tokens/s")
		b.ReportMetric(cmdRate/rawRate, "command/raw")
		b.ReportMetric(rss, "maxrss-KiB")
	}
}

// BenchmarkCommandMemory reports the command's peak RSS for 20,000 and for
// 1,000,000 input lines, with -dry-run: it must not grow with the input.
func BenchmarkCommandMemory(b *testing.B) {
	bin, err := binary()
	if err != nil {
		b.Fatal(err)
	}
	for _, lines := range []int{20_000, 1_000_000} {
		b.Run("lines="+strconv.Itoa(lines), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "tokens")
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			row := "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..iv." + strings.Repeat("c", 200) + ".tag"
			for i := range lines {
				_, _ = f.WriteString(row + strconv.Itoa(i) + "\n")
			}
			_ = f.Close()
			for b.Loop() {
				out, rss := timed(b, []string{envClientID + "=x", envSecret + "=y"}, bin, "-dry-run", path)
				if !strings.Contains(out, "dry run: "+strconv.Itoa(lines)) {
					b.Fatalf("%s", out)
				}
				b.ReportMetric(rss, "maxrss-KiB")
			}
		})
	}
}

// timed runs the command under GNU time (/usr/bin/time -v), which a
// small process forks: the rusage of a child forked straight from this
// test process would count this process's memory too. It returns the
// command's output and its peak RSS in KiB.
func timed(b *testing.B, env []string, bin string, args ...string) (string, float64) {
	b.Helper()
	gnuTime := testenv.Program(b, "/usr/bin/time", "time")
	cmd := exec.Command(gnuTime, append([]string{"-v", bin}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("%v: %s", err, out)
	}
	_, after, ok := strings.Cut(string(out), "Maximum resident set size (kbytes): ")
	if !ok {
		b.Fatalf("no peak RSS in the output of time -v: %s", out)
	}
	kib, err := strconv.ParseFloat(strings.Fields(after)[0], 64)
	if err != nil {
		b.Fatal(err)
	}
	return string(out), kib
}
