package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/centralauth-go/logout/internal/testutil"
)

// TestMain lets a test run the real main in a child process (see
// TestInterruptStopsGracefully): the test binary re-executes itself with
// this variable set.
func TestMain(m *testing.M) {
	if os.Getenv("CHI_APP_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

var reAppURL = regexp.MustCompile(`App ([AB])  (http://\S+)`)

// readBanner reads the program's output up to "Press Ctrl-C" and returns
// the apps' URLs. The rest of the output is copied to rest in the
// background, until EOF closes drained.
func readBanner(t *testing.T, r io.Reader, rest io.Writer) (urls map[string]string, drained <-chan struct{}) {
	t.Helper()
	urls = map[string]string{}
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if m := reAppURL.FindStringSubmatch(line); m != nil {
			urls[m[1]] = m[2]
		}
		if strings.HasPrefix(line, "Press Ctrl-C") {
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = io.Copy(rest, br)
			}()
			return urls, done
		}
		if err != nil {
			t.Fatalf("the output ended before the banner did (URLs so far %v): %v", urls, err)
		}
	}
}

// TestInterruptStopsGracefully runs the real program, as `make run` does,
// and presses Ctrl-C (SIGINT).
func TestInterruptStopsGracefully(t *testing.T) {
	cmd := exec.CommandContext(testContext(t, 30*time.Second), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CHI_APP_TEST_RUN_MAIN=1", "ADDR=127.0.0.1:0", "ADDR_B=127.0.0.1:0")
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	var stderr testutil.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var rest testutil.Buffer
	urls, drained := readBanner(t, pr, &rest)
	if _, err := http.Get(urls["A"] + "/"); err != nil {
		t.Fatalf("App A: %v", err)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	pw.Close()
	<-drained
	if err != nil {
		t.Fatalf("after SIGINT the program exited with %v; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(rest.String(), "Stopped.") {
		t.Errorf("the program did not say it stopped; output after the banner:\n%s", rest.String())
	}
	for name, u := range urls {
		conn, err := net.Dial("tcp", strings.TrimPrefix(u, "http://"))
		if err == nil {
			conn.Close()
			t.Errorf("App %s still listens after the program exited", name)
		}
	}
}

// TestMainReportsConfigErrors runs the real program with a bad variable:
// it must stop with a message that names the variable, and a failure code.
func TestMainReportsConfigErrors(t *testing.T) {
	cmd := exec.CommandContext(testContext(t, 30*time.Second), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CHI_APP_TEST_RUN_MAIN=1", "SESSION_ENCRYPTION_KEY=abcd", "ADDR=nope")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit = %v, want status 1; output:\n%s", err, out)
	}
	for _, want := range []string{"chi-app: SESSION_ENCRYPTION_KEY: decodes to 2 bytes", "chi-app: ADDR: "} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
