package apikey_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// forgedKey returns a string with a valid checksum and the given lookup ID:
// what anyone can make, since the checksum is public.
func forgedKey(lookupID string) string {
	return withChecksum("ak_" + lookupID + strings.Repeat("Z", 30))
}

// TestForgedKeysStopBeforeTheStore checks the negative cache: a forged
// lookup ID sent again and again costs one Store call per lifetime,
// whatever the secret; distinct forged IDs each cost one; a genuine key is
// not affected.
func TestForgedKeysStopBeforeTheStore(t *testing.T) {
	clock := newFakeClock()
	store := newCountingStore() // not in memory: it has no InMemory method
	m := newManager(t, store, apikey.WithClock(clock.Now))
	ctx := context.Background()
	_, good := issue(t, m, "good", "read")

	before := store.calls.Load()
	for i := range 1000 {
		_, err := m.Verify(ctx, withChecksum("ak_"+"FORGEDforged"+strings.Repeat(string(base62[i%62]), 30)))
		require.ErrorIs(t, err, apikey.ErrInvalidKey)
	}
	assert.Equal(t, before+1, store.calls.Load(), "1,000 verifications of one forged lookup ID, any secret: one Store call")
	assert.Equal(t, uint64(999), m.Stats().NegativeHits)

	before = store.calls.Load()
	for i := range 1000 {
		_, err := m.Verify(ctx, forgedKey(fmt.Sprintf("forged%06d", i)))
		require.ErrorIs(t, err, apikey.ErrInvalidKey)
	}
	assert.Equal(t, before+1000, store.calls.Load(), "distinct forged lookup IDs: one indexed lookup each")

	clock.Advance(time.Second)
	before = store.calls.Load()
	_, err := m.Verify(ctx, forgedKey("FORGEDforged"))
	require.ErrorIs(t, err, apikey.ErrInvalidKey)
	assert.Equal(t, before+1, store.calls.Load(), "after the lifetime (1 s) the Store is asked again")

	_, err = m.Verify(ctx, good)
	require.NoError(t, err, "a genuine key is not affected")
}

// TestNegativeCacheNeverRefusesAnIssuedKey makes a lookup ID a recent
// miss while its key is being stored (a verification of a string with the
// same lookup ID runs inside Create, before the insert): the key this
// Manager issued must verify at once all the same.
func TestNegativeCacheNeverRefusesAnIssuedKey(t *testing.T) {
	store := &missDuringCreate{countingStore: newCountingStore()}
	m := newManager(t, store)
	store.m = m
	_, plaintext := issue(t, m, "new", "read")
	require.Equal(t, int32(1), store.forged.Load(), "a miss was made during Create")
	_, err := m.Verify(context.Background(), plaintext)
	assert.NoError(t, err)
}

// missDuringCreate verifies a forged string with the lookup ID of the key it
// is asked to create, before creating it.
type missDuringCreate struct {
	*countingStore
	m      *apikey.Manager
	forged atomic.Int32
}

func (s *missDuringCreate) Create(ctx context.Context, ch apikey.Change, k *apikey.Key, maxPerOwner int) error {
	if _, err := s.m.Verify(ctx, forgedKey(k.LookupID)); err != nil {
		s.forged.Add(1)
	}
	// Twice: the second is a negative hit.
	s.m.Verify(ctx, forgedKey(k.LookupID))
	return s.countingStore.Create(ctx, ch, k, maxPerOwner)
}
