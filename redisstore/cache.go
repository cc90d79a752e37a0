package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/centralauth-go/logout/internal/retry"
)

// WithLocalCache keeps a copy of the whole revocation set in this
// instance's memory, so that Revoked answers from memory while the copy is
// known to be current. maxEntries bounds
// the copy: with more revocations than that under the prefix, the instance
// asks Redis on every call instead, and tries a full load again once a
// minute. Default: no local cache; every Revoked asks Redis.
//
// Redis is the truth; the copy follows it three ways. At start-up and after
// every reconnect, the instance subscribes to the channel on which Revoke
// announces revocations, then loads every revocation with SCAN, and only
// then answers from memory. While connected, it applies each announced
// revocation as Redis holds it: a message is a hint, read back from Redis,
// so one that Redis does not back (a bare PUBLISH) changes nothing. And it
// reloads the whole set from Redis every minute, so that a revocation that
// reached Redis without its message (lost on a cluster bus, or SET by
// hand) is honoured within that bound, and one deleted from Redis is
// forgotten. A Revoke through this instance is in its copy when it returns.
//
// The window is the client's read timeout (go-redis's ReadTimeout, 3s by
// default; "read_timeout" in a redis:// URL). The instance pings its
// subscription every quarter of it, and answers from memory only while
// Redis has answered a ping sent within the last read timeout: Redis
// answers a ping after every message published before it, so a revocation
// made through another instance more than one read timeout ago is always
// in the copy that answers. Otherwise, a silent connection, a stopped Redis
// or a partition that keeps the TCP connection up, Revoked asks Redis, as
// without the cache, and a Redis that cannot be asked is an error, never
// "not revoked". A ping unanswered for a read timeout ends the connection:
// the instance reconnects, with a backoff that starts over once a
// connection has loaded the copy, and reloads. On Redis Cluster, a message
// published through another master crosses the cluster bus, which no ping
// covers; a message lost there is caught by the next reload.
//
// The app calls Close when it shuts down, to stop the subscription.
func WithLocalCache(maxEntries int) RevocationsOption {
	return func(c *revocationsConfig) error {
		if maxEntries < 1 {
			return configError("local cache size %d is not positive", maxEntries)
		}
		c.cacheEntries = maxEntries
		return nil
	}
}

// WithLogger sets the logger of the local cache (WithLocalCache): its
// healthy and unhealthy transitions and its resyncs. Default:
// slog.Default().
func WithLogger(l *slog.Logger) RevocationsOption {
	return func(c *revocationsConfig) error {
		if l == nil {
			return configError("nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithOnCacheHealth sets a hook that receives the local cache's health
// (WithLocalCache, which it needs) at each change: once each time the copy
// has loaded and answers from memory, and once for every failed attempt to
// subscribe and load while it does not, the first of which is the change
// to unhealthy. It is called synchronously by the goroutine that keeps the
// copy, so it must be quick and must not block. Default: none.
func WithOnCacheHealth(fn func(CacheHealth)) RevocationsOption {
	return func(c *revocationsConfig) error {
		if fn == nil {
			return configError("nil OnCacheHealth hook")
		}
		c.onHealth = fn
		return nil
	}
}

// CacheHealth is the state of the local cache, as Revocations.Health
// reports it and the WithOnCacheHealth hook receives it.
type CacheHealth struct {
	// Healthy says whether Revoked answers from memory, rather than ask
	// Redis.
	Healthy bool
	// Err is what last failed: it ended the subscription, or an attempt
	// to subscribe and load. Attempt counts the failed attempts since the
	// copy last loaded, this one included. Both are zero once it has.
	Err     error
	Attempt int

	Entries    int       // revocations held in memory
	LastResync time.Time // when the copy was last loaded from Redis; zero: never
	Fallbacks  int64     // Revoked calls that asked Redis because the copy was not healthy
}

// reconcileInterval is how often a healthy copy reloads from Redis.
const reconcileInterval = time.Minute

// localCache is WithLocalCache's copy of the revocation set.
type localCache struct {
	rdb       redis.UniversalClient
	channel   string // where Revoke publishes "<until ms> <id>"
	pattern   string // the revocation keys, for SCAN
	prefix    string // of the keys, stripped to get an ID
	max       int
	window    time.Duration // the client's read timeout
	reconcile time.Duration
	log       *slog.Logger
	onHealth  func(CacheHealth) // nil: none

	// base is the origin of fresh. Its monotonic reading makes every
	// interval here immune to steps of the wall clock.
	base time.Time
	// fresh is the newest moment, in ns since base, as of which the copy
	// is known to hold every revocation Redis held: the start of the last
	// load, or the sending of the last ping that Redis answered, once
	// everything received before that answer was applied.
	fresh atomic.Int64

	mu         sync.RWMutex
	until      map[string]int64 // session ID -> Unix ms
	loading    map[string]int64 // applied during a load, kept by it; nil when none runs
	healthy    bool             // subscribed and loaded
	full       bool             // an own Revoke found the copy full
	lastResync time.Time
	lastErr    error // and attempt: see CacheHealth
	attempt    int
	lastSweep  time.Time
	fallbacks  atomic.Int64

	stop context.CancelFunc
	done chan struct{}
}

func newLocalCache(rdb redis.UniversalClient, cfg revocationsConfig) *localCache {
	c := &localCache{
		rdb:       rdb,
		channel:   cfg.prefix + "revocations",
		pattern:   escapeGlob(cfg.prefix) + "revoked:*",
		prefix:    cfg.prefix + "revoked:",
		max:       cfg.cacheEntries,
		window:    readTimeout(rdb),
		reconcile: cfg.reconcile,
		log:       cfg.logger.With("component", "redisstore.Revocations"),
		onHealth:  cfg.onHealth,
		base:      time.Now(),
		until:     make(map[string]int64),
		done:      make(chan struct{}),
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

// now is the time in ns since base, on the monotonic clock.
func (c *localCache) now() int64 { return int64(time.Since(c.base)) }

// run keeps the copy true until Close: subscribe, load, serve; on any
// error, unhealthy, and again after a backoff.
func (c *localCache) run(ctx context.Context) {
	defer close(c.done)
	attempt := 0
	for {
		loaded, err := c.serve(ctx)
		if ctx.Err() != nil {
			c.setUnhealthy()
			return
		}
		if loaded {
			attempt = 0 // a healthy connection: the next failure is a new one
		}
		attempt++
		wait := retry.Backoff(100*time.Millisecond, attempt-1, 5*time.Second)
		if errors.Is(err, errTooMany) {
			wait = time.Minute // a full SCAN is costly: try again rarely
		}
		msg := "local revocation cache: reconnecting failed"
		if c.setUnhealthy() {
			msg = "local revocation cache unhealthy: asking Redis until it resyncs"
		}
		c.log.Warn(msg, "error", err, "attempt", attempt, "retry_in", wait)
		c.mu.Lock()
		c.lastErr, c.attempt = err, attempt
		c.mu.Unlock()
		if c.onHealth != nil {
			c.onHealth(c.health())
		}
		if retry.System.Sleep(ctx, wait) != nil {
			return
		}
	}
}

// errTooMany ends a serve whose copy would outgrow maxEntries: the
// instance asks Redis instead, and tries again later.
var errTooMany = errors.New("more revocations than the local cache holds")

// errSilent ends a serve whose ping went unanswered for a read timeout.
var errSilent = errors.New("subscription: no answer to a ping within the read timeout")

// serve subscribes, loads the set, and then keeps the copy fresh until the
// subscription fails or ctx ends. loaded reports whether the copy got to
// answer.
func (c *localCache) serve(ctx context.Context) (loaded bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	var reader sync.WaitGroup
	defer reader.Wait()
	defer cancel()
	ps := c.rdb.Subscribe(sctx, c.channel)
	defer ps.Close()
	// Closing the subscription is what ends a read blocked on a silent
	// connection at once; a cancelled context alone would wait for the
	// read timeout.
	context.AfterFunc(sctx, func() { _ = ps.Close() })
	if _, err := ps.ReceiveTimeout(sctx, c.window); err != nil { // the subscription's confirmation
		return false, fmt.Errorf("subscribing: %w", err)
	}
	// One goroutine reads, without a deadline, so that a read never ends
	// in the middle of a reply; the pings and their deadline are
	// keepFresh's.
	inbox := make(chan any, 256)
	readErr := make(chan error, 1)
	reader.Go(func() {
		for {
			m, err := ps.Receive(sctx)
			if err != nil {
				readErr <- err
				return
			}
			select {
			case inbox <- m:
			case <-sctx.Done():
				return
			}
		}
	})

	c.mu.Lock()
	c.full = false
	c.mu.Unlock()
	started := c.now()
	if err := c.load(sctx); err != nil {
		return false, err
	}
	c.setFresh(started) // everything Redis held then was loaded
	c.setHealthy()
	return true, c.keepFresh(sctx, ps, inbox, readErr)
}

// keepFresh applies what is published, pings, and reloads at the
// reconciliation interval, until something fails. It is the only
// goroutine that applies messages and answers, in the order received, so
// that an answer to a ping counts only once everything before it is
// applied.
func (c *localCache) keepFresh(ctx context.Context, ps *redis.PubSub, inbox <-chan any, readErr <-chan error) error {
	tick := time.NewTicker(c.window / 4)
	defer tick.Stop()
	var (
		seq      uint64
		awaiting bool  // a ping has no answer yet
		sentAt   int64 // when it was sent, ns since base
		loadedAt = c.now()
		batch    = make([]any, 0, cap(inbox))
	)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-readErr:
			return fmt.Errorf("subscription: %w", err)
		case m := <-inbox:
			batch = append(batch[:0], m)
		drain:
			for len(batch) < cap(batch) {
				select {
				case m := <-inbox:
					batch = append(batch, m)
				default:
					break drain
				}
			}
			if err := c.applyMessages(ctx, batch); err != nil {
				return err
			}
			for _, m := range batch {
				if p, ok := m.(*redis.Pong); ok && awaiting && p.Payload == strconv.FormatUint(seq, 10) {
					c.setFresh(sentAt)
					awaiting = false
				}
			}
		case <-tick.C:
			now := c.now()
			switch {
			case awaiting && time.Duration(now-sentAt) > c.window:
				return errSilent
			case !awaiting:
				seq++
				awaiting, sentAt = true, now
				if err := ps.Ping(ctx, strconv.FormatUint(seq, 10)); err != nil {
					return fmt.Errorf("subscription ping: %w", err)
				}
			}
			if c.isFull() {
				return errTooMany
			}
			if time.Duration(now-loadedAt) >= c.reconcile {
				if err := c.load(ctx); err != nil {
					return err
				}
				loadedAt = c.now()
			}
			c.sweep()
		}
	}
}

// applyMessages applies the revocations that batch's messages name, as
// Redis holds them. A message is only a hint: one that Redis does not back
// (a bare PUBLISH, or a revocation since deleted) changes nothing, and the
// expiry applied is Redis's.
func (c *localCache) applyMessages(ctx context.Context, batch []any) error {
	var ids []string
	for _, m := range batch {
		if msg, ok := m.(*redis.Message); ok {
			if _, id, found := strings.Cut(msg.Payload, " "); found && id != "" {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	cmds := make([]*redis.StringCmd, len(ids))
	_, _ = c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, c.prefix+id)
		}
		return nil
	})
	for i, id := range ids {
		if err := c.applyValue(id, cmds[i]); err != nil {
			return fmt.Errorf("reading a published revocation: %w", err)
		}
	}
	return nil
}

// applyValue applies the revocation of id that cmd read from Redis. A
// missing key is no revocation; a failed read is an error, never "not
// revoked".
func (c *localCache) applyValue(id string, cmd *redis.StringCmd) error {
	switch err := cmd.Err(); {
	case errors.Is(err, redis.Nil):
		return nil
	case err != nil:
		return err
	}
	ms, err := cmd.Int64()
	if err != nil {
		return nil // not a value Revoke writes: no revocation of ours
	}
	if !c.apply(id, ms) {
		return errTooMany
	}
	return nil
}

// load reads every revocation under the prefix into a new copy, which
// replaces the old one, keeping what was applied meanwhile.
func (c *localCache) load(ctx context.Context) error {
	start := time.Now()
	c.mu.Lock()
	c.loading = make(map[string]int64)
	c.mu.Unlock()
	next := make(map[string]int64)
	err := c.scan(ctx, next)
	c.mu.Lock()
	defer c.mu.Unlock()
	loading := c.loading
	c.loading = nil
	if err != nil {
		return fmt.Errorf("loading the revocations: %w", err)
	}
	for id, ms := range loading {
		next[id] = max(next[id], ms)
	}
	if len(next) > c.max {
		return errTooMany
	}
	added := 0
	for id := range next {
		if _, ok := c.until[id]; !ok {
			added++
		}
	}
	initial := c.lastResync.IsZero() || !c.healthy
	c.until, c.lastResync = next, time.Now()
	switch {
	case initial:
		c.log.Info("revocations loaded into the local cache", "entries", len(next), "took", time.Since(start))
	case added > 0:
		// Usually revocations whose messages were still on their way;
		// otherwise ones whose messages were lost, or set by hand.
		c.log.Info("local revocation cache reconciled with Redis", "added", added, "entries", len(next))
	}
	return nil
}

// scan reads every revocation under the prefix into into, on every master
// of a cluster, which go-redis scans at once.
func (c *localCache) scan(ctx context.Context, into map[string]int64) error {
	var mu sync.Mutex
	add := func(id string, ms int64) error {
		mu.Lock()
		defer mu.Unlock()
		if into[id] = ms; len(into) > c.max {
			return errTooMany
		}
		return nil
	}
	scanNode := func(ctx context.Context, node redis.UniversalClient) error {
		iter := node.Scan(ctx, 0, c.pattern, 1000).Iterator()
		var keys []string
		flush := func() error {
			cmds := make([]*redis.StringCmd, len(keys))
			_, _ = node.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i, k := range keys {
					cmds[i] = p.Get(ctx, k)
				}
				return nil
			})
			for i, k := range keys {
				switch err := cmds[i].Err(); {
				case errors.Is(err, redis.Nil): // expired since SCAN saw it
				case err != nil:
					return err
				default:
					if ms, err := cmds[i].Int64(); err == nil && ms > time.Now().UnixMilli() {
						if err := add(strings.TrimPrefix(k, c.prefix), ms); err != nil {
							return err
						}
					}
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
	switch rdb := c.rdb.(type) {
	case *redis.ClusterClient:
		return rdb.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return scanNode(ctx, node) })
	case *redis.Ring:
		return rdb.ForEachShard(ctx, func(ctx context.Context, node *redis.Client) error { return scanNode(ctx, node) })
	default:
		return scanNode(ctx, rdb)
	}
}

// apply records a revocation, never shortening one: one that Redis holds,
// or that this instance has just written there, so that its own Revoked
// sees it at once. It reports false, and the copy is no longer healthy,
// when the copy would outgrow its bound: it stops growing, the instance
// asks Redis instead, and keepFresh tries a full load later.
func (c *localCache) apply(id string, ms int64) bool {
	if ms <= time.Now().UnixMilli() {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loading != nil {
		c.loading[id] = max(c.loading[id], ms)
	}
	cur, ok := c.until[id]
	switch {
	case ok:
		c.until[id] = max(cur, ms)
	case len(c.until) < c.max:
		c.until[id] = ms
	default:
		c.healthy, c.full = false, true
		return false
	}
	return true
}

func (c *localCache) isFull() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.full
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

// setFresh moves fresh forward to at, never back.
func (c *localCache) setFresh(at int64) {
	for {
		cur := c.fresh.Load()
		if at <= cur || c.fresh.CompareAndSwap(cur, at) {
			return
		}
	}
}

func (c *localCache) setHealthy() {
	c.mu.Lock()
	changed := !c.healthy
	c.healthy, c.lastErr, c.attempt = true, nil, 0
	c.mu.Unlock()
	if changed {
		c.log.Info("local revocation cache healthy: answering from memory")
		if c.onHealth != nil {
			h := c.health()
			h.Healthy = true // even if the load took longer than the window
			c.onHealth(h)
		}
	}
}

// setUnhealthy stops answers from memory and forgets the copy, which is
// reloaded in full before it is trusted again. It reports whether the
// copy was healthy.
func (c *localCache) setUnhealthy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	was := c.healthy
	c.healthy = false
	clear(c.until)
	return was
}

// answering reports whether answers come from memory: the copy is loaded
// and was known to be current within the last read timeout. c.mu is held.
func (c *localCache) answering() bool {
	return c.healthy && time.Duration(c.now()-c.fresh.Load()) <= c.window
}

// revoked answers from memory, and ok is false when the copy may not.
func (c *localCache) revoked(id string) (revoked, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.answering() {
		c.fallbacks.Add(1)
		return false, false
	}
	ms, found := c.until[id]
	return found && ms > time.Now().UnixMilli(), true
}

func (c *localCache) health() CacheHealth {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return CacheHealth{Healthy: c.answering(), Err: c.lastErr, Attempt: c.attempt,
		Entries: len(c.until), LastResync: c.lastResync, Fallbacks: c.fallbacks.Load()}
}

func (c *localCache) close() {
	c.stop()
	<-c.done
}
