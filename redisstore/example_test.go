package redisstore_test

import (
	"context"
	"log"
	"os"

	"github.com/centralauth-go/logout/middleware"
	"github.com/centralauth-go/logout/outbox"
	"github.com/centralauth-go/logout/redisstore"
	"github.com/centralauth-go/logout/remote"
	"github.com/centralauth-go/logout/session"
)

// Every instance of the app runs this set-up against the same Redis, with
// the same keys. It has no Output: it needs a Redis server to run.
func Example() {
	ctx := context.Background()
	rdb, err := redisstore.Connect(ctx, os.Getenv("REDIS_URL")) // redis://user:password@host:6379/0
	if err != nil {
		log.Fatal(err)
	}
	defer rdb.Close()

	hashKey := []byte(os.Getenv("SESSION_HASH_KEY"))        // 32+ bytes from your secret store
	encKey := []byte(os.Getenv("SESSION_ENCRYPTION_KEY"))   // 32 bytes from your secret store
	outboxKey := []byte(os.Getenv("OUTBOX_ENCRYPTION_KEY")) // 32 bytes from your secret store

	revocations, err := redisstore.NewRevocations(rdb, "centralauth:")
	if err != nil {
		log.Fatal(err)
	}
	store, err := session.NewStore(hashKey, session.WithEncryptionKey(encKey), session.WithRevocations(revocations))
	if err != nil {
		log.Fatal(err)
	}
	queue, err := redisstore.NewQueue(rdb, "centralauth:")
	if err != nil {
		log.Fatal(err)
	}
	centralauth, err := remote.NewClient("my-client-id", os.Getenv("CENTRALAUTH_SECRET"))
	if err != nil {
		log.Fatal(err)
	}
	retries, err := outbox.New(centralauth, queue, outbox.WithEncryptionKey(outboxKey))
	if err != nil {
		log.Fatal(err)
	}
	go retries.Run(ctx) // retries session-wide logouts that failed

	logout, err := middleware.NewLogoutHandler(store,
		middleware.WithRemote(centralauth),
		middleware.WithSessionWide(true),
		middleware.WithOutbox(retries),
	)
	if err != nil {
		log.Fatal(err)
	}
	_ = logout // mount it at /logout
}
