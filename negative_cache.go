package apikey

import (
	"strings"
	"sync"
	"time"
)

// Bounds of the negative cache (see "Forged keys" in the package doc).
const (
	// maxMissLifetime is the longest a lookup ID the Store reported
	// unknown is refused from memory.
	maxMissLifetime = time.Second

	// maxMisses bounds the entries of the negative cache: about 1 MiB.
	maxMisses = 16384
)

// missCache remembers, for a short time, the lookup IDs that the Store
// reported unknown, so that a string with a valid checksum and a forged
// lookup ID, sent again and again, costs at most one Store call per
// lifetime. It is separate from the verification cache: a flood of
// distinct forged IDs fills it (it is bounded, and then takes no more
// until entries expire) but never evicts a verified key.
//
// A key this Manager issues is never refused because of it: Issue and Roll
// forget its lookup ID once it is stored (forget), and a lookup that started
// before cannot add it back (the generation). A key issued by another
// Manager is refused for at most the lifetime, which is no longer than the
// change feed's staleness bound when it follows one.
//
// The zero value is disabled: every method is a no-op.
type missCache struct {
	lifetime time.Duration // 0: disabled

	mu         sync.Mutex
	entries    map[string]time.Time // lookup ID -> expiry
	generation uint64
}

func newMissCache(lifetime time.Duration) missCache {
	return missCache{lifetime: lifetime, entries: make(map[string]time.Time)}
}

// has reports whether lookupID is a recent miss at now, and returns the
// generation under which the caller looks it up otherwise.
func (c *missCache) has(lookupID string, now time.Time) (miss bool, generation uint64) {
	if c.lifetime == 0 {
		return false, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	expires, ok := c.entries[lookupID]
	return ok && now.Before(expires), c.generation
}

// add remembers lookupID as unknown from now, unless the cache changed
// generation since the lookup started, or is full of live entries.
func (c *missCache) add(lookupID string, now time.Time, generation uint64) {
	if c.lifetime == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.generation != generation {
		return
	}
	if len(c.entries) >= maxMisses {
		for id, expires := range c.entries {
			if !now.Before(expires) {
				delete(c.entries, id)
			}
		}
		if len(c.entries) >= maxMisses {
			return // a flood: each further forged ID costs its own lookup
		}
	}
	// A copy: the lookup ID is a substring of the string verified, which
	// must not be kept alive in memory.
	c.entries[strings.Clone(lookupID)] = now.Add(c.lifetime)
}

// forget drops lookupID, a key just stored, and makes every add of a
// lookup that started before a no-op.
func (c *missCache) forget(lookupID string) {
	if c.lifetime == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	delete(c.entries, lookupID)
}

// clear drops every entry, as forget does for one.
func (c *missCache) clear() {
	if c.lifetime == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	clear(c.entries)
}
