// Package redisstore keeps logout state in Redis, for an app that runs as
// many instances behind a load balancer:
//
//   - Revocations is a session.RevocationList shared by every instance, so a
//     logout through one instance makes the old cookie fail on all of them.
//     Each entry expires at its "until" through Redis's own key expiry.
//   - Queue is an outbox.Queue for outbox.Outbox whose entries survive an app
//     restart and are shared by every instance's workers. Tokens are sealed
//     with AES-GCM under a key the app passes in, so Redis (and its
//     persistence files and backups) never holds one in plain text.
//
// Both take any redis.UniversalClient (a *redis.Client, a
// *redis.ClusterClient, a failover client or a *redis.Ring) that the app
// configures and closes. To start from a URL instead, call Connect:
//
//	rdb, err := redisstore.Connect(ctx, os.Getenv("REDIS_URL")) // redis://user:password@host:6379/0
//	if err != nil { ... }
//	defer rdb.Close()
//	revocations, err := redisstore.NewRevocations(rdb)
//
// # Keys
//
// Every key starts with a prefix, "centralauth:" unless WithPrefix says
// otherwise: "<prefix>revoked:<session ID>" for a revocation (a string that
// holds its expiry), "<prefix>outbox:due" for the queue's index (a sorted
// set of entry IDs scored by when each is next visible, in milliseconds
// since the epoch) and "<prefix>outbox:e:<entry ID>" for each queued entry
// (a hash of the sealed token, when it was enqueued, its attempts, and the
// current lease). Give apps that share one Redis different prefixes.
//
// The queue changes several keys at once in Lua scripts, which Redis Cluster
// runs only when all of a script's keys are in one hash slot (and a
// *redis.Ring only when they are on one shard). With either, give NewQueue
// a prefix with a hash tag, such as "{centralauth}:", so that all its keys
// hash on "centralauth" alone; NewQueue refuses a prefix without one. Revocations touch one key per call and need
// no hash tag; without one they spread over the cluster.
//
// # Server requirements
//
// Redis 6.2 or later (or a compatible server that runs Lua scripts and
// SET ... PXAT). Configure it with maxmemory-policy noeviction: an
// eviction policy would drop revocations (making logged-out cookies valid
// again) or queued logouts. For the queue to survive a Redis restart, turn
// on persistence (appendonly yes; appendfsync everysec loses at most a
// second of writes on a crash, always loses none).
package redisstore
