package redisstore_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/centralauth-go/logout/internal/faultproxy"
	"github.com/centralauth-go/logout/internal/redistest"
	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/redisstore"
)

// faultWindow is the read timeout of the fault tests' clients, and so the
// window of their local caches.
const faultWindow = 300 * time.Millisecond

// clientTo is a client of addr whose every timeout is the fault window,
// with no retries, as an app that wants outages noticed fast would set it.
func clientTo(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, ReadTimeout: faultWindow, WriteTimeout: faultWindow, DialTimeout: faultWindow, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// faultTally is what a fault run counts of B's checks.
type faultTally struct {
	revokes      int // revocations through A that Redis took
	checks       int // B's checks of a session revoked more than a window earlier
	failedClosed int // of those, answered with an error
	// stale: checks that said "not revoked" for a session revoked more
	// than a window before the check began. Must be 0.
	stale int
	// late: checks that began more than a window into the fault, ended
	// before it was lifted, and still answered, although Redis could not
	// be reached: answers from memory past the window. Must be 0.
	late int
}

// runFault revokes through a, directly, and checks through b, whose Redis
// is behind the fault, continuously: a while before, for the fault's
// length, and until b is healthy again after it. Every loop is bounded in
// count and in time.
func runFault(t *testing.T, a, b *redisstore.Revocations, length time.Duration, inject, lift func()) faultTally {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	var (
		mu        sync.Mutex
		revokedAt []time.Time // of session "s<i>", when Revoke returned
		faultFrom time.Time   // zero: no fault yet
		faultTo   time.Time   // zero: not lifted yet
		tally     faultTally
	)
	var wg sync.WaitGroup
	wg.Go(func() { // the revoker, through A
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 20_000; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			id := "s" + strconv.Itoa(len(revokedAt))
			if err := a.Revoke(ctx, id, time.Now().Add(time.Hour)); err != nil {
				continue // refused while Redis is stopped: not revoked
			}
			mu.Lock()
			revokedAt = append(revokedAt, time.Now())
			tally.revokes++
			mu.Unlock()
		}
	})
	// pick returns a session revoked more than a window ago, among the
	// 100 newest such, the likeliest to be missed.
	pick := func() (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		cutoff := time.Now().Add(-faultWindow)
		n := len(revokedAt)
		for n > 0 && !revokedAt[n-1].Before(cutoff) {
			n--
		}
		if n == 0 {
			return "", false
		}
		return "s" + strconv.Itoa(n-1-rand.IntN(min(n, 100))), true
	}
	for range 4 { // the checkers, through B
		wg.Go(func() {
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for range 40_000 {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				id, ok := pick()
				if !ok {
					continue
				}
				began := time.Now()
				revoked, err := b.Revoked(ctx, id)
				ended := time.Now()
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				tally.checks++
				switch {
				case err != nil:
					tally.failedClosed++
				case !revoked:
					tally.stale++
				}
				if err == nil && !faultFrom.IsZero() && began.After(faultFrom.Add(faultWindow)) && (faultTo.IsZero() || ended.Before(faultTo)) {
					tally.late++
				}
				mu.Unlock()
			}
		})
	}

	phase := func(d time.Duration) {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	phase(500 * time.Millisecond)
	inject()
	mu.Lock()
	faultFrom = time.Now()
	mu.Unlock()
	phase(length)
	mu.Lock()
	faultTo = time.Now()
	mu.Unlock()
	lift()
	testutil.WaitFor(t, 20*time.Second, "B to be healthy again after the fault", func() bool { return b.Health().Healthy })
	phase(500 * time.Millisecond)
	cancel()
	wg.Wait()
	t.Logf("%d revocations through A; %d checks on B of a session revoked more than %v earlier: %d refused, %d failed closed, %d answered \"valid\"; %d answered from memory past the window",
		tally.revokes, tally.checks, faultWindow, tally.checks-tally.failedClosed-tally.stale, tally.failedClosed, tally.stale, tally.late)

	// Every revocation that Redis took reaches B's copy afterwards: the
	// newest within moments, from its message.
	for i := range len(revokedAt) {
		id := "s" + strconv.Itoa(i)
		testutil.WaitFor(t, 10*time.Second, "B to refuse "+id+" after the fault", func() bool {
			r, err := b.Revoked(t.Context(), id)
			return err == nil && r
		})
	}
	return tally
}

// TestLocalCacheWindowHoldsThroughAPartition: the connection between B and
// Redis stays up but moves no bytes for 4 s, while A goes on revoking. B
// must never answer "not revoked" for a session revoked more than a window
// earlier, and must fail closed rather than answer from memory past it.
func TestLocalCacheWindowHoldsThroughAPartition(t *testing.T) {
	srv := redistest.Start(t)
	proxy := faultproxy.Start(t, srv.Addr())
	a := newRevocations(t, clientTo(t, srv.Addr()), stdPrefix)
	b := cachedRevocations(t, clientTo(t, proxy.Addr()), 1<<20)
	tally := runFault(t, a, b, 4*time.Second, proxy.Stall, proxy.Resume)
	if tally.stale != 0 || tally.late != 0 {
		t.Errorf("through a 4 s partition: %d checks said \"valid\" for a session revoked more than %v earlier, and %d answered from memory past the window; want 0 and 0",
			tally.stale, faultWindow, tally.late)
	}
	if tally.failedClosed == 0 {
		t.Error("no check failed closed during the partition: the fault was never noticed")
	}
}

// TestLocalCacheWindowHoldsWhenRedisStops: Redis is stopped (SIGSTOP) for
// 3 s. Its connections stay open and nothing is answered. Past the window,
// B must fail closed rather than answer from memory.
func TestLocalCacheWindowHoldsWhenRedisStops(t *testing.T) {
	srv := redistest.Start(t)
	a := newRevocations(t, clientTo(t, srv.Addr()), stdPrefix)
	b := cachedRevocations(t, clientTo(t, srv.Addr()), 1<<20)
	tally := runFault(t, a, b, 3*time.Second, srv.Pause, srv.Resume)
	if tally.stale != 0 || tally.late != 0 {
		t.Errorf("through a 3 s SIGSTOP: %d checks said \"valid\" for a session revoked more than %v earlier, and %d answered from memory past the window; want 0 and 0",
			tally.stale, faultWindow, tally.late)
	}
	if tally.failedClosed == 0 {
		t.Error("no check failed closed while Redis was stopped: the fault was never noticed")
	}
}

// TestLocalCacheClosesPromptly: Close does not wait for a blocked read to
// time out. The client's read timeout here is an hour, so a Close that
// waited for it would never return within the test's deadline.
func TestLocalCacheClosesPromptly(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), ReadTimeout: time.Hour})
	t.Cleanup(func() { _ = rdb.Close() })
	r, err := redisstore.NewRevocations(rdb, stdPrefix, redisstore.WithLocalCache(100))
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "the local cache to load", func() bool { return r.Health().Healthy })
	var closed atomic.Bool
	go func() {
		_ = r.Close()
		closed.Store(true)
	}()
	testutil.WaitFor(t, 10*time.Second, "Close to return", closed.Load)
}
