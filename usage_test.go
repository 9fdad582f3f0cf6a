package apikey_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lostReplyStore is a memstore whose RecordUsage, while lose is above
// zero, applies the batch and then reports a failure: the reply of a
// committed write was lost.
type lostReplyStore struct {
	*memstore.Store
	lose     atomic.Int64
	failing  atomic.Bool // RecordUsage fails without applying
	batchIDs []uuid.UUID
}

func (s *lostReplyStore) RecordUsage(ctx context.Context, b apikey.UsageBatch) error {
	s.batchIDs = append(s.batchIDs, b.ID)
	if s.failing.Load() {
		return errDown
	}
	if err := s.Store.RecordUsage(ctx, b); err != nil {
		return err
	}
	if s.lose.Add(-1) >= 0 {
		return errDown
	}
	return nil
}

func TestUsageCountsByHourAndOutcome(t *testing.T) {
	ctx := t.Context()
	clock := newFakeClock() // 09:00
	m := newManager(t, memstore.New(), apikey.WithClock(clock.Now))
	k, plaintext := issue(t, m, "billing", "read")
	other, otherPlaintext := issue(t, m, "reports", "read")
	clock.Advance(10 * time.Minute)
	for range 7 {
		_, err := m.Verify(ctx, plaintext)
		require.NoError(t, err)
	}
	_, err := m.Verify(ctx, otherPlaintext)
	require.NoError(t, err)
	_, err = m.Verify(ctx, plaintext+"x")
	require.Error(t, err, "not metered: no key to blame")
	clock.Advance(time.Hour) // 10:10
	for range 3 {
		_, err := m.Verify(ctx, plaintext)
		require.NoError(t, err)
	}
	require.NoError(t, m.Deactivate(ctx, k.ID))
	_, err = m.Verify(ctx, plaintext)
	require.ErrorIs(t, err, apikey.ErrInactive)
	require.NoError(t, m.Flush(ctx))

	s := m.Stats()
	assert.Equal(t, uint64(4), s.UsageRows, "key: 9h verified, 10h verified, 10h inactive; other: 9h verified")
	assert.Equal(t, uint64(1), s.UsageFlushes)

	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	r, err := m.Usage(ctx, apikey.UsageQuery{KeyID: k.ID, From: start, To: start.Add(2 * time.Hour)})
	require.NoError(t, err)
	require.Len(t, r.Points, 2)
	assert.Equal(t, apikey.UsageCounts{Verified: 7}, r.Points[0].UsageCounts)
	assert.Equal(t, apikey.UsageCounts{Verified: 3, Inactive: 1}, r.Points[1].UsageCounts)
	assert.Equal(t, start.Add(time.Hour), r.Points[1].Start)
	assert.Equal(t, int64(1), r.Total.Refused())
	assert.Empty(t, r.Busiest)

	day, err := m.Usage(ctx, apikey.UsageQuery{Step: apikey.UsageByDay})
	require.NoError(t, err)
	require.Len(t, day.Points, 30, "30 days up to today by default")
	assert.Equal(t, apikey.UsageCounts{Verified: 11, Inactive: 1}, day.Points[29].UsageCounts, "the owner's total")
	assert.Equal(t, apikey.DefaultOwner, day.Owner)
	require.Len(t, day.Busiest, 2)
	assert.Equal(t, apikey.KeyUsage{KeyID: k.ID, Verified: 10, Refused: 1}, day.Busiest[0])
	assert.Equal(t, apikey.KeyUsage{KeyID: other.ID, Verified: 1}, day.Busiest[1])
}

func TestUsageRetriedBatchCountsOnce(t *testing.T) {
	ctx := t.Context()
	store := &lostReplyStore{Store: memstore.New()}
	m := newManager(t, store)
	k, plaintext := issue(t, m, "billing", "read")
	for range 7 {
		_, err := m.Verify(ctx, plaintext)
		require.NoError(t, err)
	}
	store.lose.Store(1)
	require.ErrorIs(t, m.Flush(ctx), apikey.ErrStoreFailure, "the reply was lost")
	_, err := m.Verify(ctx, plaintext)
	require.NoError(t, err)
	require.NoError(t, m.Flush(ctx))
	require.Len(t, store.batchIDs, 3, "the failed batch retried, then the new one")
	assert.Equal(t, store.batchIDs[0], store.batchIDs[1], "retried with its ID")
	assert.NotEqual(t, store.batchIDs[1], store.batchIDs[2])

	r, err := m.Usage(ctx, apikey.UsageQuery{KeyID: k.ID})
	require.NoError(t, err)
	assert.Equal(t, int64(8), r.Total.Verified, "the batch applied twice counts once")
	s := m.Stats()
	assert.Equal(t, uint64(1), s.FailedUsageFlushes)
	assert.Equal(t, uint64(2), s.UsageFlushes)
}

func TestUsageLostAtClose(t *testing.T) {
	store := &lostReplyStore{Store: memstore.New()}
	m, err := apikey.New(store, apikey.WithLastUsedFlushInterval(-1), apikey.WithCloseTimeout(100*time.Millisecond))
	require.NoError(t, err)
	_, plaintext := issue(t, m, "billing", "read")
	for range 5 {
		_, err := m.Verify(t.Context(), plaintext)
		require.NoError(t, err)
	}
	store.failing.Store(true)
	err = m.Close()
	require.ErrorIs(t, err, apikey.ErrStoreFailure)
	assert.Contains(t, err.Error(), "5 metered uses not counted")
	assert.Equal(t, uint64(5), m.Stats().UsageLost)
}

func TestUsageExactAfterClose(t *testing.T) {
	store := memstore.New()
	m, err := apikey.New(store, apikey.WithLastUsedFlushInterval(time.Hour))
	require.NoError(t, err)
	k, plaintext := issue(t, m, "billing", "read")
	for range 5 {
		_, err := m.Verify(t.Context(), plaintext)
		require.NoError(t, err)
	}
	require.NoError(t, m.Close())
	m2 := newManager(t, store)
	r, err := m2.Usage(t.Context(), apikey.UsageQuery{KeyID: k.ID})
	require.NoError(t, err)
	assert.Equal(t, int64(5), r.Total.Verified)
}

func TestUsageOwnerIsolation(t *testing.T) {
	ctx := t.Context()
	m := newManager(t, memstore.New())
	k, plaintext, err := m.Issue(ctx, apikey.IssueRequest{Name: "a", Groups: []string{"read"}, CreatedBy: "t", Owner: "org-a"})
	require.NoError(t, err)
	_, err = m.Verify(ctx, plaintext)
	require.NoError(t, err)
	require.NoError(t, m.Flush(ctx))

	asB := apikey.NewActorContext(ctx, apikey.Actor{ID: "b", Name: "Bob", Owner: "org-b", Groups: []string{"read"}})
	_, err = m.Usage(asB, apikey.UsageQuery{KeyID: k.ID})
	require.ErrorIs(t, err, apikey.ErrNotFound)
	r, err := m.Usage(asB, apikey.UsageQuery{Owner: "org-a"})
	require.NoError(t, err)
	assert.Zero(t, r.Total)
	assert.Empty(t, r.Busiest)
	r, err = m.Usage(asB, apikey.UsageQuery{})
	require.NoError(t, err)
	assert.Equal(t, "org-b", r.Owner)
	assert.Zero(t, r.Total)

	asA := apikey.NewActorContext(ctx, apikey.Actor{ID: "a", Name: "Ann", Owner: "org-a", Groups: []string{"read"}})
	r, err = m.Usage(asA, apikey.UsageQuery{})
	require.NoError(t, err)
	assert.Equal(t, int64(1), r.Total.Verified)
	_, err = m.PruneUsage(asA, 0)
	require.ErrorIs(t, err, apikey.ErrEscalation)
}

func TestUsageMissingScopeIsRefused(t *testing.T) {
	ctx := t.Context()
	m := newManager(t, memstore.New())
	k, plaintext := issue(t, m, "billing", "read")
	auth, err := m.Authenticator(apikey.AuthConfig{})
	require.NoError(t, err)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	h := auth.Middleware(auth.RequireAll("write")(ok))
	for range 2 {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("X-API-Key", plaintext)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusForbidden, rec.Code)
	}
	_, err = m.Verify(ctx, plaintext)
	require.NoError(t, err)
	require.NoError(t, m.Flush(ctx))
	r, err := m.Usage(ctx, apikey.UsageQuery{KeyID: k.ID})
	require.NoError(t, err)
	assert.Equal(t, apikey.UsageCounts{Verified: 1, MissingScope: 2}, r.Total)
}

func TestUsagePrune(t *testing.T) {
	ctx := t.Context()
	clock := newFakeClock()
	m := newManager(t, memstore.New(), apikey.WithClock(clock.Now))
	k, plaintext := issue(t, m, "billing", "read")
	_, err := m.Verify(ctx, plaintext)
	require.NoError(t, err)
	require.NoError(t, m.Flush(ctx))
	clock.Advance(89 * 24 * time.Hour)
	_, err = m.Verify(ctx, plaintext)
	require.NoError(t, err)
	require.NoError(t, m.Flush(ctx))
	clock.Advance(2 * 24 * time.Hour)
	n, err := m.PruneUsage(ctx, 0)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the use of 91 days ago")
	r, err := m.Usage(ctx, apikey.UsageQuery{KeyID: k.ID, From: clock.Now().Add(-100 * 24 * time.Hour), Step: apikey.UsageByDay})
	require.NoError(t, err)
	assert.Equal(t, int64(1), r.Total.Verified)
}

func TestUsageUnsupported(t *testing.T) {
	m := newManager(t, struct{ apikey.Store }{memstore.New()})
	_, err := m.Usage(t.Context(), apikey.UsageQuery{})
	require.ErrorIs(t, err, errors.ErrUnsupported)
	_, err = m.PruneUsage(t.Context(), 0)
	require.ErrorIs(t, err, errors.ErrUnsupported)
}

func TestUsageQueryErrors(t *testing.T) {
	m := newManager(t, memstore.New())
	for name, q := range map[string]apikey.UsageQuery{
		"step":  {Step: "week"},
		"range": {From: time.Now(), To: time.Now().Add(-time.Hour)},
		"long":  {From: time.Now().Add(-200 * 24 * time.Hour)},
		"top":   {Top: apikey.MaxBusiestKeys + 1},
		"owner": {Owner: "bad owner\n"},
	} {
		_, err := m.Usage(t.Context(), q)
		assert.Error(t, err, name)
	}
}

func TestUsageAcrossTheHour(t *testing.T) {
	ctx := t.Context()
	clock := newFakeClock()
	clock.Advance(50 * time.Minute) // 09:50
	m := newManager(t, memstore.New(), apikey.WithClock(clock.Now))
	k, plaintext := issue(t, m, "billing", "read")
	for range 2 {
		_, err := m.Verify(ctx, plaintext)
		require.NoError(t, err)
	}
	clock.Advance(20 * time.Minute) // 10:10, no flush in between
	for range 3 {
		_, err := m.Verify(ctx, plaintext)
		require.NoError(t, err)
	}
	require.NoError(t, m.Flush(ctx))
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	r, err := m.Usage(ctx, apikey.UsageQuery{KeyID: k.ID, From: start, To: start.Add(2 * time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, int64(2), r.Points[0].Verified)
	assert.Equal(t, int64(3), r.Points[1].Verified)
	assert.Equal(t, uint64(2), m.Stats().UsageRows, "one row per hour")
}

// TestUsageConcurrentFlushes verifies from many goroutines while flushes
// run: every use is counted once.
func TestUsageConcurrentFlushes(t *testing.T) {
	ctx := t.Context()
	store := memstore.New()
	m, err := apikey.New(store, apikey.WithLastUsedFlushInterval(-1))
	require.NoError(t, err)
	k, plaintext := issue(t, m, "billing", "read")
	const goroutines, each = 8, 500
	done := make(chan struct{})
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		for {
			select {
			case <-done:
				return
			default:
				assert.NoError(t, m.Flush(ctx))
			}
		}
	}()
	errs := make(chan error, goroutines)
	for range goroutines {
		go func() {
			var err error
			for range each {
				if _, err = m.Verify(ctx, plaintext); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range goroutines {
		require.NoError(t, <-errs)
	}
	close(done)
	<-flushed
	require.NoError(t, m.Close())
	m2 := newManager(t, store)
	r, err := m2.Usage(ctx, apikey.UsageQuery{KeyID: k.ID})
	require.NoError(t, err)
	assert.Equal(t, int64(goroutines*each), r.Total.Verified)
}
