// Package redisstore keeps logout state in Redis, shared by every instance
// of an app: Revocations is a session.RevocationList, and Queue is an
// outbox.Queue whose entries survive a restart.
//
// Both take a redis.UniversalClient (a *redis.Client, a *redis.ClusterClient,
// a failover client or a *redis.Ring) that the app configures and closes, or
// that Connect opens from a URL, and a prefix that starts every key:
//
//	rdb, err := redisstore.Connect(ctx, os.Getenv("REDIS_URL")) // redis://user:password@host:6379/0
//	if err != nil { ... }
//	defer rdb.Close()
//	revocations, err := redisstore.NewRevocations(rdb, "centralauth:")
//
// "<prefix>revoked:<session ID>" holds a revocation until Redis's own key
// expiry deletes it; "<prefix>outbox:due" (a sorted set) and
// "<prefix>outbox:e:<entry ID>" (hashes) hold the queue, with tokens as
// outbox.Outbox sealed them. Give apps that share a Redis different
// prefixes, and a queue on Redis Cluster or a Ring one with a hash tag,
// such as "{centralauth}:", since its Lua scripts touch several keys.
//
// Run Redis 6.2 or later with maxmemory-policy noeviction, which keeps
// revocations and queued logouts from being evicted, and appendonly yes for
// the queue to survive a Redis restart. docs/operations.md has the details.
package redisstore
