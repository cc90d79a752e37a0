package centralauthtest

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/centralauth-go/logout/internal/testutil"
)

func TestCallRecording(t *testing.T) {
	clk := testutil.NewClock(fixedStart)
	ca := newFake(t, withNow(clk.Now))
	ctx := testCtx(t)
	sess := ca.SignIn("ada@example.com")

	do(ctx, ca, logoutRequest("never-issued"))
	do(ctx, ca, request{method: http.MethodGet, path: "/elsewhere"})
	do(ctx, ca, logoutRequest(sess.IDToken))
	ui := userInfoRequest("https://app.example.test", sess.AccessToken)
	ui.headers = map[string]string{"User-Agent": "Mozilla/5.0 test", "auth-ip": "203.0.113.7"}
	do(ctx, ca, ui)

	want := []Call{
		{Method: http.MethodPost, Path: logoutPath, ContentType: "text/plain", Status: http.StatusBadRequest, At: fixedStart},
		{Method: http.MethodGet, Path: "/elsewhere", Status: http.StatusNotFound, Violation: "no such endpoint (genericError)", At: fixedStart},
		{Method: http.MethodPost, Path: logoutPath, ContentType: "text/plain", Status: http.StatusOK, SessionID: sess.ID, Token: "id", At: fixedStart},
		{Method: http.MethodPost, Path: userInfoPath, ContentType: "text/plain", Status: http.StatusUnauthorized, SessionID: sess.ID, Token: "access",
			UserAgent: "Mozilla/5.0 test", AuthIP: "203.0.113.7", Domain: "https://app.example.test", At: fixedStart},
	}
	got := ca.Calls()
	if len(got) != len(want) {
		t.Fatalf("recorded %d calls, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		t.Run(want[i].Method+" "+want[i].Path, func(t *testing.T) {
			g, w := got[i], want[i]
			if w.UserAgent == "" {
				w.UserAgent = g.UserAgent // Go's default
			}
			if g != w {
				t.Errorf("call = %+v\nwant %+v", g, w)
			}
		})
	}
}

func TestWaitCalls(t *testing.T) {
	tests := []struct {
		name    string
		send    int
		wait    int
		wantErr bool
	}{
		{name: "already there", send: 2, wait: 2},
		{name: "nothing to wait for", send: 0, wait: 0},
		{name: "more than arrive", send: 1, wait: 2, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ca := newFake(t)
			for range tt.send {
				do(testCtx(t), ca, logoutRequest("never-issued"))
			}
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			defer cancel()
			err := ca.WaitCalls(ctx, tt.wait)
			if (err != nil) != tt.wantErr {
				t.Fatalf("WaitCalls = %v, want error: %v", err, tt.wantErr)
			}
			if tt.wantErr && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("WaitCalls = %v, want it to wrap context.DeadlineExceeded", err)
			}
		})
	}

	t.Run("wakes up on a call", func(t *testing.T) {
		ca := newFake(t)
		ctx := testCtx(t)
		waited := make(chan error, 1)
		go func() { waited <- ca.WaitCalls(ctx, 1) }()
		do(ctx, ca, logoutRequest("never-issued"))
		if err := <-waited; err != nil {
			t.Fatalf("WaitCalls = %v", err)
		}
	})
}
