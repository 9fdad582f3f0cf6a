package apikey_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/require"
)

// Entries cached before the feed's first successful poll, of keys changed
// before it, must not be served: the first poll starts at the latest event,
// so it drops the whole cache.
func TestFeedStartDropsWhatWasCachedBefore(t *testing.T) {
	ctx := context.Background()
	store := &failingEvents{Store: memstore.New()}
	store.down.Store(true) // the events table is unreadable at start-up (or the first poll is slow)
	a, err := apikey.New(store.Store, apikey.WithLastUsedFlushInterval(-1))
	require.NoError(t, err)
	defer a.Close()
	const interval, maxStale = 20 * time.Millisecond, 300 * time.Millisecond
	b, err := apikey.New(store, apikey.WithLastUsedFlushInterval(-1), apikey.WithVerifyCache(apikey.VerifyCache{TTL: 10 * time.Minute, FollowChanges: true, FeedInterval: interval, FeedMaxStale: maxStale}))
	require.NoError(t, err)
	defer b.Close()

	k, plaintext, err := a.Issue(ctx, apikey.IssueRequest{Name: "k", Groups: []string{"read"}, CreatedBy: "test"})
	require.NoError(t, err)
	// B verifies while its feed has not started: the cache is bypassed for
	// reads but the result is put into it.
	_, err = b.Verify(ctx, plaintext)
	require.NoError(t, err)
	// The key is revoked on another instance.
	require.NoError(t, a.Deactivate(ctx, k.ID))
	// The events table comes back; B's first successful poll starts at the
	// latest position, past the deactivation.
	store.down.Store(false)
	polls := b.Stats().FeedSuccesses
	_, ok := waitUntil(5*time.Second, func() bool { st := b.Stats(); return st.FeedSuccesses > polls+2 && st.FeedLag < maxStale })
	require.True(t, ok, "%+v", b.Stats())
	time.Sleep(5 * interval)
	_, err = b.Verify(ctx, plaintext)
	require.True(t, errors.Is(err, apikey.ErrInactive), "revoked key still served from B's cache: err=%v (stats %+v)", err, b.Stats())
}
