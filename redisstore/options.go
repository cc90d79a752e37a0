package redisstore

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// defaultMaxEntries bounds a Queue unless WithMaxEntries says otherwise:
// enough for a long outage of a busy app, few enough that junk cannot
// fill Redis.
const defaultMaxEntries = 100_000

// ErrInvalidConfig is matched by the errors NewRevocations and NewQueue
// return for an argument or option they cannot use.
var ErrInvalidConfig = errors.New("redisstore: invalid configuration")

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// RevocationsOption configures NewRevocations.
type RevocationsOption func(*revocationsConfig) error

// QueueOption configures NewQueue.
type QueueOption func(*queueConfig) error

type revocationsConfig struct {
	prefix       string
	cacheEntries int           // WithLocalCache; 0: none
	reconcile    time.Duration // how often a healthy local cache reloads from Redis
	logger       *slog.Logger
	onHealth     func(CacheHealth)
}

type queueConfig struct {
	prefix     string
	maxEntries int64
}

func newRevocationsConfig(rdb redis.UniversalClient, prefix string, opts []RevocationsOption) (revocationsConfig, error) {
	c := revocationsConfig{prefix: prefix, reconcile: reconcileInterval, logger: slog.Default()}
	if rdb == nil {
		return c, configError("nil Redis client")
	}
	for _, opt := range opts {
		if opt == nil {
			return c, configError("nil RevocationsOption")
		}
		if err := opt(&c); err != nil {
			return c, err
		}
	}
	if c.onHealth != nil && c.cacheEntries == 0 {
		return c, configError("WithOnCacheHealth without WithLocalCache: there is no cache to report on")
	}
	return c, nil
}

func newQueueConfig(rdb redis.UniversalClient, prefix string, opts []QueueOption) (queueConfig, error) {
	c := queueConfig{prefix: prefix, maxEntries: defaultMaxEntries}
	if rdb == nil {
		return c, configError("nil Redis client")
	}
	for _, opt := range opts {
		if opt == nil {
			return c, configError("nil QueueOption")
		}
		if err := opt(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// hasHashTag reports whether every key under prefix hashes on the same
// Redis Cluster hash tag: the prefix holds a '{' followed, later in the
// prefix, by a '}' with at least one byte between them. (The parts of the
// keys after the prefix hold no '}'.)
func hasHashTag(prefix string) bool {
	open := strings.IndexByte(prefix, '{')
	return open >= 0 && strings.IndexByte(prefix[open+1:], '}') > 0
}

// sharded reports whether rdb spreads keys over several servers, where a
// script must keep its keys in one hash slot.
func sharded(rdb redis.UniversalClient) bool {
	switch rdb.(type) {
	case *redis.ClusterClient, *redis.Ring:
		return true
	}
	return false
}

// WithMaxEntries bounds the queue: Enqueue past n entries (claimed ones
// included) returns an error matching outbox.ErrQueueFull rather than grow
// without limit while CentralAuth is down. n must be positive. Default:
// 100,000.
func WithMaxEntries(n int) QueueOption {
	return func(c *queueConfig) error {
		if n < 1 {
			return configError("max queue entries %d is not positive", n)
		}
		c.maxEntries = int64(n)
		return nil
	}
}
