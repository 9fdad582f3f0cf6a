package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/apikit/apikey/sqlstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests drive the Manager over a real database: what a service
// deploying sqlstore relies on.

// clock is an injectable clock that moves only when told to.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// flushCounter counts the RecordLastUsed calls that reach the real store.
type flushCounter struct {
	apikey.Store
	flushes atomic.Int64
	keys    atomic.Int64
}

func (f *flushCounter) RecordLastUsed(ctx context.Context, uses map[uuid.UUID]time.Time) error {
	f.flushes.Add(1)
	f.keys.Add(int64(len(uses)))
	return f.Store.RecordLastUsed(ctx, uses)
}

func newManager(t testing.TB, store apikey.Store, opts ...apikey.Option) *apikey.Manager {
	t.Helper()
	m, err := apikey.New(store, append([]apikey.Option{apikey.WithLastUsedFlushInterval(-1)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func issueKey(t testing.TB, m *apikey.Manager, name string, groups ...string) (*apikey.Key, string) {
	t.Helper()
	k, plaintext, err := m.Issue(context.Background(), apikey.IssueRequest{Name: name, Groups: groups, CreatedBy: "tester"})
	require.NoError(t, err)
	return k, plaintext
}

func TestManagerLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := &clock{now: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
		m := newManager(t, newStore(t, b.open(t), b.dialect), apikey.WithClock(c.Now))
		k, plaintext := issueKey(t, m, "'; DROP TABLE apikeys; -- 🔑", "reports:read", "a_b")

		got, err := m.Verify(ctx, plaintext)
		require.NoError(t, err)
		assert.Equal(t, k.Name, got.Name)
		assert.Equal(t, []string{"a_b", "reports:read"}, got.Groups)

		require.NoError(t, m.Deactivate(ctx, k.ID))
		_, err = m.Verify(ctx, plaintext)
		assert.ErrorIs(t, err, apikey.ErrInactive)
		require.NoError(t, m.Activate(ctx, k.ID))
		require.NoError(t, m.Rename(ctx, k.ID, "100% _literal_"))
		require.NoError(t, m.SetGroups(ctx, k.ID, []string{"billing:write"}))
		got, err = m.Verify(ctx, plaintext)
		require.NoError(t, err)
		assert.Equal(t, "100% _literal_", got.Name)
		assert.Equal(t, []string{"billing:write"}, got.Groups)

		page, err := m.List(ctx, apikey.ListOptions{Group: "billing:write"})
		require.NoError(t, err)
		require.Len(t, page.Keys, 1)
		page, err = m.List(ctx, apikey.ListOptions{Group: "billing_write"})
		require.NoError(t, err)
		assert.Empty(t, page.Keys, "'_' in a group filter is literal")

		require.NoError(t, m.Delete(ctx, k.ID))
		_, err = m.Verify(ctx, plaintext)
		assert.ErrorIs(t, err, apikey.ErrInvalidKey)
	})
}

// The table holds hashes, never a plaintext or a secret.
func TestNoPlaintextInTheTable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db := b.open(t)
		store := newStore(t, db, b.dialect)
		m := newManager(t, store)
		var secrets []string
		for range 5 {
			_, plaintext := issueKey(t, m, "k", "read")
			parts, err := apikey.ParseKey(plaintext)
			require.NoError(t, err)
			secrets = append(secrets, plaintext, parts.Secret, parts.Secret[:16], parts.Secret[len(parts.Secret)-16:])
		}
		_, rows := dump(t, db, "SELECT * FROM "+store.Table())
		require.Len(t, rows, 5)
		for _, row := range rows {
			for column, value := range row {
				for _, s := range secrets {
					assert.NotContains(t, value, s, "column %s holds a secret", column)
				}
			}
		}
	})
}

// A database that is down makes Verify fail closed: never a key, never
// "invalid key".
func TestVerifyWithTheDatabaseDown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store := newStore(t, b.open(t), b.dialect)
		_, plaintext := issueKey(t, newManager(t, store), "k", "read")
		// A second handle on the same tables (for SQLite, another file:
		// closed, it fails the same way), closed under the Manager.
		db := b.open(t)
		down, err := sqlstore.New(db, b.dialect, sqlstore.WithTable(store.Table()))
		require.NoError(t, err)
		m := newManager(t, down)
		require.NoError(t, db.Close())
		k, err := m.Verify(context.Background(), plaintext)
		assert.Nil(t, k)
		assert.ErrorIs(t, err, apikey.ErrStoreFailure)
		assert.False(t, errors.Is(err, apikey.ErrInvalidKey))
		assert.NotContains(t, err.Error(), plaintext)
	})
}

func TestVerifyWithADeadServer(t *testing.T) {
	for _, tc := range []struct{ driver, dsn string }{
		{"pgx", "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2"},
		{"mysql", "root@tcp(127.0.0.1:1)/test?timeout=2s"},
	} {
		t.Run(tc.driver, func(t *testing.T) {
			db, err := sql.Open(tc.driver, tc.dsn)
			require.NoError(t, err)
			defer db.Close()
			dialect := sqlstore.Postgres
			if tc.driver == "mysql" {
				dialect = sqlstore.MySQL
			}
			store, err := sqlstore.New(db, dialect)
			require.NoError(t, err)
			m := newManager(t, store)
			// A well-formed key, so that Verify reaches the store.
			other := newManager(t, memstore.New())
			_, plaintext := issueKey(t, other, "k", "read")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			k, err := m.Verify(ctx, plaintext)
			assert.Nil(t, k)
			assert.ErrorIs(t, err, apikey.ErrStoreFailure)
			assert.False(t, errors.Is(err, apikey.ErrInvalidKey))
			assert.Zero(t, db.Stats().InUse, "a connection leaked")
		})
	}
}

// 10,000 uses of 100 keys reach the database as one RecordLastUsed call,
// one statement, per flush.
func TestLastUsedFlushesInOneStatement(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := &clock{now: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
		store := &flushCounter{Store: newStore(t, b.open(t), b.dialect)}
		m := newManager(t, store, apikey.WithClock(c.Now))
		keys := make([]*apikey.Key, 100)
		plaintexts := make([]string, 100)
		for i := range keys {
			keys[i], plaintexts[i] = issueKey(t, m, "k", "read")
		}
		for i := range 10_000 {
			if i%2500 == 0 {
				c.Advance(time.Second)
			}
			_, err := m.Verify(ctx, plaintexts[i%100])
			require.NoError(t, err)
		}
		require.NoError(t, m.Flush(ctx))
		assert.Equal(t, int64(1), store.flushes.Load())
		assert.Equal(t, int64(100), store.keys.Load())
		for _, k := range keys {
			got, err := m.Get(ctx, k.ID)
			require.NoError(t, err)
			require.NotNil(t, got.LastUsedAt)
			assert.Equal(t, c.Now(), *got.LastUsedAt)
		}

		// A flush from a Manager whose clock is behind never moves a time back.
		behind := newManager(t, store, apikey.WithClock(func() time.Time { return c.Now().Add(-time.Hour) }))
		_, err := behind.Verify(ctx, plaintexts[0])
		require.NoError(t, err)
		require.NoError(t, behind.Close())
		got, err := m.Get(ctx, keys[0].ID)
		require.NoError(t, err)
		assert.Equal(t, c.Now(), *got.LastUsedAt)
	})
}

// With the verification cache on, Deactivate through the same Manager takes
// effect at once, even while verifications run in parallel; another
// Manager (another instance) sees it within the TTL.
func TestVerifyCache(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := &clock{now: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
		store := newStore(t, b.open(t), b.dialect)
		const ttl = 5 * time.Second
		m := newManager(t, store, apikey.WithClock(c.Now), apikey.WithVerifyCache(apikey.VerifyCache{TTL: ttl}))
		other := newManager(t, store, apikey.WithClock(c.Now), apikey.WithVerifyCache(apikey.VerifyCache{TTL: ttl}))
		k, plaintext := issueKey(t, m, "k", "read")
		_, err := other.Verify(ctx, plaintext)
		require.NoError(t, err, "other caches the key")

		var deactivated atomic.Bool
		var wg sync.WaitGroup
		var failures atomic.Int64
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					after := deactivated.Load()
					_, err := m.Verify(ctx, plaintext)
					if after {
						if err == nil {
							failures.Add(1)
						}
						return
					}
				}
			}()
		}
		time.Sleep(20 * time.Millisecond)
		require.NoError(t, m.Deactivate(ctx, k.ID))
		deactivated.Store(true)
		wg.Wait()
		assert.Zero(t, failures.Load(), "a verification that started after Deactivate returned succeeded")
		_, err = m.Verify(ctx, plaintext)
		assert.ErrorIs(t, err, apikey.ErrInactive)

		c.Advance(ttl - time.Microsecond)
		_, err = other.Verify(ctx, plaintext)
		assert.NoError(t, err, "within the TTL the other instance still answers from its cache")
		c.Advance(time.Microsecond)
		_, err = other.Verify(ctx, plaintext)
		assert.ErrorIs(t, err, apikey.ErrInactive, "after at most the TTL the other instance sees the change")
	})
}

// Rotating to a slow hasher keeps old keys working; each is re-hashed in
// the database on its next use.
func TestRehashInTheDatabase(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		store := newStore(t, b.open(t), b.dialect)
		k, plaintext := issueKey(t, newManager(t, store), "k", "read")
		argon := apikey.Argon2idHasher{Memory: 1024, Time: 1}
		m := newManager(t, store, apikey.WithHasher(argon))
		_, err := m.Verify(ctx, plaintext)
		require.NoError(t, err)
		got, err := store.Get(ctx, k.ID)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(got.Hash, "$argon2id$"), got.Hash)
		_, err = m.Verify(ctx, plaintext)
		require.NoError(t, err)
	})
}
