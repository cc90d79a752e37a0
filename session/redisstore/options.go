package redisstore

import (
	"errors"
	"fmt"
)

// DefaultPrefix starts every key unless WithPrefix sets another.
const DefaultPrefix = "centralauth:"

// ErrInvalidConfig is matched by the errors NewQueue returns for bad
// arguments or options, and by Revocations.Err.
var ErrInvalidConfig = errors.New("redisstore: invalid configuration")

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// Option configures NewRevocations and NewQueue.
type Option func(*config) error

type config struct {
	prefix     string
	maxEntries int64
}

func newConfig(opts []Option) (config, error) {
	c := config{prefix: DefaultPrefix}
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

// WithPrefix sets the string every key starts with. Use a distinct prefix
// for each app that shares a Redis, and a hash tag such as "{centralauth}:"
// with Redis Cluster (see the package documentation). An empty prefix is
// allowed. Default: DefaultPrefix, "centralauth:".
func WithPrefix(prefix string) Option {
	return func(c *config) error {
		c.prefix = prefix
		return nil
	}
}

// WithMaxEntries bounds the queue: Enqueue past n entries (claimed ones
// included) returns an error matching remote.ErrQueueFull rather than grow
// without limit while CentralAuth is down. 0 means no bound; a negative n is
// a configuration error. It applies to NewQueue only. Default: 0, no bound.
func WithMaxEntries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return configError("max queue entries %d is negative", n)
		}
		c.maxEntries = int64(n)
		return nil
	}
}
