// Package apikey issues and verifies API keys, and manages them the way an
// admin panel's "API Keys" tab does: each key has a name, one or more
// permission groups, a status, a creation date, a last-used date and the
// administrator who created it. The README is the door (install, quick
// start, middleware, stores, admin page, command line); this page is the
// reference, and its examples run as tests.
//
// # Keys
//
// Every key is <prefix>_<body>, all base62 after the prefix:
//
//	ak_3Fq9Lw0ZpQ2m Y7c1Hn8Rt5VkXe4sBa6DgJo2Iu9WyN3 Clx7Ab
//	└┘ └lookup ID─┘ └─────────── secret ────────────┘ └check┘
//	prefix
//
// The parts:
//
//   - The prefix is 1 to 16 characters of [a-z0-9_], yours ([WithPrefix],
//     default [DefaultPrefix], "ak"). It tells your keys apart from other
//     vendors', and secret scanners can match it.
//   - The lookup ID is 12 random base62 characters, public: it finds the
//     record with one indexed lookup, whatever the [Hasher].
//   - The secret holds at least 160 bits from crypto/rand ([WithSecretBits],
//     never below 128). It proves possession; only its hash is stored.
//   - The checksum is the CRC-32C of everything before it, in 6 base62
//     characters (as GitHub tokens carry a CRC32): a typo, a truncated or a
//     random string is refused before any Store call.
//
// The body length depends only on the secret size ([KeyBodyLength]): 49
// characters at the default 160 bits, so a default key is 52 characters.
//
// [Manager.Issue] returns the plaintext exactly once; the Store keeps only a
// hash and the preview, such as "ak_3Fq9…x7Ab": the prefix, the first 4
// characters of the lookup ID and the last 4 of the checksum. The "…" is
// outside the key alphabet, so a preview never parses as a key. [ParseKey]
// takes any string (any length, any bytes) and returns its parts or an
// error wrapping [ErrInvalidKey]; strings over 256 bytes are refused before
// anything else is done with them.
//
// Choose a prefix of your own (your product's name: "acme", "acme_live",
// "acme_test"), never one that secret scanners attribute to another vendor,
// such as Stripe's secret-key prefixes, GitHub's ghp, gho and ghs, Slack's
// xoxb and xoxp or GitLab's glpat. A scanner that knows your prefix tells
// your customers whose key leaked; one that sees another vendor's sends
// them to that vendor.
//
// # Verifying
//
// [Manager.Verify] refuses malformed strings before touching the Store, finds
// the key by its lookup ID in one indexed lookup, compares hashes in constant
// time, and checks status and expiry. [Authenticator] does this for every HTTP
// request and enforces group scopes.
//
// # Managing keys
//
// [Manager.Issue], [Manager.Get], [Manager.List] (paged by cursor, filtered by
// status, group and part of the name), [Manager.Count], [Manager.Rename],
// [Manager.SetGroups], [Manager.Activate], [Manager.Deactivate] (no
// verification that starts after it returns succeeds),
// [Manager.SetExpiry], [Manager.Roll], [Manager.Prune] and [Manager.Delete].
// With a context from [NewActorContext] each call acts for an administrator:
// an administrator grants only groups they hold and changes only keys whose
// groups they all hold ([ErrEscalation]), in one atomic check-and-change.
// [WithGroups] registers the known groups; any other is [ErrUnknownGroup].
// Groups are [A-Za-z0-9_:.-], matched byte for byte. Names are 1 to 255
// characters of valid UTF-8 without control or bidirectional-override
// characters, stored verbatim.
//
// Rolling ([Manager.Roll]) issues a key's successor and gives the old key a
// grace period, with Deprecation and Sunset headers on its requests meanwhile;
// [WithExpiryPolicy] sets default and maximum lifetimes. The rules and the
// runbooks are in docs/rotation.md of the repository.
//
// # Owners
//
// A SaaS gives each customer organization its own tab: a key's Owner is an
// opaque ID that you choose ([A-Za-z0-9_.:@-], up to 128 bytes), set when it
// is issued and never changed, and the verified key tells a handler whose
// data it may touch. An administrator acting for one owner ([Actor].Owner)
// lists, reads, changes and deletes only that owner's keys: another owner's
// key is [ErrNotFound], exactly as a key that does not exist, and the Store
// checks the owner atomically with each change. Only an explicit operator
// ([Actor].AllOwners, or trusted code with no actor) sees every owner. Keys
// may also carry Metadata, up to 16 string entries and 4 KiB, returned
// verbatim and never used to authorize anything nor logged.
// [WithOwnerQuota] caps the keys of each owner atomically: of concurrent
// issues at the limit, exactly the allowed number succeed
// ([ErrQuotaExceeded]). Keys stored before owners existed belong to
// [DefaultOwner] after a migration; an actor without an Owner acts for it,
// so a single-tenant application needs none of this.
//
// # Errors
//
// Every error unwraps to a sentinel of the var block in errors.go, to test
// with [errors.Is]; the README lists them all. Verification refuses with
// [ErrInvalidKey], [ErrInactive] or [ErrExpired] only when it knows; a Store
// failure or timeout wraps [ErrStoreFailure] instead (fail closed). The HTTP
// layer reports its own causes ([ErrMissingKey], [ErrMultipleKeys],
// [ErrMalformedCredentials], [ErrInsufficientScope], [ErrVerifyPanic]) in
// [AuthError].Err, and decides what the client sees: a status and an RFC
// 6750 code, never which check failed. Errors that need details carry them
// as fields and unwrap to their sentinel: [*EscalationError] names the
// missing groups, [*ValidationError] the rule that failed.
//
// # Failing closed on time
//
// A database rarely fails by going down; it fails by getting slow, or by a
// lock that freezes a table. The Manager bounds every verification:
//
//   - Verification deadline: Verify waits at most 3 s for its Store, the wait
//     for a free connection of the pool included. Past it, the error wraps
//     [ErrStoreFailure] and [context.DeadlineExceeded], and the middleware
//     answers 503 with Retry-After (never 401). Change it with
//     [WithVerifyDeadline]; turning it off takes an explicit negative value
//     and leaves only the caller's context to bound the Store.
//   - One Store call per key at a time: concurrent verifications of the same
//     key share one Store call. A failure is shared with those waiting for
//     it and never cached.
//   - Bounded Close: [Manager.Close] cancels a last-used flush in progress,
//     retries the uses still in memory and returns within 5 s
//     ([WithCloseTimeout]) whatever the database does. Uses it could not
//     write are logged, counted in [Stats] (UsesLost, KeysLost) and reported
//     in its error.
//
// A Store that answers from memory (memstore) is called without the
// deadline's timer and without sharing, which would only cost time.
//
// # Last used
//
// Verify records each use in memory; the Manager writes them to the Store in
// one batch per flush interval ([WithLastUsedFlushInterval], default 30 s)
// and on Close. N requests on one key cost at most one Store write per
// interval; the last-used time is exact but up to one interval late, and
// never moves backwards. A failed flush is logged and retried at the next,
// never failing a request.
//
// # Statistics
//
// [Manager.Stats] returns counters kept since New: verifications by outcome,
// Store failures and timeouts, cache hits and misses, shared lookups,
// flushes, lost uses, and the change feed's polls, failures, events and lag.
// They only grow (FeedLag is a gauge): export them as counters, with expvar
// as in the example of [Manager.Stats], Prometheus (one CounterFunc per
// field) or OpenTelemetry (one observable counter per field).
//
// # Audit trail
//
// A Store that is an [EventStore] (memstore and sqlstore are) records an
// [Event] for every change of a key: issued, renamed, groups changed,
// activated, deactivated, rolled (and issued for the successor), expiry
// changed, deleted and pruned. An event carries a Store-wide increasing
// Position, the time from the Manager's clock, the key's Owner and KeyID, who
// made the change (ActorID and ActorName from the [Actor]; [OperatorName] for
// trusted code without one), its Kind and the Old and New values it touched.
// It never carries a secret, a hash, a lookup ID or a plaintext. Trusted code
// names itself, and says why, with [NewChangeContext]; the name and reason
// are cleaned (keys redacted to previews, control characters replaced) and
// cut to 255 bytes.
//
// The event is written atomically with its change, in the same transaction
// (sqlstore) or under the same lock (memstore): a refused change writes
// nothing, and an event never exists without its change. Events outlive their
// key. [Manager.Events] reads them newest or oldest first, paged, within the acting
// administrator's organization; [Manager.PruneEvents] (operators only)
// deletes older ones, and nothing else does. sqlstore gives positions from
// one row locked until commit, so a reader that has seen position p never
// later finds a new event below p; the price is that key changes (not
// verifications) are serialized Store-wide.
//
// # Change feed
//
// [VerifyCache.FollowChanges] makes a Manager follow its Store's events: one
// goroutine, stopped by Close, reads the events after the last position it
// saw every [VerifyCache.FeedInterval] (default 200 ms) and drops its cached verification of every key
// they name. A deactivation, deletion, group removal or zero-grace roll made
// anywhere (another instance, the command line) then reaches every instance
// within the poll interval plus one query, whatever the cache's TTL. If the
// feed cannot be read, the cache fails safe: once no poll has succeeded for
// [VerifyCache.FeedMaxStale] (default 2 s), cached verifications are
// not served until a poll succeeds. The revocation bound measured on SQLite,
// PostgreSQL and MariaDB is in docs/performance.md of the repository.
//
// # Leak response
//
// [Manager.Identify] returns the record of a found key, active or not,
// checking its secret, without recording a use. [FindKeys] is the matcher of
// the apikey scan command, for scanners of your own; [RedactKeys] replaces
// every key in a string by its preview, before you log or show it;
// [PreviewOf] and [KeyBodyLength] complete them. The runbook is
// docs/leak-response.md of the repository, and package secretscan is the
// endpoint of GitHub's secret scanning partner program.
//
// # Stores
//
// A [Store] keeps the records: package memstore in memory, package sqlstore
// in PostgreSQL, MySQL/MariaDB or SQLite. A Store is a small contract (see
// its doc: context first, every method's sentinel errors written down);
// optional capabilities ([EventStore] and the others in store.go) are
// interfaces found by type assertion. Every implementation, yours included,
// passes the conformance suite of package storetest, which is itself tested
// against deliberately broken stores and adds nothing to your module graph:
//
//	func TestMyStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) apikey.Store { return mystore.New() })
//	}
//
// # Listing
//
// [Manager.List] pages through keys in one of the orders of [ListSort]
// (oldest first by default; newest first, by name, by expiry), filtered by
// owner, status, group, name, preview and [ListOptions.ExpiringBefore].
// StatusActive lists the keys that work now ([Key.Works]); [Key.State]
// says why a key does not. Every order but the oldest first, and the
// filters a plain Store need not honour, need a [SortedLister]: without
// one, List returns an error wrapping errors.ErrUnsupported rather than an
// unfiltered list. [Page.Next] is opaque and valid only in its order.
//
// # Usage limits
//
// A key may carry [Limits]: named rate limits ([RateLimit], "N per D",
// counted by GCRA: N at once, N per D on average) and credits
// ([CreditPolicy]: a balance spent by each request's cost, never below
// zero, optionally refilled daily or monthly in UTC). Each limit or balance
// belongs to the key or, with [ScopeOwner], to its owner and is shared by
// all the owner's keys. [WithOwnerLimits] gives an owner's defaults; a
// key's own limits override them ([Manager.EffectiveLimits]).
//
// The Authenticator meters every request after authentication and scope
// checks ([Authenticator.Limit] sets a route's cost): several limits are
// charged all or nothing, a refused request costs nothing, and the answer
// is 429 with Retry-After, RateLimit-Policy and RateLimit fields and a
// problem document naming the limit ([ProblemRateLimited],
// [ProblemNoCredits]). Rate limits are counted in process by default
// (exact within one process) or by a shared [Limiter] such as package
// redislimit (exact across instances), chosen with [WithLimiter]. Credits
// are always spent on the Store ([LimitStore], one conditional statement
// per request), which is their source of truth. When the counters cannot
// be reached the request is refused with 503, or counted in process with
// [WithLimiterFallback]; both are counted in [Stats].
//
//	k, plaintext, err := m.Issue(ctx, apikey.IssueRequest{Name: "ci", Groups: []string{"read"}, CreatedBy: "ops",
//		Limits: &apikey.Limits{Rates: []apikey.RateLimit{{Name: "requests", Limit: 100, Period: time.Minute}},
//			Credits: &apikey.CreditPolicy{Refill: &apikey.Refill{Amount: 10000, Interval: apikey.RefillMonthly}}}})
//	_, err = m.ChangeCredits(ctx, apikey.CreditAccount{KeyID: k.ID}, &balance, 0) // audited: EventCreditsChanged
//
// # Security model
//
// Only hashes are stored; plaintext keys are never logged or put in errors;
// comparisons are constant time; a Store failure is never mistaken for an
// invalid key (callers fail closed); an administrator acting through
// [NewActorContext] can grant only groups they hold, and sees only their
// owner's keys. Hashes are self-describing (PHC style), so the [Hasher] can
// change at any time: old keys still verify and are re-hashed on their next
// successful use. SHA-256 is the default because a key with 160 random bits
// cannot be guessed from its hash; [HMACHasher] adds a server-side pepper.
// The caller's duties: serve over TLS, keep keys out of your own logs, choose
// a prefix of your own, and with a verification cache either follow the
// change feed or accept that another instance may accept a revoked key for up
// to the cache's TTL.
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
