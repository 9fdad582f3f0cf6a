package apikey_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stallingStore passes every call to a real memstore, but can hold
// GetByLookupID and RecordLastUsed until released (as a locked table
// would), or fail them, and counts them.
type stallingStore struct {
	apikey.Store
	lookups, flushes atomic.Int64

	mu            sync.Mutex
	gate          chan struct{} // when not nil, lookups wait for it to close (or ctx)
	failLookups   error
	flushGate     chan struct{} // when not nil, flushes wait for it to close (or ctx)
	ignoreCtx     bool          // flushes wait for flushGate alone: a Store that breaks its contract
	failFlushes   int           // the next failFlushes flushes fail
	sawDeadline   atomic.Bool   // the last lookup's context had a deadline
	flushCanceled atomic.Bool   // a held flush saw its context done
}

func newStallingStore() *stallingStore { return &stallingStore{Store: memstore.New()} }

func (s *stallingStore) hold() { s.mu.Lock(); s.gate = make(chan struct{}); s.mu.Unlock() }

func (s *stallingStore) release() {
	s.mu.Lock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
	s.mu.Unlock()
}

func (s *stallingStore) GetByLookupID(ctx context.Context, lookupID string) (*apikey.Key, error) {
	s.lookups.Add(1)
	_, ok := ctx.Deadline()
	s.sawDeadline.Store(ok)
	s.mu.Lock()
	gate, fail := s.gate, s.failLookups
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if fail != nil {
		return nil, fail
	}
	return s.Store.GetByLookupID(ctx, lookupID)
}

func (s *stallingStore) RecordLastUsed(ctx context.Context, uses map[uuid.UUID]time.Time) error {
	s.flushes.Add(1)
	s.mu.Lock()
	gate, ignore := s.flushGate, s.ignoreCtx
	fail := s.failFlushes > 0
	if fail {
		s.failFlushes--
	}
	s.mu.Unlock()
	if gate != nil {
		if ignore {
			<-gate
		} else {
			select {
			case <-gate:
			case <-ctx.Done():
				s.flushCanceled.Store(true)
				return ctx.Err()
			}
		}
	}
	if fail {
		return errDown
	}
	return s.Store.RecordLastUsed(ctx, uses)
}

// waitFor polls cond until it holds, failing the test after 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestConcurrentMissesShareOneStoreCall starts 100 verifications of one key
// while the Store holds the first lookup, with and without the cache.
func TestConcurrentMissesShareOneStoreCall(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []apikey.Option
	}{
		{"without cache", nil},
		{"with cache", []apikey.Option{apikey.WithVerifyCache(apikey.VerifyCache{TTL: time.Minute})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := newStallingStore()
			m := newManager(t, store, tc.opts...)
			k, plaintext := issue(t, m, "shared", "read")

			store.hold()
			const n = 100
			var wg sync.WaitGroup
			keys := make([]*apikey.Key, n)
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() { keys[i], errs[i] = m.Verify(context.Background(), plaintext) })
			}
			waitFor(t, "99 verifications waiting", func() bool { return m.Stats().SharedLookups == n-1 })
			store.release()
			wg.Wait()

			assert.Equal(t, int64(1), store.lookups.Load(), "store calls")
			for i := range n {
				if assert.NoError(t, errs[i]) {
					assert.Equal(t, k.ID, keys[i].ID)
				}
			}
			// They share one record, which nobody changes.
			assert.Equal(t, []string{"read"}, keys[1].Groups)
			assert.Equal(t, uint64(n), m.Stats().Verified)
		})
	}
}

// TestSharedFailureIsNotCached checks that the waiters of a failed lookup
// all fail closed with it, and that the next verification asks again.
func TestSharedFailureIsNotCached(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []apikey.Option
	}{
		{"without cache", nil},
		{"with cache", []apikey.Option{apikey.WithVerifyCache(apikey.VerifyCache{TTL: time.Minute})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := newStallingStore()
			m := newManager(t, store, tc.opts...)
			_, plaintext := issue(t, m, "shared", "read")

			store.hold()
			store.failLookups = errDown
			const n = 20
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() { _, errs[i] = m.Verify(context.Background(), plaintext) })
			}
			waitFor(t, "waiters", func() bool { return m.Stats().SharedLookups == n-1 })
			store.release()
			wg.Wait()
			assert.Equal(t, int64(1), store.lookups.Load(), "store calls")
			for _, err := range errs {
				assert.ErrorIs(t, err, apikey.ErrStoreFailure)
				assert.NotErrorIs(t, err, apikey.ErrInvalidKey)
			}
			st := m.Stats()
			assert.Equal(t, uint64(n), st.Unavailable)
			assert.Equal(t, uint64(1), st.StoreErrors, "one Store call failed")

			store.mu.Lock()
			store.failLookups = nil
			store.mu.Unlock()
			_, err := m.Verify(context.Background(), plaintext)
			require.NoError(t, err, "the failure was not cached")
			assert.Equal(t, int64(2), store.lookups.Load())
		})
	}
}

// TestAbandonedLookupIsRetriedByWaiters: the verification that made the
// Store call gives up (its client went away); those waiting for it do not
// inherit its cancellation but ask again.
func TestAbandonedLookupIsRetriedByWaiters(t *testing.T) {
	store := newStallingStore()
	m := newManager(t, store)
	k, plaintext := issue(t, m, "shared", "read")

	store.hold()
	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	leaderErr := make(chan error, 1)
	go func() {
		_, err := m.Verify(leaderCtx, plaintext)
		leaderErr <- err
	}()
	waitFor(t, "the leader's call", func() bool { return store.lookups.Load() == 1 })
	waiter := make(chan error, 1)
	go func() {
		got, err := m.Verify(context.Background(), plaintext)
		if err == nil && got.ID != k.ID {
			err = errors.New("wrong key")
		}
		waiter <- err
	}()
	waitFor(t, "the waiter", func() bool { return m.Stats().SharedLookups == 1 })
	cancelLeader()
	assert.ErrorIs(t, <-leaderErr, apikey.ErrStoreFailure)
	waitFor(t, "the waiter's own call", func() bool { return store.lookups.Load() == 2 })
	store.release()
	assert.NoError(t, <-waiter)
}

// TestVerifyDeadline checks the default deadline, the option, and that
// turning it off is explicit.
func TestVerifyDeadline(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		store := newStallingStore()
		m := newManager(t, store)
		_, plaintext := issue(t, m, "k", "read")
		start := time.Now()
		_, err := m.Verify(context.Background(), plaintext)
		require.NoError(t, err)
		assert.True(t, store.sawDeadline.Load(), "the Store call has a deadline by default")
		assert.Less(t, time.Since(start), 3*time.Second)
	})
	t.Run("stalled store", func(t *testing.T) {
		store := newStallingStore()
		m := newManager(t, store, apikey.WithVerifyDeadline(50*time.Millisecond))
		_, plaintext := issue(t, m, "k", "read")
		store.hold()
		defer store.release()
		start := time.Now()
		_, err := m.Verify(context.Background(), plaintext)
		elapsed := time.Since(start)
		assert.ErrorIs(t, err, apikey.ErrStoreFailure)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.GreaterOrEqual(t, elapsed, 50*time.Millisecond)
		assert.Less(t, elapsed, 50*time.Millisecond+2*time.Second, "deadline plus margin")
		st := m.Stats()
		assert.Equal(t, uint64(1), st.StoreTimeouts)
		assert.Equal(t, uint64(0), st.StoreErrors, "a timeout is not also an error")
		assert.Equal(t, uint64(1), st.Unavailable)
	})
	t.Run("through the middleware", func(t *testing.T) {
		store := newStallingStore()
		m := newManager(t, store, apikey.WithVerifyDeadline(50*time.Millisecond))
		_, plaintext := issue(t, m, "k", "read")
		store.hold()
		defer store.release()
		auth, err := m.Authenticator(apikey.AuthConfig{OnFailure: func(*http.Request, *apikey.AuthError) {}})
		require.NoError(t, err)
		h := auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.Error("a request got through a stalled store")
		}))
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("X-API-Key", plaintext)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		assert.Equal(t, http.StatusServiceUnavailable, w.Code)
		assert.Equal(t, "5", w.Header().Get("Retry-After"))
		assert.NotContains(t, w.Body.String(), "deadline")
	})
	t.Run("off", func(t *testing.T) {
		store := newStallingStore()
		m := newManager(t, store, apikey.WithVerifyDeadline(-1))
		_, plaintext := issue(t, m, "k", "read")
		_, err := m.Verify(context.Background(), plaintext)
		require.NoError(t, err)
		assert.False(t, store.sawDeadline.Load(), "no deadline once turned off")
	})
}

// TestCloseRetriesThenSucceeds: a flush that fails a few times is retried
// within the bound, and nothing is lost.
func TestCloseRetriesThenSucceeds(t *testing.T) {
	store := newStallingStore()
	m, err := apikey.New(store, apikey.WithLastUsedFlushInterval(-1))
	require.NoError(t, err)
	k, plaintext := issue(t, m, "k", "read")
	_, err = m.Verify(context.Background(), plaintext)
	require.NoError(t, err)
	store.failFlushes = 2
	require.NoError(t, m.Close())
	assert.Equal(t, int64(3), store.flushes.Load())
	got, err := store.Get(context.Background(), k.ID)
	require.NoError(t, err)
	assert.NotNil(t, got.LastUsedAt)
	st := m.Stats()
	assert.Equal(t, uint64(1), st.Flushes)
	assert.Equal(t, uint64(2), st.FailedFlushes)
	assert.Zero(t, st.UsesLost)
}

// TestCloseIsBounded: Close returns within its bound while the flush is
// held, cancels a background flush in progress, and reports the uses lost.
func TestCloseIsBounded(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ignoreCtx bool
	}{
		{"store honours its context", false},
		{"store ignores its context", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := newStallingStore()
			var logs bytes.Buffer
			const bound = 200 * time.Millisecond
			m, err := apikey.New(store,
				apikey.WithLastUsedFlushInterval(5*time.Millisecond),
				apikey.WithCloseTimeout(bound),
				apikey.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			require.NoError(t, err)
			_, p1 := issue(t, m, "one", "read")
			_, p2 := issue(t, m, "two", "read")
			store.mu.Lock()
			store.flushGate = make(chan struct{})
			store.ignoreCtx = tc.ignoreCtx
			store.mu.Unlock()
			defer close(store.flushGate)
			for _, p := range []string{p1, p1, p2} {
				_, err := m.Verify(context.Background(), p)
				require.NoError(t, err)
			}
			waitFor(t, "a background flush in progress", func() bool { return store.flushes.Load() >= 1 })

			start := time.Now()
			err = m.Close()
			elapsed := time.Since(start)
			assert.Less(t, elapsed, bound+time.Second, "Close within its bound plus margin")
			require.Error(t, err)
			assert.ErrorIs(t, err, apikey.ErrStoreFailure)
			st := m.Stats()
			assert.Equal(t, uint64(3), st.UsesLost)
			assert.Equal(t, uint64(2), st.KeysLost)
			assert.Contains(t, logs.String(), "uses_lost=3")
			assert.Contains(t, logs.String(), "keys_lost=2")
			if !tc.ignoreCtx {
				assert.True(t, store.flushCanceled.Load(), "Close cancelled the flush in progress")
			}
			assert.Equal(t, err, m.Close(), "a second Close returns the first result")
		})
	}
}

func TestStatsCountOutcomes(t *testing.T) {
	store := newStallingStore()
	clock := newFakeClock()
	m := newManager(t, store, apikey.WithClock(clock.Now), apikey.WithVerifyCache(apikey.VerifyCache{TTL: time.Minute}))
	ctx := context.Background()
	_, good := issue(t, m, "good", "read")
	off, offPlain := issue(t, m, "off", "read")
	require.NoError(t, m.Deactivate(ctx, off.ID))
	expiring, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "exp", Groups: []string{"read"}, CreatedBy: "t", ExpiresAt: clock.Now().Add(time.Minute)})
	require.NoError(t, err)
	_ = expiring
	_, expPlain := func() (*apikey.Key, string) {
		k, p, err := m.Issue(ctx, apikey.IssueRequest{Name: "exp2", Groups: []string{"read"}, CreatedBy: "t", ExpiresAt: clock.Now().Add(time.Second)})
		require.NoError(t, err)
		return k, p
	}()
	clock.Advance(2 * time.Second)

	_, err = m.Verify(ctx, good) // miss
	require.NoError(t, err)
	_, err = m.Verify(ctx, good) // hit
	require.NoError(t, err)
	_, err = m.Verify(ctx, "ak_notakey")
	assert.ErrorIs(t, err, apikey.ErrInvalidKey)
	_, err = m.Verify(ctx, offPlain)
	assert.ErrorIs(t, err, apikey.ErrInactive)
	_, err = m.Verify(ctx, expPlain)
	assert.ErrorIs(t, err, apikey.ErrExpired)
	require.NoError(t, m.Flush(ctx))

	st := m.Stats()
	assert.Equal(t, apikey.Stats{
		Verified: 2, Invalid: 1, Inactive: 1, Expired: 1,
		CacheHits: 1, CacheMisses: 3, StoreLookups: 3, Flushes: 1,
		// The fake clock does not move during a lookup: all under 1 µs.
		VerifyLatency: [apikey.VerifyLatencyBuckets]uint64{3},
	}, st)
}
