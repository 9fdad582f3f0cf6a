package apikey

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

// A verification that read the Store before an invalidation must not put
// its (now stale) result into the cache.
func TestCacheRefusesResultsFromBeforeAnInvalidation(t *testing.T) {
	c := newVerifyCache(time.Minute, 10)
	now := time.Now()
	k := &Key{ID: uuid.New(), LookupID: "lookup000001", Active: true, Groups: []string{"g"}}

	generation := c.generationNow()
	c.invalidate(k.ID) // Deactivate runs while the verification reads the Store
	c.put(k, "plaintext", now, generation)
	if _, _, ok := c.get(k.LookupID, "plaintext", now); ok {
		t.Fatal("a result read before the invalidation was cached")
	}

	c.put(k, "plaintext", now, c.generationNow())
	if got, err, ok := c.get(k.LookupID, "plaintext", now); !ok || err != nil || got.ID != k.ID {
		t.Fatalf("a current result was not cached: %v %v %v", got, err, ok)
	}
	if _, _, ok := c.get(k.LookupID, "plaintext", now.Add(time.Minute)); ok {
		t.Fatal("an entry outlived its TTL")
	}
}

func TestCacheStaysWithinItsSize(t *testing.T) {
	c := newVerifyCache(time.Minute, 100)
	now := time.Now()
	for i := range 1000 {
		k := &Key{ID: uuid.New(), LookupID: uuid.NewString()[:12] + string(rune('a'+i%26)), Active: true}
		c.put(k, "p", now, c.generationNow())
	}
	if n := len(c.entries); n > 100 || len(c.lookupIDs) != n {
		t.Fatalf("cache holds %d entries and %d IDs, want at most 100 and equal", n, len(c.lookupIDs))
	}
}
