// Package apikey issues and verifies API keys, and manages them the way an
// admin panel's "API Keys" tab does: each key has a name, one or more
// permission groups, a status, a creation date, a last-used date and the
// administrator who created it.
//
// # Keys
//
// A key looks like "ak_3Fq9Lw0ZpQ2mY7c1Hn8Rt5VkXe4sBa6DgJo2Iu9WyN3Clx7Ab": a prefix, then
// a lookup ID, a secret of at least 160 bits and a CRC-32C checksum, in base62.
// [Manager.Issue] returns the plaintext exactly once; the Store keeps only a
// hash and a preview such as "ak_3Fq9…x7Ab".
//
// # Verifying
//
// [Manager.Verify] refuses malformed strings before touching the Store, finds
// the key by its lookup ID in one indexed lookup, compares hashes in constant
// time, and checks status and expiry. [Authenticator] does this for every HTTP
// request and enforces group scopes.
//
// # Stores
//
// A [Store] keeps the records: package memstore in memory, package sqlstore
// in PostgreSQL, MySQL/MariaDB or SQLite. Package storetest checks that a
// Store honours the contract.
//
// # Security model
//
// Only hashes are stored; plaintext keys are never logged or put in errors;
// comparisons are constant time; a Store failure is never mistaken for an
// invalid key (callers fail closed); an administrator acting through
// [NewActorContext] can grant only groups they hold.
//
// Forged keys. The checksum is public, so anyone can make strings that pass
// it, with a lookup ID of their choosing, and each must be looked up to be
// refused. For a Store outside memory (a database) the Manager keeps a
// negative cache: a lookup ID the Store reported unknown is refused from
// memory, whatever secret comes with it, for at most one second (no longer
// than [VerifyCache.TTL], nor than the change feed's staleness bound
// [VerifyCache.FeedMaxStale] when it follows one), so that one forged key
// sent again and again costs at most one Store call per second. It is
// bounded (16 384 lookup IDs, about 1 MiB) and separate from the
// verification cache: a flood of distinct forged lookup IDs cannot evict a
// verified key or grow memory without bound, but once it is full each
// distinct forged ID costs one indexed lookup, as without it. That cost is
// the application's to limit: rate-limit clients (by address, or by
// whatever identifies a client before its key is verified), and count
// refusals ([Stats.Invalid], [Stats.NegativeHits], the middleware's
// [AuthConfig.OnFailure]) to see a flood. A key this Manager issues is never
// refused by the negative cache: Issue and Roll forget its lookup ID once it
// is stored. A key issued by another Manager is refused by this one for at
// most the entry's lifetime, and less when the change feed reports it
// issued. memstore answers a miss from memory already: no negative cache.
//
// The record that [Manager.Verify] returns may be shared by every
// verification of the key (memstore and the cache hand out the record they
// hold; see [Store]): it is read-only, and the library never changes it.
//
// # Options
//
// [New] takes options, and one rule holds for every option that takes a
// number or a duration: zero means the option's default, and a negative
// value turns the feature off where it can be off ([WithLastUsedFlushInterval]:
// no background flush; [WithVerifyDeadline]: no deadline; [WithOwnerQuota]:
// no limit, which is also its default). Where off cannot be allowed, a
// negative value is an error, and the option says so: the close timeout
// stays bounded ([WithCloseTimeout]), a secret keeps its entropy
// ([WithSecretBits]), and the cache's fields ([VerifyCache]) are turned off
// by leaving [WithVerifyCache] out. A value out of an option's range makes
// New return an error; no value is silently corrected. The verification
// cache, its size and following the change feed are one option value,
// [VerifyCache]: a feed without a cache cannot be configured.
//
// # Monitoring
//
// [Manager.Stats] returns counters an exporter reads as they are: every
// outcome is counted in exactly one counter of its family, so totals are
// sums, and a distribution of verification latency in fixed buckets
// ([Stats.VerifyLatency]). Counting takes no lock and no clock read beyond
// those a verification makes anyway. See the Example of Manager.Stats for
// expvar, and examples/prometheus and examples/otel for Prometheus and
// OpenTelemetry.
//
// # Usage metering
//
// With a Store that is a [UsageStore] (memstore and sqlstore are), the
// Manager counts every use of a genuine key per key, hour (UTC) and
// outcome ([UsageOutcome]: verified; refused as inactive, expired,
// missing scope, rate limited or out of credits). Uses of malformed,
// unknown or forged keys are not metered: no key can be blamed. A refusal
// by a scope check of the middleware moves the use from verified to
// missing scope. Counting happens in memory, in the same shards as the
// last-used times (no lock shared by all verifications, no allocation, no
// extra clock read), and the counts go to the Store with every last-used
// flush ([WithLastUsedFlushInterval]), as one [UsageBatch]: one row per key,
// hour and outcome used since the last flush, never one write per request.
// A batch carries an ID that the Store records in the same transaction, so
// a batch retried after a lost reply counts once. Close writes what is left;
// what it cannot write is counted in [Stats.UsageLost] and reported in its
// error, as lost last-used times are.
//
// Read it with [Manager.Usage]: a key's uses, or an owner's totals and its
// busiest keys, by hour or by day, owner-isolated as every read. Usage is
// kept until [Manager.PruneUsage] deletes it: call it daily; with no age it
// keeps [DefaultUsageRetention], 90 days. [Stats.UsageRows] counts the rows
// flushes wrote.
package apikey
