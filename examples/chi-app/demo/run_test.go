package demo

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

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

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	lookup := env(map[string]string{envAddr: "127.0.0.1:0", envAddrB: "127.0.0.1:0"})
	go func() {
		done <- Run(ctx, lookup, pw, slog.New(slog.NewTextHandler(t.Output(), nil)))
		pw.Close()
	}()

	urls, _ := readBanner(t, pr, io.Discard)
	for _, name := range []string{"A", "B"} {
		resp, err := http.Get(urls[name] + "/")
		if err != nil {
			t.Fatalf("App %s: %v", name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "<h1>App "+name+"</h1>") {
			t.Errorf("App %s at %s answered %d", name, urls[name], resp.StatusCode)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v, want a clean shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	for name, u := range urls {
		if _, err := http.Get(u + "/"); err == nil {
			t.Errorf("App %s still answers after shutdown", name)
		}
	}
}

func TestRunRefusesBadConfiguration(t *testing.T) {
	busy := listen(t)
	defer busy.Close()
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"malformed key", map[string]string{envHashKey: "xyz!"}, envHashKey + ": "},
		{"real CentralAuth without credentials", map[string]string{envBaseURL: "https://acme.centralauth.com"}, envClientSecret + ": "},
		{"App A's port is taken", map[string]string{envAddr: busy.Addr().String(), envAddrB: "127.0.0.1:0"}, envAddr + "="},
		{"App B's port is taken", map[string]string{envAddr: "127.0.0.1:0", envAddrB: busy.Addr().String()}, envAddrB + "="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Run(t.Context(), env(tt.env), io.Discard, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("run = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
