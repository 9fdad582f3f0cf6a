package apikey_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failingEvents is an EventStore whose events cannot be read while down is
// set: a database outage as the change feed sees it.
type failingEvents struct {
	*memstore.Store
	down atomic.Bool
}

var errEventsDown = errors.New("events table unreachable")

func (s *failingEvents) Events(ctx context.Context, q apikey.EventQuery) ([]apikey.Event, error) {
	if s.down.Load() {
		return nil, errEventsDown
	}
	return s.Store.Events(ctx, q)
}

func (s *failingEvents) LastPosition(ctx context.Context) (int64, error) {
	if s.down.Load() {
		return 0, errEventsDown
	}
	return s.Store.LastPosition(ctx)
}

// InMemory is false: the Manager treats the wrapper as a remote Store.
func (s *failingEvents) InMemory() bool { return false }

// waitFor calls f every millisecond until it returns true or bound passes,
// and returns how long that took and whether it did.
func waitUntil(bound time.Duration, f func() bool) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < bound {
		if f() {
			return time.Since(start), true
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start), f()
}

func TestChangeFeedRevokesAcrossManagers(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	a, err := apikey.New(store, apikey.WithLastUsedFlushInterval(-1))
	require.NoError(t, err)
	defer a.Close()
	const interval = 20 * time.Millisecond
	b, err := apikey.New(store, apikey.WithLastUsedFlushInterval(-1), apikey.WithVerifyCache(apikey.VerifyCache{TTL: 10 * time.Minute, FollowChanges: true, FeedInterval: interval, FeedMaxStale: time.Second}))
	require.NoError(t, err)
	defer b.Close()
	_, ok := waitUntil(5*time.Second, func() bool { return b.Stats().FeedSuccesses > 0 })
	require.True(t, ok, "the feed polls")

	for _, change := range []struct {
		name    string
		apply   func(id uuid.UUID) error
		refused func(k *apikey.Key, err error) bool
	}{
		{"deactivate", func(id uuid.UUID) error { return a.Deactivate(ctx, id) },
			func(_ *apikey.Key, err error) bool { return errors.Is(err, apikey.ErrInactive) }},
		{"group removal", func(id uuid.UUID) error { return a.SetGroups(ctx, id, []string{"read"}) },
			func(k *apikey.Key, err error) bool { return err == nil && !k.HasGroup("write") }},
		{"delete", func(id uuid.UUID) error { return a.Delete(ctx, id) },
			func(_ *apikey.Key, err error) bool { return errors.Is(err, apikey.ErrInvalidKey) }},
	} {
		t.Run(change.name, func(t *testing.T) {
			k, plaintext, err := a.Issue(ctx, apikey.IssueRequest{Name: "k", Groups: []string{"read", "write"}, CreatedBy: "test"})
			require.NoError(t, err)
			for range 2 {
				_, err = b.Verify(ctx, plaintext)
				require.NoError(t, err)
			}
			hits := b.Stats().CacheHits
			require.NoError(t, change.apply(k.ID))
			lag, ok := waitUntil(interval+time.Second, func() bool { return change.refused(b.Verify(ctx, plaintext)) })
			assert.True(t, ok, "B refuses within the interval plus 1 s (took %v)", lag)
			assert.Greater(t, b.Stats().CacheHits, hits, "B served the key from its cache before the feed dropped it")
		})
	}
	assert.Positive(t, b.Stats().FeedEvents)
	assert.Zero(t, b.Stats().FeedFailures)
}

// TestChangeFeedOutageFailsSafe stops the feed's reads and shows that a
// cached key stops being served once no poll has succeeded for the
// staleness bound: a change the feed cannot see reaches the Manager all
// the same, through the Store.
func TestChangeFeedOutageFailsSafe(t *testing.T) {
	ctx := context.Background()
	store := &failingEvents{Store: memstore.New()}
	a, err := apikey.New(store.Store, apikey.WithLastUsedFlushInterval(-1))
	require.NoError(t, err)
	defer a.Close()
	const interval, maxStale = 20 * time.Millisecond, 300 * time.Millisecond
	b, err := apikey.New(store, apikey.WithLastUsedFlushInterval(-1), apikey.WithVerifyCache(apikey.VerifyCache{TTL: 10 * time.Minute, FollowChanges: true, FeedInterval: interval, FeedMaxStale: maxStale}))
	require.NoError(t, err)
	defer b.Close()
	_, ok := waitUntil(5*time.Second, func() bool { return b.Stats().FeedSuccesses > 0 })
	require.True(t, ok, "the feed polls")

	k, plaintext, err := a.Issue(ctx, apikey.IssueRequest{Name: "k", Groups: []string{"read"}, CreatedBy: "test"})
	require.NoError(t, err)
	for range 2 {
		_, err = b.Verify(ctx, plaintext)
		require.NoError(t, err)
	}
	require.Equal(t, uint64(1), b.Stats().CacheHits, "the key is served from the cache")

	store.down.Store(true)
	outage := time.Now()
	require.NoError(t, a.Deactivate(ctx, k.ID))
	lag, ok := waitUntil(maxStale+interval+time.Second, func() bool {
		_, err := b.Verify(ctx, plaintext)
		return errors.Is(err, apikey.ErrInactive)
	})
	require.True(t, ok, "the deactivated key is refused within the staleness bound plus 1 s (took %v)", lag)
	t.Logf("feed down: the cached key was refused %v after the outage began (bound %v)", time.Since(outage).Round(time.Millisecond), maxStale)
	st := b.Stats()
	assert.Positive(t, st.FeedFailures, "failed polls are counted")
	assert.Positive(t, st.StaleCacheBypasses, "verifications bypassed the stale cache")
	assert.GreaterOrEqual(t, st.FeedLag, maxStale, "the lag shows in the stats")

	store.down.Store(false)
	_, ok = waitUntil(5*time.Second, func() bool { return b.Stats().FeedLag < maxStale })
	assert.True(t, ok, "the feed recovers")
}

func TestChangeFeedOptions(t *testing.T) {
	follow := func(interval, maxStale time.Duration) apikey.Option {
		return apikey.WithVerifyCache(apikey.VerifyCache{FollowChanges: true, FeedInterval: interval, FeedMaxStale: maxStale})
	}
	_, err := apikey.New(plainStore{memstore.New()}, follow(0, 0))
	assert.ErrorIs(t, err, errors.ErrUnsupported, "a Store without events cannot be followed")
	_, err = apikey.New(memstore.New(), follow(time.Second, time.Millisecond))
	assert.Error(t, err, "maxStale below the interval")
	_, err = apikey.New(memstore.New(), follow(-time.Second, 0))
	assert.Error(t, err, "negative interval")
	_, err = apikey.New(memstore.New(), apikey.WithVerifyCache(apikey.VerifyCache{FeedInterval: time.Second}))
	assert.Error(t, err, "a feed setting without FollowChanges")

	m, err := apikey.New(memstore.New(), follow(0, 0))
	require.NoError(t, err)
	require.NoError(t, m.Close())
	require.NoError(t, m.Close(), "Close twice")
	polls := m.Stats().FeedSuccesses
	time.Sleep(3 * apikey.DefaultFeedInterval)
	assert.Equal(t, polls, m.Stats().FeedSuccesses, "no poll after Close")
}
