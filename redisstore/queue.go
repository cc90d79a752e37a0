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
	"github.com/centralauth-go/logout/remote"
)

var _ outbox.Queue = (*Queue)(nil)

// maxForeignKeyAge is how long an entry sealed under another key waits for
// an instance that has that key: the Outbox's default maximum age.
const maxForeignKeyAge = 24 * time.Hour

// Queue is an outbox.Queue in Redis: its entries survive an app restart and
// are shared by the workers of every instance that uses the same Redis,
// prefix and encryption key. Claim, Ack and Release are atomic Lua scripts,
// so two workers never hold the same entry at once, and a worker whose
// lease ran out cannot Ack or Release an entry another worker now holds.
// Tokens are stored sealed with AES-GCM. It is safe for concurrent use.
type Queue struct {
	rdb         redis.UniversalClient
	sealer      *sealer
	due         string // the sorted set of entry IDs by visible-at time
	entryPrefix string // + entry ID = the entry's hash
	maxEntries  int64
}

// NewQueue returns a queue kept in rdb, which the caller configures and
// closes. encryptionKey (16, 24 or 32 random bytes: AES-128, -192 or -256;
// it is not kept) seals every token; all instances must share it, and a
// token sealed under one key cannot be read under another, so change it
// only when the queue is empty (Len 0). It takes WithPrefix and
// WithMaxEntries. Errors match ErrInvalidConfig and never contain the key.
//
// With a *redis.ClusterClient or a *redis.Ring, the prefix must hold a hash
// tag, such as "{centralauth}:", because the queue's scripts touch several
// keys that must live in one slot; NewQueue refuses a prefix without one
// rather than fail with CROSSSLOT at the first Enqueue.
func NewQueue(rdb redis.UniversalClient, encryptionKey []byte, opts ...Option) (*Queue, error) {
	cfg, err := newConfig(rdb, true, opts)
	if err != nil {
		return nil, err
	}
	if sharded(rdb) && !hasHashTag(cfg.prefix) {
		return nil, configError("prefix %q has no hash tag, which a Redis Cluster or Ring needs to keep the queue's keys in one slot; use WithPrefix(%q)",
			cfg.prefix, "{"+strings.TrimSuffix(cfg.prefix, ":")+"}:")
	}
	s, err := newSealer(encryptionKey)
	if err != nil {
		return nil, err
	}
	return &Queue{
		rdb:         rdb,
		sealer:      s,
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

// Enqueue implements outbox.Queue: it stores a logout for token, sealed,
// due at now. It returns remote.ErrNoToken for an empty token, and an error
// matching outbox.ErrQueueFull when the queue holds its maximum.
func (q *Queue) Enqueue(ctx context.Context, token string, now time.Time) error {
	if token == "" {
		return remote.ErrNoToken
	}
	id := randomHex(12)
	n, err := enqueueScript.Run(ctx, q.rdb, []string{q.due, q.entryPrefix + id},
		id, q.sealer.seal(id, token), now.UnixMilli(), q.maxEntries).Int()
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
// An entry whose token cannot be decrypted is not handed out; Claim returns
// an error matching outbox.ErrUnreadableEntry instead. An entry that is
// corrupt or was tampered with is dropped. One sealed under another
// encryption key (an instance configured with a different key) is left for
// an instance that has that key, and dropped once it is older than 24h.
// Either way the next Claim moves on to other entries.
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
	e, sealed, err := parseClaimed(res)
	e.Lease = leaseToken
	if err == nil {
		e.Token, err = q.sealer.open(e.ID, sealed)
	}
	if err == nil {
		return e, true, nil
	}
	return outbox.Entry{}, false, q.unreadable(ctx, e, now, err)
}

// Bounds on an entry's fields. Anything outside them was not written by
// Enqueue and Release: the entry is corrupt, or was written by someone with
// access to Redis, and is dropped rather than trusted.
const (
	maxAttempts = 1_000_000
	maxUnixMS   = 253402300799999 // the end of the year 9999
)

// parseClaimed reads what claimScript returned, {id, sealed token,
// enqueued-at in ms, attempts}, strictly: a field that is missing, not a
// number or out of range makes the entry corrupt (errCorrupt). The entry
// ID is kept whenever there is one, so that the entry can be dropped.
func parseClaimed(res []any) (outbox.Entry, []byte, error) {
	e := outbox.Entry{ID: field(res, 0)}
	enq, err1 := strconv.ParseInt(field(res, 2), 10, 64)
	att, err2 := strconv.Atoi(field(res, 3))
	if len(res) != 4 || e.ID == "" || err1 != nil || err2 != nil ||
		enq <= 0 || enq > maxUnixMS || att < 0 || att > maxAttempts {
		return e, nil, errCorrupt
	}
	e.EnqueuedAt, e.Attempts = time.UnixMilli(enq), att
	return e, []byte(field(res, 1)), nil
}

// unreadable disposes of an entry that Claim could not open, and returns
// the error that says so.
func (q *Queue) unreadable(ctx context.Context, e outbox.Entry, now time.Time, cause error) error {
	var qerr error
	what := "dropped it"
	if errors.Is(cause, errForeignKey) && now.Sub(e.EnqueuedAt) <= maxForeignKeyAge {
		// Left as claimed: hidden for the lease, attempts unchanged, then
		// claimable again, by an instance that has the key. Making it due
		// at once would have this instance claim it again and again.
		what = "left it, hidden for the lease, for an instance that has that key"
	} else if e.ID != "" {
		qerr = q.Ack(ctx, e)
	}
	return errors.Join(fmt.Errorf("redisstore: outbox entry %s cannot be decrypted: %w; %s (%w)", e.ID, cause, what, outbox.ErrUnreadableEntry), qerr)
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

// Stats inspects every entry: Pending, Oldest and Attempted of
// outbox.Stats (the other counts are an Outbox's own). It reads no token.
// It costs O(n) in Redis, where it blocks other commands while it runs:
// it is for an operator's look during an outage, not for a metrics scrape
// (use Len).
func (q *Queue) Stats(ctx context.Context) (outbox.Stats, error) {
	res, err := statsScript.Run(ctx, q.rdb, []string{q.due, q.entryPrefix}).Int64Slice()
	if err != nil || len(res) != 3 {
		return outbox.Stats{}, fmt.Errorf("redisstore: queue stats: %w", cmp.Or(err, errCorrupt))
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
