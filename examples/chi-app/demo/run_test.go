package demo

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestStartServesAndWaitShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rn, err := Start(env(map[string]string{envAddr: "127.0.0.1:0", envAddrB: "127.0.0.1:0"}),
		slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- rn.Wait(ctx) }()

	urls := map[string]string{"A": rn.URLA, "B": rn.URLB}
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
			t.Fatalf("Wait = %v, want a clean shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after its context ended")
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
