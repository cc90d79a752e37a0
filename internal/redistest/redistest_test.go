package redistest

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestServerKeepsDataAcrossRestart(t *testing.T) {
	tests := []struct {
		name string
		stop func(*Server)
	}{
		{"graceful stop", (*Server).Stop},
		{"crash", (*Server).Kill},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Start(t)
			rdb := s.Client(t)
			ctx := t.Context()
			if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
			addr := s.Addr()

			tt.stop(s)
			if s.Running() {
				t.Fatal("server still running after stop")
			}
			if err := rdb.Ping(ctx).Err(); err == nil {
				t.Fatal("PING answered by a stopped server")
			}

			s.Restart()
			if s.Addr() != addr {
				t.Fatalf("restarted on %s, want %s", s.Addr(), addr)
			}
			if got, err := rdb.Get(ctx, "k").Result(); err != nil || got != "v" {
				t.Fatalf("after restart GET = %q, %v; want v", got, err)
			}
		})
	}
}

func TestServerConfiguration(t *testing.T) {
	s := Start(t)
	rdb := s.Client(t)
	ctx := t.Context()
	want := map[string]string{
		"bind":                 "127.0.0.1",
		"protected-mode":       "yes",
		"appendonly":           "yes",
		"appendfsync":          "always",
		"save":                 "",
		"dir":                  s.Dir(),
		"aof-use-rdb-preamble": "no",
	}
	for param, value := range want {
		t.Run(param, func(t *testing.T) {
			got, err := rdb.ConfigGet(ctx, param).Result()
			if err != nil {
				t.Fatal(err)
			}
			if got[param] != value {
				t.Fatalf("%s = %q, want %q", param, got[param], value)
			}
		})
	}
	if !strings.HasPrefix(s.URL(), "redis://127.0.0.1:") {
		t.Fatalf("URL %q is not a loopback redis:// URL", s.URL())
	}
	opt, err := redis.ParseURL(s.URL())
	if err != nil || opt.Addr != s.Addr() {
		t.Fatalf("ParseURL(URL()) = %v, %v; want Addr %s", opt, err, s.Addr())
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "appendonlydir")); err != nil {
		t.Fatalf("no append-only files: %v", err)
	}
}

func TestStopIsIdempotent(t *testing.T) {
	s := Start(t)
	s.Stop()
	s.Stop()
	s.Kill()
	if s.Running() {
		t.Fatal("running after Stop")
	}
}

// TestLaunchReportsPortClash checks what Start relies on to retry: a port
// taken by someone else is errPortInUse, not a generic failure.
func TestLaunchReportsPortClash(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := Start(t) // a working server, whose binary and directory we reuse
	s.Stop()
	s.port = l.Addr().(*net.TCPAddr).Port
	if err := s.launch(); !errors.Is(err, errPortInUse) {
		t.Fatalf("launch on a taken port: %v, want errPortInUse", err)
	}
	if s.Running() {
		t.Fatal("server left running after a failed launch")
	}
}

func TestClientClosedAtCleanup(t *testing.T) {
	s := Start(t)
	var rdb *redis.Client
	t.Run("inner", func(t *testing.T) {
		rdb = s.Client(t)
		if err := rdb.Ping(t.Context()).Err(); err != nil {
			t.Fatal(err)
		}
	})
	if err := rdb.Ping(context.Background()).Err(); !errors.Is(err, redis.ErrClosed) {
		t.Fatalf("PING after the subtest's cleanup: %v, want redis.ErrClosed", err)
	}
}

func TestWaitReadyGivesUpWhenTheProcessExits(t *testing.T) {
	exited := make(chan struct{})
	close(exited)
	start := time.Now()
	// Port 1 on loopback refuses connections.
	if err := waitReady("127.0.0.1:1", exited); err == nil {
		t.Fatal("waitReady succeeded without a server")
	}
	if d := time.Since(start); d > startTimeout/2 {
		t.Fatalf("waitReady took %v after the process had exited", d)
	}
}
