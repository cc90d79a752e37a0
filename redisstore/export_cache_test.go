package redisstore

import "time"

// WithReconcileInterval sets how often a healthy local cache reconciles
// with Redis, for tests that cannot wait the default.
func WithReconcileInterval(d time.Duration) Option {
	return func(c *config) error {
		c.reconcile = d
		return nil
	}
}
