package redisstore

import "time"

// WithReconcileInterval sets how often a healthy local cache reconciles
// with Redis, for tests that cannot wait the default.
func WithReconcileInterval(d time.Duration) RevocationsOption {
	return func(c *revocationsConfig) error {
		c.reconcile = d
		return nil
	}
}
