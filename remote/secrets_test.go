package remote

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/retry"
)

// TestErrorsNeverLeakSecrets runs every failure mode against a server that
// echoes what it can, and checks that neither the token, the client secret
// nor the encoded credentials reach the error.
func TestErrorsNeverLeakSecrets(t *testing.T) {
	jsonEcho := func(token string) string {
		b, _ := json.Marshal(map[string]string{ // escapes '<', '>' and '"' in the secret
			"errorCode": "secret " + testSecret,
			"message":   "token " + token + " secret " + testSecret + " auth Basic " + testCreds(),
		})
		return string(b)
	}
	tests := []struct {
		name string
		// setup arranges the failure and returns the base URL to use.
		setup func(t *testing.T, fake *centralauthtest.Server, token string) string
		// cancelOnSleep cancels the context at the first backoff.
		cancelOnSleep bool
		timeout       time.Duration
		wantRedacted  bool // the server echoed, so "[redacted]" must show
	}{
		{
			name: "JSON error echoing everything",
			setup: func(t *testing.T, fake *centralauthtest.Server, token string) string {
				fake.InjectFault(centralauthtest.Fault{Status: 400, Body: jsonEcho(token)})
				return fake.URL()
			},
			wantRedacted: true,
		},
		{
			name: "plain body echoing everything",
			setup: func(t *testing.T, fake *centralauthtest.Server, token string) string {
				fake.InjectFault(centralauthtest.Fault{Status: 400, Body: "token=" + token + "\nsecret=" + testSecret + "\nAuthorization: Basic " + testCreds()})
				return fake.URL()
			},
			wantRedacted: true,
		},
		{
			name: "token past the 512-byte cut",
			setup: func(t *testing.T, fake *centralauthtest.Server, token string) string {
				fake.InjectFault(centralauthtest.Fault{Status: 400, Body: strings.Repeat("a", 500) + token})
				return fake.URL()
			},
			wantRedacted: true,
		},
		{
			name: "wrong credentials",
			setup: func(t *testing.T, fake *centralauthtest.Server, token string) string {
				fake.InjectFault(centralauthtest.Fault{Status: 401})
				return fake.URL()
			},
		},
		{
			name: "5xx echo after retries",
			setup: func(t *testing.T, fake *centralauthtest.Server, token string) string {
				fake.InjectFault(centralauthtest.Fault{Status: 503, Body: jsonEcho(token), Times: 3})
				return fake.URL()
			},
			wantRedacted: true,
		},
		{
			name: "cancelled during the backoff",
			setup: func(t *testing.T, fake *centralauthtest.Server, token string) string {
				fake.InjectFault(centralauthtest.Fault{Status: 503, Body: jsonEcho(token), Times: 3})
				return fake.URL()
			},
			cancelOnSleep: true,
			wantRedacted:  true,
		},
		{
			name: "dropped connection",
			setup: func(t *testing.T, fake *centralauthtest.Server, token string) string {
				fake.InjectFault(centralauthtest.Fault{DropConnection: true, Times: 3})
				return fake.URL()
			},
		},
		{
			name: "deadline",
			setup: func(t *testing.T, fake *centralauthtest.Server, token string) string {
				release := make(chan struct{})
				t.Cleanup(func() { close(release) })
				fake.InjectFault(centralauthtest.Fault{Block: release})
				return fake.URL()
			},
			timeout: 50 * time.Millisecond,
		},
		{
			name: "connection refused",
			setup: func(t *testing.T, fake *centralauthtest.Server, token string) string {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr := l.Addr().String()
				l.Close()
				return "http://" + addr
			},
		},
		{
			name: "malformed response quoting the request",
			setup: func(t *testing.T, fake *centralauthtest.Server, token string) string {
				return echoingServer(t)
			},
			wantRedacted: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newFake(t)
			token := fake.SignIn("ada@example.com").AccessToken
			base := tt.setup(t, fake, token)

			ctx, cancel := context.WithCancel(testCtx(t))
			defer cancel()
			if tt.timeout > 0 {
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			var clk retry.Clock = newClock()
			if tt.cancelOnSleep {
				clk = cancellingClock{newClock(), cancel}
			}
			c, err := NewClient(testID, testSecret, WithBaseURL(base))
			if err != nil {
				t.Fatal(err)
			}
			withClock(c, clk)

			err = c.Logout(ctx, token)
			if err == nil {
				t.Fatal("Logout = nil, want an error")
			}
			msg := err.Error()
			if l := leaks(msg, token); len(l) > 0 {
				t.Errorf("error shows the %v: %q", l, msg)
			}
			if e, ok := errors.AsType[*Error](err); ok {
				if l := leaks(e.Code+" "+e.Message, token); len(l) > 0 {
					t.Errorf("Error fields show the %v: %+v", l, e)
				}
			}
			if got := strings.Contains(msg, "[redacted]"); got != tt.wantRedacted {
				t.Errorf("error %q: redacted %v, want %v", msg, got, tt.wantRedacted)
			}
		})
	}
}

// echoingServer answers every request with its body (the token) in place
// of a status line, which net/http quotes in its "malformed HTTP response"
// error.
func echoingServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				body, _ := io.ReadAll(req.Body)
				_, _ = conn.Write(append(body, "\r\n\r\n"...))
			}()
		}
	}()
	return "http://" + l.Addr().String()
}
