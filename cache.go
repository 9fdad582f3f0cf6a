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

// defaultCacheSize is the number of keys the verification cache holds unless
// [WithVerifyCacheSize] says otherwise.
const defaultCacheSize = 100_000

// WithVerifyCache enables a cache of successful verifications for ttl, so
// that a key in use costs no Store round trip and a slow Hasher (argon2id,
// bcrypt) is paid once per ttl rather than once per request. Off by default.
//
// Maximum revocation lag: Deactivate, Delete, SetGroups and Rename through
// this Manager take effect at once, but a change made through another
// Manager (another instance of the service, the command-line tool) is seen
// only when the cached entry expires: up to ttl later. Choose ttl with that
// in mind; a few seconds already removes nearly all store traffic.
func WithVerifyCache(ttl time.Duration) Option {
	return func(c *config) error {
		if ttl < 0 || ttl > time.Hour {
			return fmt.Errorf("apikey: WithVerifyCache: TTL %v is outside 0 to 1h", ttl)
		}
		c.cacheTTL = ttl
		return nil
	}
}

// WithVerifyCacheSize bounds the number of keys the verification cache holds.
// Zero means the default: 100 000 keys.
func WithVerifyCacheSize(n int) Option {
	return func(c *config) error {
		if n == 0 {
			n = defaultCacheSize
		}
		if n < 1 {
			return fmt.Errorf("apikey: WithVerifyCacheSize: %d is not positive", n)
		}
		c.cacheSize = n
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
