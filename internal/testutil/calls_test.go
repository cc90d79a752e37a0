package testutil

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestCallRecording(t *testing.T) {
	clk := NewClock(fixedStart)
	ca := newFake(t, WithClock(clk))
	ctx := testCtx(t)
	s := ca.IssueSession("ada")

	do(ctx, ca, logoutRequest("bad-token"))
	do(ctx, ca, request{method: http.MethodGet, path: "/elsewhere"})
	do(ctx, ca, logoutRequest(s.AccessToken))

	want := []Call{
		{Method: http.MethodPost, Path: LogoutPath, Authorization: basic(testID, testSecret), ContentType: "text/plain", Body: "bad-token", Status: http.StatusBadRequest, At: fixedStart},
		{Method: http.MethodGet, Path: "/elsewhere", Status: http.StatusNotFound, At: fixedStart},
		{Method: http.MethodPost, Path: LogoutPath, Authorization: basic(testID, testSecret), ContentType: "text/plain", Body: s.AccessToken, Status: http.StatusOK, At: fixedStart},
	}
	got := ca.Calls()
	if len(got) != len(want) {
		t.Fatalf("recorded %d calls, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		t.Run(want[i].Method+" "+want[i].Path, func(t *testing.T) {
			g, w := got[i], want[i]
			if g.Method != w.Method || g.Path != w.Path || g.Authorization != w.Authorization ||
				g.ContentType != w.ContentType || g.Body != w.Body || g.Status != w.Status || !g.At.Equal(w.At) {
				t.Errorf("call = %+v\nwant %+v", g, w)
			}
			if g.UserAgent == "" || g.Header.Get("User-Agent") != g.UserAgent {
				t.Errorf("UserAgent = %q, Header = %v: want the client's User-Agent in both", g.UserAgent, g.Header)
			}
		})
	}

	t.Run("ResetCalls", func(t *testing.T) {
		ca.ResetCalls()
		if n := len(ca.Calls()); n != 0 {
			t.Errorf("after ResetCalls, %d calls", n)
		}
	})
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
				do(testCtx(t), ca, logoutRequest("x"))
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
		do(ctx, ca, logoutRequest("x"))
		if err := <-waited; err != nil {
			t.Fatalf("WaitCalls = %v", err)
		}
	})
}
