package main

import (
	"encoding/base64"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/redistest"
	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/outbox"
	"github.com/centralauth-go/logout/redisstore"
	"github.com/centralauth-go/logout/remote"
)

// TestOutboxStatsAndDrain runs "outbox stats" and "outbox drain" against a
// real redis-server, on a queue that filled while CentralAuth was down.
func TestOutboxStatsAndDrain(t *testing.T) {
	srv := redistest.Start(t)
	ca := newFake(t)
	key := []byte("0123456789abcdef0123456789abcdef")
	const prefix = "{ops}:"
	q, err := redisstore.NewQueue(srv.Client(t), prefix)
	if err != nil {
		t.Fatal(err)
	}
	c, err := remote.NewClient(testID, testSecret, remote.WithBaseURL(ca.URL()), remote.WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	app, err := outbox.New(c, q, outbox.WithEncryptionKey(key), outbox.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	var tokens []string
	for i := range 5 {
		tok := ca.SignIn("u" + string(rune('a'+i))).AccessToken
		tokens = append(tokens, tok)
		if err := app.Enqueue(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	// The outage: every first attempt fails.
	ca.InjectFault(centralauthtest.Fault{Status: 503, Times: 5})
	if err := app.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}

	env := fakeEnv(ca)
	env[envRedisURL] = srv.URL()
	code, stdout, stderr := runProcess(t, env, "", "outbox", "stats", "-prefix", prefix)
	if code != exitOK || !strings.Contains(stdout, "pending: 5\n") || !strings.Contains(stdout, "past first attempt: 5\n") ||
		strings.Contains(stdout, "oldest: none") {
		t.Fatalf("stats: exit %d\n%s%s", code, stdout, stderr)
	}

	env[envOutboxKey] = base64.StdEncoding.EncodeToString(key)
	testutil.WaitFor(t, 20*time.Second, "drain to empty the queue once the retries are due", func() bool {
		code, _, stderr = runProcess(t, env, "", "outbox", "drain", "-prefix", prefix)
		return code == exitOK && strings.Contains(stderr, "0 left in the queue")
	})
	for _, tok := range tokens {
		if ca.Active(tok) {
			t.Fatal("a queued session is still active after the drain")
		}
	}
	assertNoToken(t, "drain's output", stderr, tokens)
	if code, stdout, _ := runProcess(t, env, "", "outbox", "stats", "-prefix", prefix); code != exitOK || !strings.Contains(stdout, "pending: 0\noldest: none\n") {
		t.Fatalf("stats after the drain: exit %d\n%s", code, stdout)
	}
}
