package apikey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Manager issues, verifies and manages keys kept in a Store. It is safe for
// concurrent use. Call Close when done with it: it writes the last-used
// times still in memory and stops its background flush.
type Manager struct {
	store         Store
	prefix        string
	prefixSep     string // prefix + "_", how every key of this Manager starts
	secretChars   int
	hasher        Hasher
	verifyHashers []Hasher // hasher first, then the configured and built-in readers
	groups        map[string]Group
	clock         func() time.Time
	logger        *slog.Logger
	uses          usageRecorder
	usageStore    UsageStore   // nil: no metering
	cache         *verifyCache // nil when disabled
	ownerQuota    int          // 0: no limit
	inMemory      bool         // the Store answers from memory: no deadline, no single flight
	lookups       lookups
	misses        missCache // disabled for a Store in memory
	counters      counters

	verifyDeadline time.Duration // negative: none
	closeTimeout   time.Duration
	expiryPolicy   func(owner string) ExpiryPolicy // nil: none

	closed      atomic.Bool
	closeOnce   sync.Once
	stopFlush   chan struct{}
	flushDone   chan struct{}
	flushCtx    context.Context // cancelled by Close, to cut a flush short
	cancelFlush context.CancelFunc
	closeErr    error

	flushEvery time.Duration // the background flush interval; 0: none

	limits      *limitEngine // usage limits (see limit_check.go)
	feed        *feed        // nil: no change feed
	feedSuccess atomic.Int64 // Unix nanoseconds (Manager clock) of the start of the last successful poll; 0: none
	created     time.Time
}

// New returns a Manager that keeps keys in store. Unless
// [WithLastUsedFlushInterval] is negative, it starts one goroutine that
// flushes last-used times, stopped by Close.
func New(store Store, opts ...Option) (*Manager, error) {
	if store == nil {
		return nil, errors.New("apikey: New: nil Store")
	}
	c := defaultConfig()
	for _, opt := range opts {
		if err := opt(&c); err != nil {
			return nil, err
		}
	}
	m := &Manager{
		store:       store,
		prefix:      c.prefix,
		prefixSep:   c.prefix + "_",
		secretChars: secretLength(c.secretBits),
		hasher:      c.hasher,
		clock:       c.clock,
		logger:      c.logger,
		ownerQuota:  c.ownerQuota,
		inMemory:    inMemory(store),

		verifyDeadline: c.verifyDeadline,
		closeTimeout:   c.closeTimeout,
		expiryPolicy:   c.expiryPolicy,
		flushEvery:     max(c.flushInterval, 0),
	}
	m.flushCtx, m.cancelFlush = context.WithCancel(context.Background())
	m.usageStore = usageStoreOf(store)
	m.uses.metering = m.usageStore != nil
	m.verifyHashers = append([]Hasher{c.hasher}, c.verifyHashers...)
	m.verifyHashers = append(m.verifyHashers, SHA256Hasher{}, Argon2idHasher{}, BcryptHasher{})
	if len(c.groups) > 0 {
		m.groups = make(map[string]Group, len(c.groups))
		for _, g := range c.groups {
			m.groups[g.Name] = g
		}
	}
	if c.cacheTTL > 0 {
		m.cache = newVerifyCache(c.cacheTTL, c.cacheSize)
	}
	if !m.inMemory {
		// A Store in memory answers a miss as fast as the negative cache.
		lifetime := maxMissLifetime
		if c.cacheTTL > 0 {
			lifetime = min(lifetime, c.cacheTTL)
		}
		if c.feedInterval > 0 {
			lifetime = min(lifetime, c.feedMaxStale)
		}
		m.misses = newMissCache(lifetime)
	}
	m.created = m.now()
	m.limits = newLimitEngine(m, c.limits)
	if c.feedInterval > 0 {
		if err := m.startFeed(c); err != nil {
			return nil, err
		}
	}
	if c.flushInterval > 0 {
		m.stopFlush = make(chan struct{})
		m.flushDone = make(chan struct{})
		go m.flushLoop(c.flushInterval)
	}
	return m, nil
}

// now returns the current time in UTC, truncated to the microsecond
// precision that every Store keeps.
func (m *Manager) now() time.Time {
	return m.clock().UTC().Truncate(time.Microsecond)
}

// storeError counts a failed Store call and wraps its error in
// ErrStoreFailure, unless it is one of the sentinels a Store is documented
// to return.
func (m *Manager) storeError(op string, err error) error {
	m.counters.countStoreError(err)
	return wrapStoreError(op, err)
}

// wrapStoreError is storeError for an error already counted.
func wrapStoreError(op string, err error) error {
	if isStoreSentinel(err) {
		return err
	}
	return fmt.Errorf("apikey: %s: %w: %w", op, ErrStoreFailure, err)
}
