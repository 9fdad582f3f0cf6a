package apikey_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// countingStore passes every call to a real memstore and counts them, so a
// test can prove that a hostile string never reached the Store.
type countingStore struct {
	apikey.Store
	calls          atomic.Int64
	recordLastUsed atomic.Int64
	failing        atomic.Bool // when set, every call fails as a database that is down
}

var errDown = &downError{}

type downError struct{}

func (*downError) Error() string { return "connection refused" }

func newCountingStore() *countingStore { return &countingStore{Store: memstore.New()} }

func (s *countingStore) count() error {
	s.calls.Add(1)
	if s.failing.Load() {
		return errDown
	}
	return nil
}

func (s *countingStore) Create(ctx context.Context, c apikey.Change, k *apikey.Key, maxPerOwner int) error {
	if err := s.count(); err != nil {
		return err
	}
	return s.Store.Create(ctx, c, k, maxPerOwner)
}

func (s *countingStore) Get(ctx context.Context, id uuid.UUID) (*apikey.Key, error) {
	if err := s.count(); err != nil {
		return nil, err
	}
	return s.Store.Get(ctx, id)
}

func (s *countingStore) GetByLookupID(ctx context.Context, lookupID string) (*apikey.Key, error) {
	if err := s.count(); err != nil {
		return nil, err
	}
	return s.Store.GetByLookupID(ctx, lookupID)
}

func (s *countingStore) List(ctx context.Context, q apikey.ListQuery) ([]*apikey.Key, error) {
	if err := s.count(); err != nil {
		return nil, err
	}
	return s.Store.List(ctx, q)
}

func (s *countingStore) Delete(ctx context.Context, c apikey.Change, id uuid.UUID, guard *apikey.Guard) error {
	if err := s.count(); err != nil {
		return err
	}
	return s.Store.Delete(ctx, c, id, guard)
}

func (s *countingStore) SetName(ctx context.Context, c apikey.Change, id uuid.UUID, name string, guard *apikey.Guard) error {
	if err := s.count(); err != nil {
		return err
	}
	return s.Store.SetName(ctx, c, id, name, guard)
}

func (s *countingStore) SetGroups(ctx context.Context, c apikey.Change, id uuid.UUID, groups []string, guard *apikey.Guard) error {
	if err := s.count(); err != nil {
		return err
	}
	return s.Store.SetGroups(ctx, c, id, groups, guard)
}

func (s *countingStore) SetActive(ctx context.Context, c apikey.Change, id uuid.UUID, active bool, guard *apikey.Guard) error {
	if err := s.count(); err != nil {
		return err
	}
	return s.Store.SetActive(ctx, c, id, active, guard)
}

func (s *countingStore) SetHash(ctx context.Context, id uuid.UUID, hash string) error {
	if err := s.count(); err != nil {
		return err
	}
	return s.Store.SetHash(ctx, id, hash)
}

func (s *countingStore) RecordLastUsed(ctx context.Context, uses map[uuid.UUID]time.Time) error {
	if err := s.count(); err != nil {
		return err
	}
	s.recordLastUsed.Add(1)
	return s.Store.RecordLastUsed(ctx, uses)
}

// fakeClock is an injectable clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newManager returns a Manager without background flush on store, closed
// when the test ends.
func newManager(t testing.TB, store apikey.Store, opts ...apikey.Option) *apikey.Manager {
	t.Helper()
	opts = append([]apikey.Option{apikey.WithLastUsedFlushInterval(-1)}, opts...)
	m, err := apikey.New(store, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

func issue(t testing.TB, m *apikey.Manager, name string, groups ...string) (*apikey.Key, string) {
	t.Helper()
	k, plaintext, err := m.Issue(context.Background(), apikey.IssueRequest{Name: name, Groups: groups, CreatedBy: "tester"})
	require.NoError(t, err)
	return k, plaintext
}
