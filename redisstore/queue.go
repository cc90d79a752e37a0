package redisstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/centralauth-go/logout/outbox"
)

var _ outbox.Queue = (*Queue)(nil)

// Queue is an outbox.Queue in Redis: its entries survive an app restart and
// are shared by the workers of every instance that uses the same Redis and
// prefix (and, for the outbox, the same outbox.WithEncryptionKey). Claim,
// Ack and Release are atomic Lua scripts, so two workers never hold the
// same entry at once, and a worker whose lease ran out cannot Ack or
// Release an entry another worker now holds. It stores the tokens as the
// outbox sealed them. It is safe for concurrent use.
type Queue struct {
	rdb         redis.UniversalClient
	due         string // the sorted set of entry IDs by visible-at time
	entryPrefix string // + entry ID = the entry's hash
	maxEntries  int64
}

// NewQueue returns a queue kept in rdb, which the caller configures and
// closes, under keys that start with prefix (see the package
// documentation). A nil client or an invalid option is an error matching
// ErrInvalidConfig.
//
// With a *redis.ClusterClient or a *redis.Ring, the prefix must hold a hash
// tag, such as "{centralauth}:", because the queue's scripts touch several
// keys that must live in one slot; NewQueue refuses a prefix without one
// rather than fail with CROSSSLOT at the first Enqueue.
func NewQueue(rdb redis.UniversalClient, prefix string, opts ...QueueOption) (*Queue, error) {
	cfg, err := newQueueConfig(rdb, prefix, opts)
	if err != nil {
		return nil, err
	}
	if sharded(rdb) && !hasHashTag(cfg.prefix) {
		return nil, configError("prefix %q has no hash tag, which a Redis Cluster or Ring needs to keep the queue's keys in one slot; use a prefix such as %q",
			cfg.prefix, "{"+strings.TrimSuffix(cfg.prefix, ":")+"}:")
	}
	return &Queue{
		rdb:         rdb,
		due:         cfg.prefix + "outbox:due",
		entryPrefix: cfg.prefix + "outbox:e:",
		maxEntries:  cfg.maxEntries,
	}, nil
}

// The scripts below touch only the keys they are given, except claimScript,
// which cannot know the entry's key before it has picked the entry and
// derives it from the entry-key prefix in KEYS[2]; with Redis Cluster a
// hash tag in the prefix keeps it in the slot of KEYS[1].

// enqueueScript adds an entry, unless the queue is bounded and full.
//
// KEYS[1]: due set; KEYS[2]: entry hash.
// ARGV[1]: entry ID; ARGV[2]: sealed token; ARGV[3]: now (ms); ARGV[4]: bound (0: none).
var enqueueScript = redis.NewScript(`
local bound = tonumber(ARGV[4])
if bound > 0 and redis.call('ZCARD', KEYS[1]) >= bound then return 0 end
redis.call('HSET', KEYS[2], 'tok', ARGV[2], 'enq', ARGV[3], 'att', '0')
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
`)

// claimScript hands out the entry that has been due the longest: it moves
// the entry's visible-at time to the end of the lease and records the new
// lease token, and returns {id, sealed token, enqueued-at, attempts}. An
// index member whose hash is missing (evicted, or deleted by hand) is
// removed and the next one tried; after 16 of them, which bounds the time
// the script holds Redis, it returns 0 to be run again.
//
// KEYS[1]: due set; KEYS[2]: entry-key prefix.
// ARGV[1]: now (ms); ARGV[2]: end of the lease (ms); ARGV[3]: lease token.
var claimScript = redis.NewScript(`
for _ = 1, 16 do
  local id = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)[1]
  if not id then return false end
  local key = KEYS[2] .. id
  local f = redis.call('HMGET', key, 'tok', 'enq', 'att')
  if f[1] then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
    redis.call('HSET', key, 'lease', ARGV[3])
    return {id, f[1], f[2] or '0', f[3] or '0'}
  end
  redis.call('ZREM', KEYS[1], id)
end
return 0
`)

// ackScript removes an entry if the caller still holds its lease.
//
// KEYS[1]: due set; KEYS[2]: entry hash. ARGV[1]: entry ID; ARGV[2]: lease token.
var ackScript = redis.NewScript(`
if redis.call('HGET', KEYS[2], 'lease') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
`)

// releaseScript makes an entry visible again at a given time, with its
// attempts recorded, if the caller still holds its lease.
//
// KEYS[1]: due set; KEYS[2]: entry hash.
// ARGV[1]: entry ID; ARGV[2]: lease token; ARGV[3]: next (ms); ARGV[4]: attempts.
var releaseScript = redis.NewScript(`
if redis.call('HGET', KEYS[2], 'lease') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], 'att', ARGV[4])
redis.call('HDEL', KEYS[2], 'lease')
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
return 1
`)

// Enqueue implements outbox.Queue: it stores the entry id, holding sealed,
// due at now. It returns an error matching outbox.ErrQueueFull when the
// queue holds its maximum. An id that is empty, or that holds a brace
// (which would move its key out of the prefix's hash slot), is an error.
func (q *Queue) Enqueue(ctx context.Context, id string, sealed []byte, now time.Time) error {
	if id == "" || strings.ContainsAny(id, "{}") {
		return fmt.Errorf("redisstore: enqueue: entry ID %q is empty or holds a brace", id)
	}
	n, err := enqueueScript.Run(ctx, q.rdb, []string{q.due, q.entryPrefix + id},
		id, sealed, now.UnixMilli(), q.maxEntries).Int()
	switch {
	case err != nil:
		return fmt.Errorf("redisstore: enqueue: %w", err)
	case n == 0:
		return fmt.Errorf("redisstore: %w (%d entries)", outbox.ErrQueueFull, q.maxEntries)
	}
	return nil
}

// Claim implements outbox.Queue: it hands out the entry that has been due
// the longest at now, hidden from other workers until now+lease.
//
// An entry whose fields are missing or out of range (corrupt, or edited in
// Redis) is not handed out but dropped, and Claim returns an error matching
// outbox.ErrUnreadableEntry instead, so the next Claim moves on to other
// entries.
func (q *Queue) Claim(ctx context.Context, now time.Time, lease time.Duration) (outbox.Entry, bool, error) {
	leaseToken := randomHex(16)
	var cmd *redis.Cmd
	for {
		cmd = claimScript.Run(ctx, q.rdb, []string{q.due, q.entryPrefix},
			now.UnixMilli(), now.Add(lease).UnixMilli(), leaseToken)
		// 0 is the script's "removed members without an entry; run me
		// again": giving up there would report nothing due while an
		// entry is, and hold it up for a poll interval.
		if n, err := cmd.Int(); err != nil || n != 0 {
			break
		}
	}
	res, err := cmd.Slice()
	if errors.Is(err, redis.Nil) {
		return outbox.Entry{}, false, nil
	}
	if err != nil {
		return outbox.Entry{}, false, fmt.Errorf("redisstore: claim: %w", err)
	}
	e, err := parseClaimed(res)
	if err != nil {
		return outbox.Entry{}, false, q.drop(ctx, e, leaseToken)
	}
	e.Lease = leaseToken
	return e, true, nil
}

// Bounds on an entry's fields. Anything outside them was not written by
// Enqueue and Release: the entry is corrupt, or was written by someone with
// access to Redis, and is dropped rather than trusted.
const (
	maxAttempts = 1_000_000
	maxUnixMS   = 253402300799999 // the end of the year 9999
)

// errCorrupt is what parseClaimed says of an entry it does not accept.
var errCorrupt = errors.New("redisstore: outbox entry corrupt")

// parseClaimed reads what claimScript returned, {id, sealed token,
// enqueued-at in ms, attempts}, strictly: a field that is missing, not a
// number or out of range makes the entry corrupt (errCorrupt). The entry
// ID is kept whenever there is one, so that the entry can be dropped.
func parseClaimed(res []any) (outbox.Entry, error) {
	e := outbox.Entry{ID: field(res, 0)}
	enq, err1 := strconv.ParseInt(field(res, 2), 10, 64)
	att, err2 := strconv.Atoi(field(res, 3))
	if len(res) != 4 || e.ID == "" || err1 != nil || err2 != nil ||
		enq <= 0 || enq > maxUnixMS || att < 0 || att > maxAttempts {
		return e, errCorrupt
	}
	e.Sealed, e.EnqueuedAt, e.Attempts = []byte(field(res, 1)), time.UnixMilli(enq), att
	return e, nil
}

// drop deletes a claimed entry that parseClaimed refused, and returns the
// error that says so.
func (q *Queue) drop(ctx context.Context, e outbox.Entry, lease string) error {
	var qerr error
	if e.ID != "" {
		e.Lease = lease
		qerr = q.Ack(ctx, e)
	}
	return errors.Join(fmt.Errorf("redisstore: outbox entry %s has fields out of range; dropped it (%w)", e.ID, outbox.ErrUnreadableEntry), qerr)
}

// Ack implements outbox.Queue: it deletes the entry if e.Lease is still its
// lease, and does nothing otherwise.
func (q *Queue) Ack(ctx context.Context, e outbox.Entry) error {
	if e.Lease == "" {
		return nil
	}
	if err := ackScript.Run(ctx, q.rdb, []string{q.due, q.entryPrefix + e.ID}, e.ID, e.Lease).Err(); err != nil {
		return fmt.Errorf("redisstore: ack: %w", err)
	}
	return nil
}

// Release implements outbox.Queue: if e.Lease is still the entry's lease,
// it records e.Attempts and makes the entry visible again at next;
// otherwise it does nothing.
func (q *Queue) Release(ctx context.Context, e outbox.Entry, next time.Time) error {
	if e.Lease == "" {
		return nil
	}
	err := releaseScript.Run(ctx, q.rdb, []string{q.due, q.entryPrefix + e.ID},
		e.ID, e.Lease, next.UnixMilli(), e.Attempts).Err()
	if err != nil {
		return fmt.Errorf("redisstore: release: %w", err)
	}
	return nil
}

// statsScript walks the queue: its length, the oldest enqueued-at (ms, 0
// for none) and how many entries are past their first attempt.
//
// KEYS[1]: due set; KEYS[2]: entry-key prefix.
var statsScript = redis.NewScript(`
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local oldest, attempted = 0, 0
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', KEYS[2] .. id, 'enq', 'att')
  local enq, att = tonumber(f[1]), tonumber(f[2])
  if enq and enq > 0 and (oldest == 0 or enq < oldest) then oldest = enq end
  if att and att > 0 then attempted = attempted + 1 end
end
return {#ids, oldest, attempted}
`)

// Stats implements outbox.Queue: it inspects every entry for Pending,
// Oldest and Attempted. It costs O(n) in Redis, where it blocks other commands while it runs:
// it is for an operator's look during an outage, not for a metrics scrape
// (use Len).
func (q *Queue) Stats(ctx context.Context) (outbox.Stats, error) {
	res, err := statsScript.Run(ctx, q.rdb, []string{q.due, q.entryPrefix}).Int64Slice()
	if err != nil || len(res) != 3 {
		return outbox.Stats{}, fmt.Errorf("redisstore: queue stats: %w", cmp.Or(err, errors.New("unexpected reply")))
	}
	st := outbox.Stats{Pending: res[0], Attempted: res[2]}
	if res[1] > 0 {
		st.Oldest = time.UnixMilli(res[1])
	}
	return st, nil
}

// Len implements outbox.Queue: the number of entries, claimed ones
// included, across all instances.
func (q *Queue) Len(ctx context.Context) (int64, error) {
	n, err := q.rdb.ZCard(ctx, q.due).Result()
	if err != nil {
		return 0, fmt.Errorf("redisstore: queue length: %w", err)
	}
	return n, nil
}

// field returns res[i] as a string, or "" when it is missing or not one.
func field(res []any, i int) string {
	if i >= len(res) {
		return ""
	}
	s, _ := res[i].(string)
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
