package demo

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/remote"
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
		{"the embedded CentralAuth's port is taken", map[string]string{envAddr: "127.0.0.1:0", envAddrB: "127.0.0.1:0", envFakeAddr: busy.Addr().String()}, envFakeAddr + "="},
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

// TestBannerLetsAnotherAppLogIn: `make run` prints what an app of the
// user's own needs to log in against the embedded CentralAuth (its base
// URL, pinned by CENTRALAUTH_FAKE_ADDR, the client ID and the client
// secret), and such an app can log in with them.
func TestBannerLetsAnotherAppLogIn(t *testing.T) {
	pinned := listen(t) // a free port, freed again for the example to take
	addr := pinned.Addr().String()
	pinned.Close()
	ctx, cancel := context.WithCancel(t.Context())
	var out testutil.Buffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, env(map[string]string{envAddr: "127.0.0.1:0", envAddrB: "127.0.0.1:0", envFakeAddr: addr}),
			&out, slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	testutil.WaitFor(t, 10*time.Second, "the banner", func() bool { return strings.Contains(out.String(), "Press Ctrl-C") },
		func() string { return out.String() })

	banner := out.String()
	base := regexp.MustCompile(`CentralAuth \(embedded fake\)  (\S+)`).FindStringSubmatch(banner)
	id := regexp.MustCompile(`client ID +(\S+)`).FindStringSubmatch(banner)
	secret := regexp.MustCompile(`client secret +(\S+)`).FindStringSubmatch(banner)
	if base == nil || id == nil || secret == nil || base[1] != "http://"+addr || id[1] != demoClientID {
		t.Fatalf("the banner does not give the pinned base URL http://%s, the client ID and the secret:\n%s", addr, banner)
	}

	// Another app: its own login, on its own port, with those.
	rc, err := remote.NewClient(id[1], secret[1], remote.WithBaseURL(base[1]))
	if err != nil {
		t.Fatal(err)
	}
	const redirect = "http://127.0.0.1:1/callback" // never visited: the test reads the redirect
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	form := url.Values{
		"client_id": {id[1]}, "response_type": {"code"}, "redirect_uri": {redirect}, "state": {"st"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"email": {"alice@example.com"},
	}
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirects.PostForm(base[1]+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := resp.Location()
	if err != nil {
		t.Fatalf("sign-in answered %d without a redirect", resp.StatusCode)
	}
	tok, err := rc.Exchange(t.Context(), back.Query().Get("code"), redirect, verifier)
	if err != nil {
		t.Fatalf("the other app's exchange: %v", err)
	}
	if err := rc.Logout(t.Context(), tok.AccessToken); err != nil {
		t.Fatalf("the other app's logout: %v", err)
	}
}
