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
// [NewActorContext] can grant only groups they hold.
package apikey
