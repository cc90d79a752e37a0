package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/centralauth-go/logout/internal/retry"
)

// WithLocalCache keeps a copy of the whole revocation set in this
// instance's memory, kept true through Redis pub/sub, so that a healthy
// Revoked answers without a network call. It applies to NewRevocations
// only. maxEntries bounds the copy: with more revocations than that under
// the prefix, the instance asks Redis on every call instead. Default: no
// local cache; every Revoked asks Redis.
//
// The copy is trusted only while it is healthy: subscribed, loaded, and
// within maxEntries. At start-up and after every reconnect the instance
// subscribes first, then loads the existing revocations with SCAN, and
// only then answers from memory, so that a revocation published between
// the two is not lost. While it is not healthy, Revoked asks Redis, as
// without the cache, and a Redis outage is still an error, never "not
// revoked". A lost connection is noticed within twice the client's read
// timeout (go-redis's ReadTimeout, 3s by default; "read_timeout" in a
// redis:// URL): the subscription is pinged after one read timeout of
// silence, and the ping has one more. Until then the copy may miss a
// revocation made through another instance.
//
// The app calls Close when it shuts down, to stop the subscription.
func WithLocalCache(maxEntries int) Option {
	return func(c *config) error {
		if c.forQueue {
			return configError("WithLocalCache applies to NewRevocations, not NewQueue")
		}
		if maxEntries < 1 {
			return configError("local cache size %d is not positive", maxEntries)
		}
		c.cacheEntries = maxEntries
		return nil
	}
}

// WithLogger sets the logger of the local cache (WithLocalCache): its
// healthy and unhealthy transitions and its resyncs. It applies to
// NewRevocations only. Default: slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		switch {
		case c.forQueue:
			return configError("WithLogger applies to NewRevocations, not NewQueue")
		case l == nil:
			return configError("nil logger")
		}
		c.logger = l
		return nil
	}
}

// CacheStats is what Revocations.Stats reports of the local cache.
type CacheStats struct {
	Entries    int       // revocations held in memory
	Healthy    bool      // answers come from memory
	LastResync time.Time // when the copy was last loaded from Redis; zero: never
	Fallbacks  int64     // Revoked calls that asked Redis because the copy was not healthy
}

// localCache is WithLocalCache's copy of the revocation set.
type localCache struct {
	rdb     redis.UniversalClient
	channel string // where Revoke publishes "<until ms> <id>"
	pattern string // the revocation keys, for SCAN
	prefix  string // of the keys, stripped to get an ID
	max     int
	window  time.Duration // the client's read timeout
	log     *slog.Logger

	mu         sync.RWMutex
	until      map[string]int64 // session ID -> Unix ms
	healthy    bool
	lastResync time.Time
	lastSweep  time.Time
	fallbacks  atomic.Int64

	stop context.CancelFunc
	done chan struct{}
}

func newLocalCache(rdb redis.UniversalClient, prefix string, max int, logger *slog.Logger) *localCache {
	c := &localCache{
		rdb:     rdb,
		channel: prefix + "revocations",
		pattern: escapeGlob(prefix) + "revoked:*",
		prefix:  prefix + "revoked:",
		max:     max,
		window:  readTimeout(rdb),
		log:     logger.With("component", "redisstore.Revocations"),
		until:   make(map[string]int64),
		done:    make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	go c.run(ctx)
	return c
}

// readTimeout is the client's ReadTimeout, go-redis's 3s if unset.
func readTimeout(rdb redis.UniversalClient) time.Duration {
	var d time.Duration
	switch c := rdb.(type) {
	case *redis.Client:
		d = c.Options().ReadTimeout
	case *redis.ClusterClient:
		d = c.Options().ReadTimeout
	case *redis.Ring:
		d = c.Options().ReadTimeout
	}
	if d <= 0 {
		d = 3 * time.Second
	}
	return d
}

// escapeGlob escapes SCAN MATCH's special characters in a prefix.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// run keeps the copy true until Close: subscribe, load, serve; on any
// error, unhealthy, and again after a backoff.
func (c *localCache) run(ctx context.Context) {
	defer close(c.done)
	for attempt := 0; ; attempt++ {
		err := c.serve(ctx)
		c.setHealthy(false, err)
		if ctx.Err() != nil {
			return
		}
		wait := retry.Backoff(100*time.Millisecond, attempt, 5*time.Second)
		if errors.Is(err, errTooMany) {
			wait = time.Minute // a full SCAN is costly: try again rarely
		}
		if retry.System.Sleep(ctx, wait) != nil {
			return
		}
	}
}

// errTooMany ends a serve whose load found more than maxEntries: the
// instance asks Redis instead, and tries again later.
var errTooMany = errors.New("more revocations than the local cache holds")

// serve subscribes, loads the set, and then applies what is published
// until the subscription fails.
func (c *localCache) serve(ctx context.Context) error {
	ps := c.rdb.Subscribe(ctx, c.channel)
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil { // the subscription's confirmation
		return fmt.Errorf("subscribing: %w", err)
	}
	pumped := make(chan error, 1)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { pumped <- c.pump(pctx, ps) }()

	if err := c.load(ctx); err != nil {
		return err
	}
	c.setHealthy(true, nil)
	return <-pumped
}

// load reads every revocation under the prefix into the copy.
func (c *localCache) load(ctx context.Context) error {
	start := time.Now()
	scan := func(ctx context.Context, node redis.UniversalClient) error {
		iter := node.Scan(ctx, 0, c.pattern, 1000).Iterator()
		var keys []string
		flush := func() error {
			if len(keys) == 0 {
				return nil
			}
			cmds := make([]*redis.StringCmd, len(keys))
			_, err := node.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i, k := range keys {
					cmds[i] = p.Get(ctx, k)
				}
				return nil
			})
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			for i, k := range keys {
				if ms, err := cmds[i].Int64(); err == nil && !c.apply(strings.TrimPrefix(k, c.prefix), ms) {
					return errTooMany
				}
			}
			keys = keys[:0]
			return nil
		}
		for iter.Next(ctx) {
			if keys = append(keys, iter.Val()); len(keys) == 1000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		return flush()
	}
	var err error
	switch rdb := c.rdb.(type) {
	case *redis.ClusterClient:
		err = rdb.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return scan(ctx, node) })
	case *redis.Ring:
		err = rdb.ForEachShard(ctx, func(ctx context.Context, node *redis.Client) error { return scan(ctx, node) })
	default:
		err = scan(ctx, rdb)
	}
	if err != nil {
		return fmt.Errorf("loading the revocations: %w", err)
	}
	c.mu.Lock()
	c.lastResync = time.Now()
	entries := len(c.until)
	c.mu.Unlock()
	c.log.Info("revocations loaded into the local cache", "entries", entries, "took", time.Since(start))
	return nil
}

// pump applies published revocations, and pings a silent subscription so
// that a dead connection is noticed within two read timeouts.
func (c *localCache) pump(ctx context.Context, ps *redis.PubSub) error {
	for {
		msg, err := ps.ReceiveTimeout(ctx, c.window)
		if err != nil {
			if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() || ctx.Err() != nil {
				return fmt.Errorf("subscription: %w", err)
			}
			pctx, cancel := context.WithTimeout(ctx, c.window)
			err := ps.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("subscription ping: %w", err)
			}
			c.sweep()
			continue
		}
		if m, ok := msg.(*redis.Message); ok {
			ms, id, found := strings.Cut(m.Payload, " ")
			if v, err := strconv.ParseInt(ms, 10, 64); found && err == nil && id != "" && !c.apply(id, v) {
				return errTooMany
			}
		}
		c.sweep()
	}
}

// apply records a revocation, never shortening one. It reports false,
// and the copy is no longer healthy, when the copy would outgrow its
// bound: it stops growing, and the instance asks Redis instead.
func (c *localCache) apply(id string, ms int64) bool {
	if ms <= time.Now().UnixMilli() {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, ok := c.until[id]
	switch {
	case ok && ms > cur:
		c.until[id] = ms
	case !ok && len(c.until) < c.max:
		c.until[id] = ms
	case !ok:
		c.healthy = false
		return false
	}
	return true
}

// sweep forgets expired revocations, at most once a read timeout: a
// linear pass, a few milliseconds at 100,000 entries.
func (c *localCache) sweep() {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.lastSweep) < c.window {
		return
	}
	c.lastSweep = now
	for id, ms := range c.until {
		if ms <= now.UnixMilli() {
			delete(c.until, id)
		}
	}
}

func (c *localCache) setHealthy(healthy bool, cause error) {
	c.mu.Lock()
	changed := c.healthy != healthy
	c.healthy = healthy
	if !healthy {
		clear(c.until) // reloaded in full before it is trusted again
	}
	c.mu.Unlock()
	switch {
	case changed && healthy:
		c.log.Info("local revocation cache healthy: answering from memory")
	case changed:
		c.log.Warn("local revocation cache unhealthy: asking Redis until it resyncs", "error", cause)
	}
}

// revoked answers from memory, and ok is false when the copy is not
// healthy.
func (c *localCache) revoked(id string) (revoked, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.healthy {
		c.fallbacks.Add(1)
		return false, false
	}
	ms, found := c.until[id]
	return found && ms > time.Now().UnixMilli(), true
}

func (c *localCache) stats() CacheStats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return CacheStats{Entries: len(c.until), Healthy: c.healthy, LastResync: c.lastResync, Fallbacks: c.fallbacks.Load()}
}

func (c *localCache) close() {
	c.stop()
	<-c.done
}
