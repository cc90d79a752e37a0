package outbox_test

import (
	"context"
	"log"
	"os"
	"os/signal"

	"github.com/centralauth-go/logout/middleware"
	"github.com/centralauth-go/logout/outbox"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
)

// Retry the session-wide logouts that CentralAuth could not take, for an
// app that runs as one instance. With many instances, pass a
// redisstore.Queue instead of the MemoryQueue. It has no Output: it would
// need a CentralAuth to talk to.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	centralauth, err := remote.NewClient("my-client-id", os.Getenv("CENTRALAUTH_CLIENT_SECRET"))
	if err != nil {
		log.Fatal(err)
	}
	queue, err := outbox.NewMemoryQueue(10_000)
	if err != nil {
		log.Fatal(err)
	}
	retries, err := outbox.New(centralauth, queue)
	if err != nil {
		log.Fatal(err)
	}
	go retries.Run(ctx) // until the app stops

	store, err := session.NewStore([]byte(os.Getenv("SESSION_HASH_KEY")),
		session.WithEncryptionKey([]byte(os.Getenv("SESSION_ENCRYPTION_KEY"))))
	if err != nil {
		log.Fatal(err)
	}
	logout, err := middleware.NewLogoutHandler(store,
		middleware.WithRemote(centralauth),
		middleware.WithSessionWide(true),
		middleware.WithOutbox(retries), // a retryable failure is queued, not lost
	)
	if err != nil {
		log.Fatal(err)
	}
	_ = logout // mount it at /logout
}
