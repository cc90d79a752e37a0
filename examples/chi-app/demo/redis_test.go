package demo

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/centralauth-go/logout/internal/redistest"
)

// TestRedisURLKeepsLogoutsInRedis runs the example with REDIS_URL against a
// real redis-server: a logout's revocation lands in Redis, and the cookie
// from before the logout stops loading.
func TestRedisURLKeepsLogoutsInRedis(t *testing.T) {
	srv := redistest.Start(t)
	rn, err := Start(env(map[string]string{envAddr: "127.0.0.1:0", envAddrB: "127.0.0.1:0", envRedisURL: srv.URL()}),
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // shut down at once
		_ = rn.Wait(ctx)
	})

	c := newClient(t)
	if p := c.login(rn.URLA, "redis"); p.state() != "logged-in" {
		t.Fatalf("after the demo login the page says %q", p.state())
	}
	old := c.cookie(rn.URLA, "app_a_session")
	c.do(http.MethodPost, rn.URLA+logoutPath, nil)

	keys := srv.Client(t).Keys(t.Context(), "centralauth-example:app_a_session:revoked:*").Val()
	if len(keys) != 1 {
		t.Fatalf("revocations in Redis: %v, want one", keys)
	}
	thief := newClient(t)
	u, _ := url.Parse(rn.URLA)
	thief.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "app_a_session", Value: old}})
	if p := thief.get(rn.URLA + "/"); p.state() != "logged-out" {
		t.Fatalf("the cookie from before the logout still loads: the page says %q", p.state())
	}
}

// TestRedisURLUnreachable: a REDIS_URL that answers nothing stops the
// example with a message naming the variable and without its password.
func TestRedisURLUnreachable(t *testing.T) {
	srv := redistest.Start(t)
	redisURL := strings.Replace(srv.URL(), "redis://", "redis://:pw-secret@", 1)
	srv.Stop()
	_, err := Start(env(map[string]string{envAddr: "127.0.0.1:0", envAddrB: "127.0.0.1:0", envRedisURL: redisURL}),
		slog.New(slog.DiscardHandler))
	if err == nil || !strings.HasPrefix(err.Error(), envRedisURL+": ") || strings.Contains(err.Error(), "pw-secret") {
		t.Fatalf("Start = %v, want an error naming %s without the password", err, envRedisURL)
	}
}
