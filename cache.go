package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Defaults of [VerifyCache].
const (
	// DefaultCacheTTL is the lifetime of a cached verification when
	// [VerifyCache.TTL] is zero.
	DefaultCacheTTL = 5 * time.Second

	// DefaultCacheSize is the number of keys the cache holds when
	// [VerifyCache.Size] is zero.
	DefaultCacheSize = 100_000

	// maxCacheTTL is the longest TTL [WithVerifyCache] accepts.
	maxCacheTTL = time.Hour
)

// VerifyCache configures the verification cache, with [WithVerifyCache]:
// how long a successful verification is served from memory, how many keys
// are kept, and whether the Manager follows its Store's change feed to drop
// what changed. It is one value because the three only mean something
// together: a change feed without a cache would change nothing for Verify,
// and cannot be configured. Zero fields mean their defaults; a negative
// value is an error (none of them can be "off": leave WithVerifyCache out
// for no cache, and FollowChanges false for no feed).
type VerifyCache struct {
	// TTL is how long a verification is served from memory: 1 ns to 1 h,
	// zero for DefaultCacheTTL (5 s).
	//
	// Maximum revocation lag: Deactivate, Delete, SetGroups and Rename
	// through this Manager take effect at once, but a change made through
	// another Manager (another instance of the service, the command-line
	// tool) is seen only when the cached entry expires, up to TTL later,
	// unless FollowChanges is set. A few seconds already remove nearly all
	// store traffic.
	TTL time.Duration

	// Size bounds the keys the cache holds: zero for DefaultCacheSize
	// (100 000).
	Size int

	// FollowChanges makes the Manager follow the events of its Store (which
	// must be an [EventStore], or New fails with an error wrapping
	// errors.ErrUnsupported): one goroutine, stopped by Close, asks the
	// Store every FeedInterval for the events after the last it saw, and
	// drops its cached verification of every key they name (and any lookup
	// of it in flight). A change made anywhere then reaches this Manager
	// within FeedInterval plus one query, whatever the TTL: a TTL of
	// minutes becomes safe.
	//
	// It fails safe: if no poll has succeeded for FeedMaxStale (the
	// database is down, the events table unreadable), Verify stops serving
	// cached verifications and asks the Store for every key until a poll
	// succeeds again, so an outage of the feed never extends the
	// revocation lag beyond FeedMaxStale. Until the first poll succeeds the
	// cache is not used either. Polls, failures and the feed's lag show in
	// [Manager.Stats].
	FollowChanges bool

	// FeedInterval is how often the feed is polled: 1 ms to 1 min, zero for
	// DefaultFeedInterval (200 ms). Only with FollowChanges.
	FeedInterval time.Duration

	// FeedMaxStale is the staleness bound of the feed, at least
	// FeedInterval: zero for DefaultFeedMaxStale (2 s). Only with
	// FollowChanges.
	FeedMaxStale time.Duration
}

// WithVerifyCache enables the verification cache (see [VerifyCache]), so
// that a key in use costs no Store round trip and a slow Hasher (argon2id,
// bcrypt) is paid once per TTL rather than once per request. Without it
// (the default) every verification reads the Store. An invalid field makes
// New fail.
func WithVerifyCache(vc VerifyCache) Option {
	return func(c *config) error {
		switch {
		case vc.TTL < 0 || vc.TTL > maxCacheTTL:
			return fmt.Errorf("apikey: WithVerifyCache: TTL %v is outside 0 to 1h", vc.TTL)
		case vc.Size < 0:
			return fmt.Errorf("apikey: WithVerifyCache: Size %d is negative", vc.Size)
		case !vc.FollowChanges && (vc.FeedInterval != 0 || vc.FeedMaxStale != 0):
			return fmt.Errorf("apikey: WithVerifyCache: FeedInterval and FeedMaxStale need FollowChanges")
		}
		if vc.TTL == 0 {
			vc.TTL = DefaultCacheTTL
		}
		if vc.Size == 0 {
			vc.Size = DefaultCacheSize
		}
		c.cacheTTL, c.cacheSize = vc.TTL, vc.Size
		c.feedInterval, c.feedMaxStale = 0, 0
		if !vc.FollowChanges {
			return nil
		}
		interval, maxStale := vc.FeedInterval, vc.FeedMaxStale
		if interval == 0 {
			interval = DefaultFeedInterval
		}
		if maxStale == 0 {
			maxStale = DefaultFeedMaxStale
		}
		if interval < time.Millisecond || interval > time.Minute {
			return fmt.Errorf("apikey: WithVerifyCache: FeedInterval %v is outside 1ms to 1m", interval)
		}
		if maxStale < interval {
			return fmt.Errorf("apikey: WithVerifyCache: FeedMaxStale %v is shorter than FeedInterval %v", maxStale, interval)
		}
		c.feedInterval, c.feedMaxStale = interval, maxStale
		return nil
	}
}

// verifyCache holds recently verified keys by lookup ID. An entry keeps a
// salted SHA-256 of the plaintext, not the plaintext: a hit compares digests
// in constant time.
//
// Every invalidation increments the generation; a verification that read
// the Store under an older generation cannot insert its result, so a lookup
// that started before Deactivate never puts the old record back.
type verifyCache struct {
	ttl  time.Duration
	max  int
	salt [16]byte

	mu         sync.RWMutex
	entries    map[string]*cacheEntry // by lookup ID
	lookupIDs  map[uuid.UUID]string
	generation uint64
}

type cacheEntry struct {
	key     *Key // never modified; handed out as it is, shared
	digest  [sha256.Size]byte
	expires time.Time
}

func newVerifyCache(ttl time.Duration, size int) *verifyCache {
	c := &verifyCache{
		ttl:       ttl,
		max:       size,
		entries:   make(map[string]*cacheEntry),
		lookupIDs: make(map[uuid.UUID]string),
	}
	rand.Read(c.salt[:])
	return c
}

func (c *verifyCache) digest(plaintext string) [sha256.Size]byte {
	var buf [len(verifyCache{}.salt) + maxKeyLength]byte
	n := copy(buf[:], c.salt[:])
	n += copy(buf[n:], plaintext)
	return sha256.Sum256(buf[:n])
}

// get returns the cached verification of plaintext. ok is false when the
// cache has no live entry, and the caller must ask the Store.
func (c *verifyCache) get(lookupID, plaintext string, now time.Time) (k *Key, err error, ok bool) {
	c.mu.RLock()
	e := c.entries[lookupID]
	c.mu.RUnlock()
	if e == nil || !now.Before(e.expires) {
		return nil, nil, false
	}
	d := c.digest(plaintext)
	if subtle.ConstantTimeCompare(d[:], e.digest[:]) != 1 {
		// The lookup ID is genuine and current: the secret is wrong.
		return nil, fmt.Errorf("%w: secret mismatch", ErrInvalidKey), true
	}
	if e.key.Expired(now) {
		return nil, &KeyError{Key: e.key, Err: ErrExpired}, true
	}
	return e.key, nil, true
}

func (c *verifyCache) generationNow() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.generation
}

// put caches a successful verification made under generation.
func (c *verifyCache) put(k *Key, plaintext string, now time.Time, generation uint64) {
	e := &cacheEntry{key: k, digest: c.digest(plaintext), expires: now.Add(c.ttl)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.generation != generation {
		return
	}
	if len(c.entries) >= c.max {
		c.evict(now)
	}
	c.entries[k.LookupID] = e
	c.lookupIDs[k.ID] = k.LookupID
}

// evict drops expired entries and, if the cache is still full, arbitrary
// ones until a tenth of it is free. Called with mu held.
func (c *verifyCache) evict(now time.Time) {
	for lookupID, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, lookupID)
			delete(c.lookupIDs, e.key.ID)
		}
	}
	for lookupID, e := range c.entries {
		if len(c.entries) < c.max-c.max/10 {
			break
		}
		delete(c.entries, lookupID)
		delete(c.lookupIDs, e.key.ID)
	}
}

func (c *verifyCache) invalidate(id uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	if lookupID, ok := c.lookupIDs[id]; ok {
		delete(c.entries, lookupID)
		delete(c.lookupIDs, id)
	}
}

// clear drops every entry, and makes every put of a verification that
// started before it a no-op.
func (c *verifyCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	clear(c.entries)
	clear(c.lookupIDs)
}
