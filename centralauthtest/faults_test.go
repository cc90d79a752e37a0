package centralauthtest

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFaultAnswers(t *testing.T) {
	tests := []struct {
		name       string
		fault      Fault
		wantStatus int
		wantBody   func(body string) bool
		wantHeader map[string]string
	}{
		{
			name:       "status with the default JSON error",
			fault:      Fault{Status: http.StatusServiceUnavailable},
			wantStatus: http.StatusServiceUnavailable,
			wantBody:   func(b string) bool { return strings.Contains(b, `"errorCode":"genericError"`) },
			wantHeader: map[string]string{"Content-Type": "application/json"},
		},
		{
			name:       "429 with Retry-After",
			fault:      Fault{Status: http.StatusTooManyRequests, RetryAfter: "7"},
			wantStatus: http.StatusTooManyRequests,
			wantBody:   func(b string) bool { return strings.Contains(b, `"errorCode":"tooManyRequests"`) },
			wantHeader: map[string]string{"Retry-After": "7"},
		},
		{
			name:       "401 uses noPermission",
			fault:      Fault{Status: http.StatusUnauthorized},
			wantStatus: http.StatusUnauthorized,
			wantBody:   func(b string) bool { return strings.Contains(b, `"errorCode":"noPermission"`) },
		},
		{
			name:       "raw text body",
			fault:      Fault{Status: http.StatusBadGateway, Body: "<html>bad gateway</html>"},
			wantStatus: http.StatusBadGateway,
			wantBody:   func(b string) bool { return b == "<html>bad gateway</html>" },
			wantHeader: map[string]string{"Content-Type": "text/plain; charset=utf-8"},
		},
		{
			name:       "JSON body",
			fault:      Fault{Status: http.StatusBadRequest, Body: `{"errorCode":"sessionExpired","message":"m"}`},
			wantStatus: http.StatusBadRequest,
			wantBody:   func(b string) bool { return b == `{"errorCode":"sessionExpired","message":"m"}` },
			wantHeader: map[string]string{"Content-Type": "application/json"},
		},
		{
			name:       "body without status is a 500",
			fault:      Fault{Body: "oops"},
			wantStatus: http.StatusInternalServerError,
			wantBody:   func(b string) bool { return b == "oops" },
		},
		{
			name:       "2xx status has an empty body",
			fault:      Fault{Status: http.StatusNoContent},
			wantStatus: http.StatusNoContent,
			wantBody:   func(b string) bool { return b == "" },
		},
		{
			name:       "oversized body",
			fault:      Fault{Status: http.StatusInternalServerError, OversizedBody: 1<<20 + 3},
			wantStatus: http.StatusInternalServerError,
			wantBody:   func(b string) bool { return len(b) == 1<<20+3 && strings.Trim(b, "x") == "" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ca := newFake(t)
			s := ca.SignIn("ada@example.com")
			ctx := testCtx(t)
			ca.InjectFault(tt.fault)

			resp := do(ctx, ca, logoutRequest(s.AccessToken))
			if resp.err != nil {
				t.Fatalf("request: %v", resp.err)
			}
			if resp.status != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.status, tt.wantStatus)
			}
			if !tt.wantBody(resp.body) {
				t.Errorf("unexpected body %.200q", resp.body)
			}
			for k, v := range tt.wantHeader {
				if got := resp.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if !ca.Active(s.AccessToken) {
				t.Error("the fault answer ended the session")
			}
			if got := ca.Calls()[0].Status; got != tt.wantStatus {
				t.Errorf("recorded status %d, want %d", got, tt.wantStatus)
			}

			// The fault was used up: the next request is processed normally.
			if resp := do(ctx, ca, logoutRequest(s.AccessToken)); resp.status != http.StatusOK {
				t.Errorf("next request: status %d, want 200", resp.status)
			}
		})
	}
}

func TestFaultQueue(t *testing.T) {
	tests := []struct {
		name   string
		inject []Fault
		clear  bool
		want   []int // statuses of successive logout requests
	}{
		{
			name:   "Times repeats a fault",
			inject: []Fault{{Status: http.StatusServiceUnavailable, Times: 3}},
			want:   []int{503, 503, 503, 200},
		},
		{
			name:   "faults apply in order",
			inject: []Fault{{Status: http.StatusInternalServerError, Times: 2}, {Status: http.StatusTooManyRequests}},
			want:   []int{500, 500, 429, 200},
		},
		{
			name:   "ClearFaults",
			inject: []Fault{{Status: http.StatusInternalServerError, Times: 5}},
			clear:  true,
			want:   []int{200},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ca := newFake(t)
			s := ca.SignIn("ada@example.com")
			for _, f := range tt.inject {
				ca.InjectFault(f)
			}
			if tt.clear {
				ca.ClearFaults()
			}
			var got []int
			for range tt.want {
				got = append(got, do(testCtx(t), ca, logoutRequest(s.AccessToken)).status)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("statuses = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFaultDropConnection(t *testing.T) {
	ca := newFake(t)
	s := ca.SignIn("ada@example.com")
	ca.InjectFault(Fault{DropConnection: true})

	resp := do(testCtx(t), ca, logoutRequest(s.AccessToken))
	if resp.err == nil {
		t.Fatalf("got status %d, want a transport error", resp.status)
	}
	if got := ca.Calls(); len(got) != 1 || got[0].Status != 0 {
		t.Errorf("calls = %+v, want one with Status 0", got)
	}
	if !ca.Active(s.AccessToken) {
		t.Error("a dropped request ended the session")
	}
}

func TestFaultWaits(t *testing.T) {
	t.Run("Delay then normal processing", func(t *testing.T) {
		ca := newFake(t)
		s := ca.SignIn("ada@example.com")
		const delay = 30 * time.Millisecond
		ca.InjectFault(Fault{Delay: delay})

		start := time.Now()
		resp := do(testCtx(t), ca, logoutRequest(s.AccessToken))
		if elapsed := time.Since(start); elapsed < delay {
			t.Errorf("answered after %v, want at least %v", elapsed, delay)
		}
		if resp.status != http.StatusOK || ca.Active(s.AccessToken) {
			t.Errorf("status %d, active %v: want the logout processed after the delay", resp.status, ca.Active(s.AccessToken))
		}
	})

	t.Run("Block then normal processing", func(t *testing.T) {
		ca := newFake(t)
		s := ca.SignIn("ada@example.com")
		release := make(chan struct{})
		ca.InjectFault(Fault{Block: release})
		ctx := testCtx(t)

		done := make(chan response, 1)
		go func() { done <- do(ctx, ca, logoutRequest(s.AccessToken)) }()
		if err := ca.WaitCalls(ctx, 1); err != nil {
			t.Fatal(err)
		}
		select {
		case resp := <-done:
			t.Fatalf("answered %d while blocked", resp.status)
		default:
		}
		if !ca.Active(s.AccessToken) {
			t.Fatal("the session ended while the request was blocked")
		}
		close(release)
		if resp := <-done; resp.status != http.StatusOK || ca.Active(s.AccessToken) {
			t.Errorf("status %d, active %v: want the logout processed after the release", resp.status, ca.Active(s.AccessToken))
		}
	})

	// A client that gives up must free the handler, or a test suite with
	// timeouts would pile up goroutines until Close.
	for _, tt := range []struct {
		name  string
		fault Fault
	}{
		{"Delay ends when the client goes away", Fault{Delay: time.Hour}},
		{"Block ends when the client goes away", Fault{Block: make(chan struct{})}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ca := newFake(t)
			s := ca.SignIn("ada@example.com")
			ca.InjectFault(tt.fault)
			ctx := testCtx(t)

			reqCtx, cancel := context.WithCancel(ctx)
			done := make(chan response, 1)
			go func() { done <- do(reqCtx, ca, logoutRequest(s.AccessToken)) }()
			if err := ca.WaitCalls(ctx, 1); err != nil {
				t.Fatal(err)
			}
			cancel()
			if resp := <-done; !errors.Is(resp.err, context.Canceled) {
				t.Errorf("client error = %v, want context.Canceled", resp.err)
			}
			if err := ca.waitIdle(ctx); err != nil {
				t.Fatalf("the handler kept running: %v", err)
			}
			if got := ca.Calls()[0].Status; got != 0 {
				t.Errorf("recorded status %d, want 0 (no answer)", got)
			}
			if !ca.Active(s.AccessToken) {
				t.Error("an abandoned request ended the session")
			}
		})
	}
}

func TestClose(t *testing.T) {
	ca, err := NewServer(testID, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	ca.InjectFault(Fault{Block: make(chan struct{})}) // never released
	done := make(chan response, 1)
	go func() { done <- do(ctx, ca, logoutRequest("never-issued")) }()
	if err := ca.WaitCalls(ctx, 1); err != nil {
		t.Fatal(err)
	}

	closed := make(chan struct{})
	go func() {
		ca.Close()
		ca.Close() // a second Close is harmless
		close(closed)
	}()
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("Close did not return while a request was blocked")
	}
	if resp := <-done; resp.err == nil {
		t.Errorf("blocked request got status %d after Close, want a transport error", resp.status)
	}
	if resp := do(ctx, ca, logoutRequest("never-issued")); resp.err == nil {
		t.Errorf("request after Close got status %d, want a transport error", resp.status)
	}
}

func TestNewServer(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		secret  string
		opts    []Option
		wantErr bool
	}{
		{name: "defaults", id: "id", secret: "secret"},
		{name: "explicit loopback address", id: "id", secret: "secret", opts: []Option{WithAddr("127.0.0.1:0")}},
		{name: "bad address", id: "id", secret: "secret", opts: []Option{WithAddr("256.0.0.1:0")}, wantErr: true},
		{name: "an empty address", id: "id", secret: "secret", opts: []Option{WithAddr("")}, wantErr: true},
		{name: "app domains", id: "id", secret: "secret", opts: []Option{WithAppDomains("http://127.0.0.1:8080", "https://app.example.test/")}},
		{name: "an app domain that is not an origin", id: "id", secret: "secret", opts: []Option{WithAppDomains("app.example.test")}, wantErr: true},
		{name: "an app domain with a path", id: "id", secret: "secret", opts: []Option{WithAppDomains("https://app.example.test/app")}, wantErr: true},
		{name: "a nil option", id: "id", secret: "secret", opts: []Option{nil}, wantErr: true},
		{name: "no client ID", secret: "secret", wantErr: true},
		{name: "no client secret", id: "id", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, err := NewServer(tt.id, tt.secret, tt.opts...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewServer error = %v, want error: %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer ca.Close()
			if !strings.HasPrefix(ca.URL(), "http://127.0.0.1:") {
				t.Errorf("URL = %q, want a loopback http URL", ca.URL())
			}
			resp := do(testCtx(t), ca, request{auth: basic(tt.id, tt.secret), contentType: "text/plain", body: "never-issued"})
			if resp.status != http.StatusBadRequest {
				t.Errorf("logout of an unknown token: status %d, want 400", resp.status)
			}
		})
	}
}
