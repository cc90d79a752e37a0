package redisstore

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

const defaultPrefix = "centralauth:"

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

// Option configures NewRevocations and NewQueue. An option given to a
// constructor it does not apply to is an error.
type Option func(*config) error

type config struct {
	forQueue   bool // which constructor applies the options
	prefix     string
	maxEntries int64

	cacheEntries int           // WithLocalCache; 0: none
	reconcile    time.Duration // how often a healthy local cache reloads from Redis
	logger       *slog.Logger
}

func newConfig(rdb redis.UniversalClient, forQueue bool, opts []Option) (config, error) {
	c := config{forQueue: forQueue, prefix: defaultPrefix, maxEntries: defaultMaxEntries, reconcile: reconcileInterval, logger: slog.Default()}
	if rdb == nil {
		return c, configError("nil Redis client")
	}
	for _, opt := range opts {
		if opt == nil {
			return c, configError("nil Option")
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

// WithPrefix sets the string every key starts with. Use a distinct prefix
// for each app that shares a Redis, and a hash tag such as "{centralauth}:"
// with Redis Cluster (see the package documentation). An empty prefix is
// allowed. Default: "centralauth:".
func WithPrefix(prefix string) Option {
	return func(c *config) error {
		c.prefix = prefix
		return nil
	}
}

// WithMaxEntries bounds the queue: Enqueue past n entries (claimed ones
// included) returns an error matching outbox.ErrQueueFull rather than grow
// without limit while CentralAuth is down. n must be positive. It applies
// to NewQueue only; revocations expire on their own. Default: 100,000.
func WithMaxEntries(n int) Option {
	return func(c *config) error {
		if !c.forQueue {
			return configError("WithMaxEntries applies to NewQueue, not NewRevocations")
		}
		if n < 1 {
			return configError("max queue entries %d is not positive", n)
		}
		c.maxEntries = int64(n)
		return nil
	}
}
