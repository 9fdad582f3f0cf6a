package apikey

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a Manager's counters, each counted since [New]
// and never reset: export them as counters (a Prometheus CounterFunc, an
// OpenTelemetry asynchronous counter, an expvar.Func) and let the
// monitoring system compute rates. Read it with [Manager.Stats].
type Stats struct {
	// Verifications by outcome, one per call of Verify (and so one per
	// request the middleware verifies). Verified counts successes; Invalid
	// refusals wrapping ErrInvalidKey (malformed, unknown, wrong secret);
	// Inactive and Expired genuine keys that may not be used; Unavailable
	// verifications that failed closed (Store failure or deadline, closed
	// Manager, unreadable hash).
	Verified, Invalid, Inactive, Expired, Unavailable uint64

	// StoreFailures counts Store calls of any operation that failed with
	// something other than the documented sentinels (ErrNotFound,
	// ErrDuplicate, ErrConflict), timeouts included; StoreTimeouts counts
	// those of them that hit a deadline: the verification deadline
	// ([WithVerifyDeadline]), the caller's, or Close's.
	StoreFailures, StoreTimeouts uint64

	// CacheHits and CacheMisses count lookups in the verification cache
	// ([WithVerifyCache]); both stay zero without it.
	CacheHits, CacheMisses uint64

	// SharedLookups counts verifications that did not call the Store
	// themselves but waited for a lookup of the same key already in
	// progress, and shared its result.
	SharedLookups uint64

	// Flushes counts last-used writes to the Store that succeeded, and
	// FailedFlushes those that failed (their uses are kept for the next).
	Flushes, FailedFlushes uint64

	// UsesLost and KeysLost count the uses, and the keys they were uses
	// of, that Close could not write within its bound ([WithCloseTimeout]):
	// their last-used times are not recorded. Close logs them too.
	UsesLost, KeysLost uint64

	// FeedPolls counts the polls of the change feed ([WithChangeFeed]),
	// FeedFailures those that failed, and FeedEvents the events read.
	// StaleCacheBypasses counts verifications that did not use the
	// verification cache because no poll had succeeded within the feed's
	// staleness bound. All stay zero without a feed.
	FeedPolls, FeedFailures, FeedEvents, StaleCacheBypasses uint64

	// FeedLag is a gauge, not a counter: how long ago the last successful
	// poll of the change feed started (since New if none has), at the
	// time of Stats; zero without a feed. A change is seen by this
	// Manager at most about FeedLag after it was made.
	FeedLag time.Duration

	// RateLimited and NoCredits count requests refused by a rate limit and
	// by an exhausted credit balance (see [Manager.CheckLimits]);
	// LimiterFailures counts checks that failed (the Limiter or the
	// Store's credits), and LimiterFallbacks those of them counted in
	// process instead (see [WithLimiterFallback]).
	RateLimited, NoCredits, LimiterFailures, LimiterFallbacks uint64
}

// Stats returns a snapshot of the Manager's counters. It is cheap (a dozen
// atomic loads) and safe for concurrent use, also after Close.
func (m *Manager) Stats() Stats {
	c := &m.counters
	return Stats{
		Verified:      c.verified.Load(),
		Invalid:       c.invalid.Load(),
		Inactive:      c.inactive.Load(),
		Expired:       c.expired.Load(),
		Unavailable:   c.unavailable.Load(),
		StoreFailures: c.storeFailures.Load(),
		StoreTimeouts: c.storeTimeouts.Load(),
		CacheHits:     c.cacheHits.Load(),
		CacheMisses:   c.cacheMisses.Load(),
		SharedLookups: c.sharedLookups.Load(),
		Flushes:       c.flushes.Load(),
		FailedFlushes: c.failedFlushes.Load(),
		UsesLost:      c.usesLost.Load(),
		KeysLost:      c.keysLost.Load(),

		FeedPolls:          c.feedPolls.Load(),
		FeedFailures:       c.feedFailures.Load(),
		FeedEvents:         c.feedEvents.Load(),
		StaleCacheBypasses: c.staleCacheBypasses.Load(),
		FeedLag:            m.feedLag(),
		RateLimited:        m.limits.rateLimited.Load(),
		NoCredits:          m.limits.noCredits.Load(),
		LimiterFailures:    m.limits.failures.Load(),
		LimiterFallbacks:   m.limits.fallbacks.Load(),
	}
}

// counters are the live values behind Stats.
type counters struct {
	verified, invalid, inactive, expired, unavailable atomic.Uint64
	storeFailures, storeTimeouts                      atomic.Uint64
	cacheHits, cacheMisses, sharedLookups             atomic.Uint64
	flushes, failedFlushes                            atomic.Uint64
	usesLost, keysLost                                atomic.Uint64
	feedPolls, feedFailures, feedEvents               atomic.Uint64
	staleCacheBypasses                                atomic.Uint64
}

// countVerification counts the outcome of one Verify.
func (c *counters) countVerification(err error) {
	switch {
	case err == nil:
		c.verified.Add(1)
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

// countStoreError counts a failed Store call, unless err is one of the
// sentinels a Store is documented to return.
func (c *counters) countStoreError(err error) {
	if isStoreSentinel(err) {
		return
	}
	c.storeFailures.Add(1)
	if errors.Is(err, context.DeadlineExceeded) {
		c.storeTimeouts.Add(1)
	}
}

func isStoreSentinel(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrDuplicate) || errors.Is(err, ErrConflict) || errors.Is(err, ErrQuotaExceeded)
}
