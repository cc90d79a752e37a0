// Command chi-app is the example of centralauth-go/logout: two small chi
// apps, "App A" and "App B", that share one CentralAuth session the way
// CentralAuth's autologin shares a session across an organization's
// domains. Run it with `make run` (or `go run ./examples/chi-app`) and open
// the URLs it prints. The apps themselves are in package demo, beside this
// file, so that tests and the load test can start them in-process.
//
// Settings come from the environment (see docs/example-app.md):
// CENTRALAUTH_BASE_URL, CENTRALAUTH_CLIENT_ID, CENTRALAUTH_CLIENT_SECRET,
// SESSION_HASH_KEY, SESSION_ENCRYPTION_KEY, REDIS_URL, ADDR (App A),
// ADDR_B (App B) and CENTRALAUTH_FAKE_ADDR (the embedded CentralAuth).
// Ctrl-C shuts everything down gracefully.
//
// The example imports nothing internal to the repository: copy this
// directory without its tests, give it a module of its own, and it builds.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/centralauth-go/logout/examples/chi-app/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := demo.Run(ctx, os.LookupEnv, os.Stdout, logger); err != nil {
		// One problem a line, each naming its variable.
		fmt.Fprintln(os.Stderr, "chi-app: "+strings.ReplaceAll(err.Error(), "\n", "\nchi-app: "))
		os.Exit(1)
	}
}
