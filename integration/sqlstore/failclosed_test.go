package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/sqlstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// poolCap is the pool size of the fault tests: small, so that a pile-up
// of waiting requests would show.
const poolCap = 4

// openCapped opens the backend with ConfigurePool(poolCap). SQLite uses a
// rollback journal, not WAL, so that a lock held by another connection
// blocks readers, as a locked table does on the servers.
func (b backend) openCapped(tb testing.TB) *sql.DB {
	tb.Helper()
	dsn := b.dsn
	if b.dialect == sqlstore.SQLite {
		dsn = fmt.Sprintf("file:%s?_pragma=busy_timeout(5000)", filepath.Join(tb.TempDir(), "keys.db"))
	}
	db, err := sql.Open(b.driver, dsn)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = db.Close() })
	sqlstore.ConfigurePool(db, poolCap)
	return db
}

// lockTable makes every read of the store's keys table wait, from a
// connection of its own, until the returned function is called:
// LOCK TABLE ... ACCESS EXCLUSIVE on PostgreSQL, LOCK TABLES ... WRITE on
// MySQL, an exclusive lock on SQLite.
func lockTable(t *testing.T, b backend, s *sqlstore.Store) (unlock func()) {
	t.Helper()
	lockDB, err := sql.Open(b.driver, b.dsn)
	require.NoError(t, err)
	ctx := context.Background()
	switch b.dialect {
	case sqlstore.Postgres:
		tx, err := lockDB.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, "LOCK TABLE "+s.Table()+" IN ACCESS EXCLUSIVE MODE")
		require.NoError(t, err)
		return func() { _ = tx.Rollback(); _ = lockDB.Close() }
	case sqlstore.MySQL:
		conn, err := lockDB.Conn(ctx)
		require.NoError(t, err)
		_, err = conn.ExecContext(ctx, "LOCK TABLES "+s.Table()+" WRITE")
		require.NoError(t, err)
		return func() {
			_, _ = conn.ExecContext(ctx, "UNLOCK TABLES")
			_ = conn.Close()
			_ = lockDB.Close()
		}
	}
	t.Fatal("lockTable: use lockSQLite")
	return nil
}

// lockSQLite holds an exclusive lock on the SQLite database of db, on a
// connection of its own (which counts in db's pool).
func lockSQLite(t *testing.T, db *sql.DB) (unlock func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, "BEGIN EXCLUSIVE")
	require.NoError(t, err)
	return func() {
		_, _ = conn.ExecContext(ctx, "ROLLBACK")
		_ = conn.Close()
	}
}

// TestLockedTableFailsClosedWithTheDefaults holds a lock on the keys table
// and sends concurrent requests through the middleware, with the Manager's
// and the middleware's default options: every one is answered 503 with
// Retry-After within the default deadline plus a margin, the pool stays
// within its cap, and once the lock is released requests succeed again.
func TestLockedTableFailsClosedWithTheDefaults(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db := b.openCapped(t)
		s := newStore(t, db, b.dialect)
		m, err := apikey.New(s, apikey.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		t.Cleanup(func() { _ = m.Close() })
		_, plaintext := issueKey(t, m, "locked", "read")
		auth, err := m.Authenticator(apikey.AuthConfig{})
		require.NoError(t, err)
		h := auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}))
		request := func() *httptest.ResponseRecorder {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+plaintext)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w
		}
		require.Equal(t, http.StatusNoContent, request().Code, "before the lock")

		var unlock func()
		if b.dialect == sqlstore.SQLite {
			unlock = lockSQLite(t, db)
		} else {
			unlock = lockTable(t, b, s)
		}
		unlocked := false
		defer func() {
			if !unlocked {
				unlock()
			}
		}()

		// Watch the pool while the requests wait.
		var maxOpen atomic.Int64
		stop := make(chan struct{})
		var watcher sync.WaitGroup
		watcher.Go(func() {
			for {
				if n := int64(db.Stats().OpenConnections); n > maxOpen.Load() {
					maxOpen.Store(n)
				}
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
			}
		})

		const requests = 3 * poolCap
		const margin = 2 * time.Second
		var wg sync.WaitGroup
		codes := make([]int, requests)
		retryAfter := make([]string, requests)
		bodies := make([]string, requests)
		elapsed := make([]time.Duration, requests)
		for i := range requests {
			wg.Go(func() {
				start := time.Now()
				w := request()
				elapsed[i] = time.Since(start)
				codes[i], retryAfter[i], bodies[i] = w.Code, w.Header().Get("Retry-After"), w.Body.String()
			})
		}
		wg.Wait()
		close(stop)
		watcher.Wait()
		for i := range requests {
			assert.Equal(t, http.StatusServiceUnavailable, codes[i], "request %d", i)
			assert.NotEmpty(t, retryAfter[i], "request %d: Retry-After", i)
			assert.Less(t, elapsed[i], 3*time.Second+margin, "request %d: within the deadline plus a margin", i)
			assert.NotContains(t, bodies[i], plaintext)
		}
		assert.LessOrEqual(t, maxOpen.Load(), int64(poolCap), "open connections")
		st := m.Stats()
		assert.Equal(t, uint64(requests), st.Unavailable)
		assert.Positive(t, st.StoreTimeouts)

		unlock()
		unlocked = true
		// Connections cancelled during the lock are replaced as needed.
		var code int
		for range 50 {
			if code = request().Code; code == http.StatusNoContent {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		assert.Equal(t, http.StatusNoContent, code, "after the lock is released")
		assert.Equal(t, http.StatusNoContent, request().Code, "and again")
	})
}

// TestCloseWhileAFlushIsLocked calls Close while the rows a flush writes
// are locked: Close returns within its bound and reports the uses lost.
func TestCloseWhileAFlushIsLocked(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db := b.openCapped(t)
		s := newStore(t, db, b.dialect)
		var logs bytes.Buffer
		var logMu sync.Mutex
		const bound = time.Second
		m, err := apikey.New(s,
			apikey.WithLastUsedFlushInterval(20*time.Millisecond),
			apikey.WithCloseTimeout(bound),
			apikey.WithLogger(slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil))))
		require.NoError(t, err)
		k, plaintext := issueKey(t, m, "flushed", "read")

		var unlock func()
		if b.dialect == sqlstore.SQLite {
			unlock = lockSQLite(t, db)
		} else {
			// Another transaction holds the key's row.
			lockDB, err := sql.Open(b.driver, b.dsn)
			require.NoError(t, err)
			tx, err := lockDB.BeginTx(t.Context(), nil)
			require.NoError(t, err)
			lock := "UPDATE " + s.Table() + " SET name = 'locked' WHERE id = ?"
			if b.dialect == sqlstore.Postgres {
				lock = strings.Replace(lock, "?", "$1", 1)
			}
			_, err = tx.ExecContext(t.Context(), lock, k.ID.String())
			require.NoError(t, err)
			unlock = func() { _ = tx.Rollback(); _ = lockDB.Close() }
		}
		defer func() { unlock() }() // unlock changes below, for SQLite

		// Verify before the lock on SQLite would need the database; the
		// servers read the row while only it is locked.
		if b.dialect != sqlstore.SQLite {
			for range 3 {
				_, err := m.Verify(t.Context(), plaintext)
				require.NoError(t, err)
			}
		} else {
			// SQLite is locked whole: record the uses through a cache hit.
			unlock()
			m2, err := apikey.New(s, apikey.WithLastUsedFlushInterval(20*time.Millisecond), apikey.WithCloseTimeout(bound),
				apikey.WithVerifyCache(apikey.VerifyCache{TTL: time.Minute}), apikey.WithLogger(slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil))))
			require.NoError(t, err)
			require.NoError(t, m.Close())
			m = m2
			_, err = m.Verify(t.Context(), plaintext) // fills the cache
			require.NoError(t, err)
			require.NoError(t, m.Flush(t.Context()))
			unlock = lockSQLite(t, db)
			for range 3 {
				_, err := m.Verify(t.Context(), plaintext)
				require.NoError(t, err)
			}
		}
		// Wait for a background flush to block on the lock, holding a
		// connection (SQLite's lock holds one more).
		blocked := 1
		if b.dialect == sqlstore.SQLite {
			blocked = 2
		}
		deadline := time.Now().Add(10 * time.Second)
		for db.Stats().InUse < blocked {
			require.True(t, time.Now().Before(deadline), "no flush blocked on the lock")
			time.Sleep(time.Millisecond)
		}

		start := time.Now()
		err = m.Close()
		elapsed := time.Since(start)
		assert.Less(t, elapsed, bound+time.Second, "Close within its bound plus a margin")
		require.Error(t, err)
		assert.ErrorIs(t, err, apikey.ErrStoreFailure)
		st := m.Stats()
		assert.Equal(t, uint64(3), st.UsesLost)
		assert.Equal(t, uint64(1), st.KeysLost)
		logMu.Lock()
		assert.Contains(t, logs.String(), "uses_lost=3")
		assert.Contains(t, logs.String(), "keys_lost=1")
		logMu.Unlock()
	})
}

// lockedWriter serializes writes to a buffer shared with the test.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
