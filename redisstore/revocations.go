package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/centralauth-go/logout/session"
)

var _ session.RevocationList = (*Revocations)(nil)

// Revocations is a session.RevocationList in Redis, shared by every instance
// that uses the same Redis and prefix. Pass it to session.WithRevocations.
// It is safe for concurrent use.
type Revocations struct {
	rdb     redis.UniversalClient
	prefix  string
	channel string      // where Revoke publishes, for the instances' local caches
	cache   *localCache // nil without WithLocalCache
}

// NewRevocations returns a revocation list kept in rdb, which the caller
// configures and closes, under keys that start with prefix (see the
// package documentation). A nil client or an invalid option is an error
// matching ErrInvalidConfig.
func NewRevocations(rdb redis.UniversalClient, prefix string, opts ...RevocationsOption) (*Revocations, error) {
	cfg, err := newRevocationsConfig(rdb, prefix, opts)
	if err != nil {
		return nil, err
	}
	r := &Revocations{rdb: rdb, prefix: cfg.prefix, channel: cfg.prefix + "revocations"}
	if cfg.cacheEntries > 0 {
		r.cache = newLocalCache(rdb, cfg)
	}
	return r, nil
}

// Close stops the local cache's subscription (WithLocalCache) at once, and
// waits for it to end: within a read timeout if a load is waiting on a
// Redis that does not answer. It does nothing without a local cache. The
// app calls it when it shuts down, before it closes the Redis client.
// Revoked asks Redis directly after Close.
func (r *Revocations) Close() error {
	if r.cache != nil {
		r.cache.close()
	}
	return nil
}

// Health reports on the local cache (WithLocalCache); the zero
// CacheHealth without one.
func (r *Revocations) Health() CacheHealth {
	if r.cache == nil {
		return CacheHealth{}
	}
	return r.cache.health()
}

// key is where id's revocation lives.
func (r *Revocations) key(id string) string { return r.prefix + "revoked:" + id }

// revokeScript sets the revocation and its expiry (SET ... PXAT) unless one
// that lasts as long or longer is already there, so a revocation is never
// shortened, and publishes it to the instances' local caches in the same
// atomic step: no instance hears of a revocation that Redis does not hold.
// The value is the expiry itself, in milliseconds since the epoch. PUBLISH
// reaches every node of a Redis Cluster.
//
// KEYS[1]: the revocation key. ARGV[1]: until, in ms since the epoch;
// ARGV[2]: the channel; ARGV[3]: the session ID.
var revokeScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]))
if cur and cur >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[1] .. ' ' .. ARGV[3])
return 1
`)

// Revoke implements session.RevocationList: it marks id as logged out until
// the given time, rounded up to the millisecond, after which Redis deletes
// the entry itself. A time already past (by this machine's clock) is an
// error, since the entry would never hold, and an entry that lasts longer
// is kept.
func (r *Revocations) Revoke(ctx context.Context, id string, until time.Time) error {
	if !until.After(time.Now()) {
		return errors.New("redisstore: revocation until a time that has already passed")
	}
	ms := until.UnixMilli()
	if until.After(time.UnixMilli(ms)) {
		ms++ // round up: never expire before until
	}
	if err := revokeScript.Run(ctx, r.rdb, []string{r.key(id)}, strconv.FormatInt(ms, 10), r.channel, id).Err(); err != nil {
		return fmt.Errorf("redisstore: revoke: %w", err)
	}
	if r.cache != nil {
		r.cache.apply(id, ms) // seen by this instance at once
	}
	return nil
}

// Revoked implements session.RevocationList. An error (Redis unreachable,
// say) never means "not revoked"; session.Store.Load turns it into an error
// matching session.ErrRevocationUnavailable.
func (r *Revocations) Revoked(ctx context.Context, id string) (bool, error) {
	if r.cache != nil {
		if revoked, ok := r.cache.revoked(id); ok {
			return revoked, nil
		}
	}
	n, err := r.rdb.Exists(ctx, r.key(id)).Result()
	if err != nil {
		return false, fmt.Errorf("redisstore: revocation check: %w", err)
	}
	return n == 1, nil
}
