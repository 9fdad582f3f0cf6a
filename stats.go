package apikey

import (
	"context"
	"errors"
	"math/bits"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a Manager's counters, each counted since [New]
// and never reset: export them as counters (a Prometheus CounterFunc, an
// OpenTelemetry asynchronous counter, an expvar.Func) and let the
// monitoring system compute rates. Read it with [Manager.Stats].
//
// Counters come in families whose members are disjoint: every event is
// counted in exactly one member of its family, so a family's total is the
// sum of its members, and an exporter never subtracts one counter from
// another (which, read without a lock, could go below zero).
type Stats struct {
	// Verifications by outcome, one per call of Verify (and so one per
	// request the middleware verifies). Verified counts successes; Invalid
	// refusals wrapping ErrInvalidKey (malformed, unknown, wrong secret);
	// Inactive and Expired genuine keys that may not be used; Unavailable
	// verifications that failed closed (Store failure or deadline, closed
	// Manager, unreadable hash). Their sum is the number of calls.
	Verified, Invalid, Inactive, Expired, Unavailable uint64

	// How the verification cache ([WithVerifyCache]) answered a well-formed
	// key: CacheHits from the cache, CacheMisses not (the key was looked
	// up), StaleCacheBypasses not consulted because no poll of the change
	// feed had succeeded within its staleness bound. All stay zero without
	// a cache.
	CacheHits, CacheMisses, StaleCacheBypasses uint64

	// How a well-formed key that the cache did not answer was looked up:
	// NegativeHits were refused from memory as a lookup ID the Store had
	// just reported unknown (see "Forged keys" in the package doc),
	// SharedLookups waited for a lookup of the same key already in
	// progress and shared its result, StoreLookups called the Store
	// themselves.
	NegativeHits, SharedLookups, StoreLookups uint64

	// Failed Store calls of any operation, other than the documented
	// sentinels (ErrNotFound, ErrDuplicate, ErrConflict,
	// ErrQuotaExceeded): StoreTimeouts those that hit a deadline (the
	// verification deadline [WithVerifyDeadline], the caller's, or
	// Close's), StoreErrors all others. Their sum is the failed calls.
	StoreErrors, StoreTimeouts uint64

	// Flushes counts last-used writes to the Store that succeeded, and
	// FailedFlushes those that failed (their uses are kept for the next).
	Flushes, FailedFlushes uint64

	// UsesLost and KeysLost count the uses, and the keys they were uses
	// of, that Close could not write within its bound ([WithCloseTimeout]):
	// their last-used times are not recorded. Close logs them too.
	UsesLost, KeysLost uint64

	// Usage metering (see [Manager.Usage]; all stay zero with a Store
	// that is not a [UsageStore]): UsageFlushes counts the usage batches
	// written, FailedUsageFlushes the writes that failed (the batch is
	// retried, as it is, at the next flush), UsageRows the rows the
	// written batches held (one per key, hour and outcome used in the
	// batch), and UsageLost the metered uses that Close could not write
	// (also in Close's error and log).
	UsageFlushes, FailedUsageFlushes, UsageRows, UsageLost uint64

	// Polls of the change feed ([VerifyCache.FollowChanges]): FeedSuccesses
	// that succeeded, FeedFailures that failed (a poll cut short by Close
	// is neither); FeedEvents counts the events read. All stay zero
	// without a feed.
	FeedSuccesses, FeedFailures, FeedEvents uint64

	// FeedLag is a gauge, not a counter: how long ago the last successful
	// poll of the change feed started (since New if none has), at the
	// time of Stats; zero without a feed. A change is seen by this
	// Manager at most about FeedLag after it was made.
	FeedLag time.Duration

	// VerifyLatency is the distribution of the time verifications took
	// that waited for a Store outside memory (a database: the Store was
	// called, or a lookup in progress shared), from the start of Verify to
	// the Store's answer, in fixed buckets: bucket 0 counts those under
	// 1 µs, bucket i (1 to 10) those from 4^(i-1) to 4^i µs (1 to 4 µs, 4 to
	// 16 µs, ..., 262 ms to 1.05 s), and the last bucket those of 4^10 µs
	// (about 1.05 s) or more; see [VerifyLatencyBound]. Export it as a
	// histogram: each bucket is a counter. Verifications answered from
	// memory (a cache hit, a negative hit, an in-memory Store such as
	// memstore) are not in it: timing them would cost them a clock read
	// that they do not otherwise make.
	VerifyLatency [VerifyLatencyBuckets]uint64

	// RateLimited and NoCredits count requests refused by a rate limit and
	// by an exhausted credit balance (see [Manager.CheckLimits]);
	// LimiterFailures counts requests refused with 503 because their
	// limits could not be checked (the Limiter or the Store's credits
	// failed), and LimiterFallbacks the checks whose Limiter failed and
	// that were counted in process instead (see [WithLimiterFallback]):
	// disjoint, as every counter here.
	RateLimited, NoCredits, LimiterFailures, LimiterFallbacks uint64
}

// VerifyLatencyBuckets is the number of buckets of [Stats.VerifyLatency].
const VerifyLatencyBuckets = 12

// VerifyLatencyBound returns the upper bound (exclusive) of bucket i of
// [Stats.VerifyLatency]: 1 µs for bucket 0, 4^i µs for the others, and a
// negative duration (no bound) for the last bucket or an i out of range.
func VerifyLatencyBound(i int) time.Duration {
	if i < 0 || i >= VerifyLatencyBuckets-1 {
		return -1
	}
	return time.Microsecond << (2 * i)
}

// latencyBucket returns the bucket of [Stats.VerifyLatency] of d.
func latencyBucket(d time.Duration) int {
	if d < time.Microsecond {
		return 0
	}
	return min((bits.Len64(uint64(d/time.Microsecond))+1)/2, VerifyLatencyBuckets-1)
}

// Stats returns a snapshot of the Manager's counters. It is cheap (a few
// dozen atomic loads, no lock) and safe for concurrent use, also after
// Close.
func (m *Manager) Stats() Stats {
	c := &m.counters
	s := Stats{
		Invalid:            c.invalid.Load(),
		Inactive:           c.inactive.Load(),
		Expired:            c.expired.Load(),
		Unavailable:        c.unavailable.Load(),
		StoreErrors:        c.storeErrors.Load(),
		StoreTimeouts:      c.storeTimeouts.Load(),
		CacheMisses:        c.cacheMisses.Load(),
		StaleCacheBypasses: c.staleCacheBypasses.Load(),
		NegativeHits:       c.negativeHits.Load(),
		SharedLookups:      c.sharedLookups.Load(),
		Flushes:            c.flushes.Load(),
		FailedFlushes:      c.failedFlushes.Load(),
		UsesLost:           c.usesLost.Load(),
		KeysLost:           c.keysLost.Load(),
		UsageFlushes:       c.usageFlushes.Load(),
		FailedUsageFlushes: c.failedUsageFlushes.Load(),
		UsageRows:          c.usageRows.Load(),
		UsageLost:          c.usageLost.Load(),

		FeedSuccesses: c.feedSuccesses.Load(),
		FeedFailures:  c.feedFailures.Load(),
		FeedEvents:    c.feedEvents.Load(),
		FeedLag:       m.feedLag(),

		RateLimited:      m.limits.rateLimited.Load(),
		NoCredits:        m.limits.noCredits.Load(),
		LimiterFailures:  m.limits.failures.Load(),
		LimiterFallbacks: m.limits.fallbacks.Load(),
	}
	for i := range c.hot {
		h := &c.hot[i]
		s.Verified += h.verified.Load()
		s.CacheHits += h.cacheHits.Load()
		s.StoreLookups += h.storeLookups.Load()
	}
	for i := range c.latency {
		s.VerifyLatency[i] = c.latency[i].Load()
	}
	return s
}

// counters are the live values behind Stats. Those that every successful
// verification increments are sharded (hot), as the recorder of uses is,
// so that concurrent verifications do not all write one cache line.
type counters struct {
	hot [usageShards]hotCounters

	invalid, inactive, expired, unavailable atomic.Uint64
	storeErrors, storeTimeouts              atomic.Uint64
	cacheMisses, staleCacheBypasses         atomic.Uint64
	negativeHits, sharedLookups             atomic.Uint64
	flushes, failedFlushes                  atomic.Uint64
	usesLost, keysLost                      atomic.Uint64
	usageFlushes, failedUsageFlushes        atomic.Uint64
	usageRows, usageLost                    atomic.Uint64
	feedSuccesses, feedFailures, feedEvents atomic.Uint64
	latency                                 [VerifyLatencyBuckets]atomic.Uint64
}

// hotCounters is one shard of the hot counters, on its own cache lines.
type hotCounters struct {
	verified, cacheHits, storeLookups atomic.Uint64
	_                                 [128 - 24]byte
}

// countVerification counts the outcome of one Verify; shard is the random
// number of the verification.
func (c *counters) countVerification(shard uint32, err error) {
	switch {
	case err == nil:
		c.hot[shard%usageShards].verified.Add(1)
	case errors.Is(err, ErrInvalidKey):
		c.invalid.Add(1)
	case errors.Is(err, ErrInactive):
		c.inactive.Add(1)
	case errors.Is(err, ErrExpired):
		c.expired.Add(1)
	default:
		c.unavailable.Add(1)
	}
}

// countLatency counts a verification that waited d for its Store.
func (c *counters) countLatency(d time.Duration) {
	c.latency[latencyBucket(d)].Add(1)
}

// countStoreError counts a failed Store call, unless err is one of the
// sentinels a Store is documented to return.
func (c *counters) countStoreError(err error) {
	switch {
	case isStoreSentinel(err):
	case errors.Is(err, context.DeadlineExceeded):
		c.storeTimeouts.Add(1)
	default:
		c.storeErrors.Add(1)
	}
}

func isStoreSentinel(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrDuplicate) || errors.Is(err, ErrConflict) || errors.Is(err, ErrQuotaExceeded)
}
