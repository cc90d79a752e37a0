package redisstore_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/centralauth-go/logout/internal/redistest"
	"github.com/centralauth-go/logout/redisstore"
)

// outboxKey is the outbox's key in the tests that run an Outbox on a
// Queue.
var outboxKey = bytes.Repeat([]byte{0x42}, 32)

// stdPrefix is the prefix of the tests' keys unless they need another.
const stdPrefix = "centralauth:"

func newRevocations(t *testing.T, rdb redis.UniversalClient, prefix string, opts ...redisstore.RevocationsOption) *redisstore.Revocations {
	t.Helper()
	list, err := redisstore.NewRevocations(rdb, prefix, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func newQueue(t *testing.T, rdb redis.UniversalClient, prefix string, opts ...redisstore.QueueOption) *redisstore.Queue {
	t.Helper()
	q, err := redisstore.NewQueue(rdb, prefix, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// secretParts are the strings that must not appear where a secret must not:
// the secret, and every dot-separated part of it long enough to identify
// it (a token's ciphertext segment on its own would be a leak too).
func secretParts(secret string) []string {
	parts := []string{secret}
	for p := range strings.SplitSeq(secret, ".") {
		if len(p) >= 16 && p != secret {
			parts = append(parts, p)
		}
	}
	return parts
}

// assertNoSecretInRedis fails if any secret, or a long part of one, is in
// any key or value of srv, or in the files it persisted.
func assertNoSecretInRedis(t *testing.T, srv *redistest.Server, secrets ...string) {
	t.Helper()
	dump := srv.Dump(t)
	disk := srv.DiskData(t)
	for _, secret := range secrets {
		for _, part := range secretParts(secret) {
			for k, v := range dump {
				if strings.Contains(k, part) || strings.Contains(v, part) {
					t.Errorf("a secret is in Redis under key %q", k)
				}
			}
			if bytes.Contains(disk, []byte(part)) {
				t.Errorf("a secret is in Redis's files on disk")
			}
		}
	}
}

// unusedClient is a client that is never used to reach a server, for
// configuration tests.
func unusedClient(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = c.Close() })
	return c
}
