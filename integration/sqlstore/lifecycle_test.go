package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/internal/sqlscript"
	"github.com/apikit/apikey/memstore"
	"github.com/apikit/apikey/sqlstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRollOnEachDatabase rolls a key through the Manager with an injected
// clock: both keys verify until the grace ends, then only the successor;
// a grace of zero stops the old key at once.
func TestRollOnEachDatabase(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		m := newManager(t, newStore(t, b.open(t), b.dialect), apikey.WithClock(c.Now))
		old, oldText, err := m.Issue(ctx, apikey.IssueRequest{Name: "ci", Groups: []string{"read", "write"}, CreatedBy: "t",
			Owner: "org-a", Metadata: map[string]string{"plan": "pro"}, ExpiresAt: c.Now().Add(90 * 24 * time.Hour)})
		require.NoError(t, err)

		succ, succText, err := m.Roll(ctx, old.ID, apikey.RollRequest{Grace: time.Hour, CreatedBy: "ops"})
		require.NoError(t, err)
		stored, err := m.Get(ctx, succ.ID)
		require.NoError(t, err)
		assert.Equal(t, old.Owner, stored.Owner)
		assert.Equal(t, old.Groups, stored.Groups)
		assert.Equal(t, old.Metadata, stored.Metadata)
		assert.Equal(t, old.ID, stored.RolledFrom)
		assert.True(t, old.ExpiresAt.Equal(*stored.ExpiresAt))
		for _, text := range []string{oldText, succText} {
			_, err := m.Verify(ctx, text)
			require.NoError(t, err)
		}
		c.Advance(time.Hour)
		_, err = m.Verify(ctx, oldText)
		assert.ErrorIs(t, err, apikey.ErrExpired)
		_, err = m.Verify(ctx, succText)
		assert.NoError(t, err)

		next, nextText, err := m.Roll(ctx, succ.ID, apikey.RollRequest{CreatedBy: "ops"})
		require.NoError(t, err)
		_, err = m.Verify(ctx, succText)
		assert.ErrorIs(t, err, apikey.ErrExpired, "grace zero stops the key at once")
		_, err = m.Verify(ctx, nextText)
		assert.NoError(t, err)
		_, _, err = m.Roll(ctx, succ.ID, apikey.RollRequest{CreatedBy: "ops"})
		assert.ErrorIs(t, err, apikey.ErrAlreadyRolled)
		assert.Equal(t, succ.ID, next.RolledFrom)
	})
}

// revokingStore revokes a group of the key being rolled, on the database,
// between the Manager's authorization and its roll, once.
type revokingStore struct {
	*sqlstore.Store
	once sync.Once
}

func (s *revokingStore) Roll(ctx context.Context, c apikey.Change, oldID uuid.UUID, successor *apikey.Key, graceEndsAt time.Time, guard *apikey.Guard) error {
	var err error
	s.once.Do(func() { err = s.Store.SetGroups(ctx, opAt(time.Now()), oldID, []string{"read"}, nil) })
	if err != nil {
		return err
	}
	return s.Store.Roll(ctx, c, oldID, successor, graceEndsAt, guard)
}

// TestRollDuringARevocation: a change of the old key's groups between the
// authorization and the roll never yields a successor with more groups.
func TestRollDuringARevocation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := apikey.NewActorContext(context.Background(), apikey.Actor{Name: "admin", Groups: []string{"read", "write"}})
		m := newManager(t, &revokingStore{Store: newStore(t, b.open(t), b.dialect)})
		k, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "k", Groups: []string{"read", "write"}})
		require.NoError(t, err)
		succ, _, err := m.Roll(ctx, k.ID, apikey.RollRequest{Grace: time.Hour})
		require.NoError(t, err)
		stored, err := m.Get(ctx, succ.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{"read"}, stored.Groups)
	})
}

// TestPruneOnEachDatabase deletes exactly the eligible keys, in batches,
// and the dry run none.
func TestPruneOnEachDatabase(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		db := b.open(t)
		s := newStore(t, db, b.dialect)
		m := newManager(t, s, apikey.WithClock(c.Now))
		const day = 24 * time.Hour
		issue := func(owner string, expires time.Time) *apikey.Key {
			k, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "k", Groups: []string{"read"}, CreatedBy: "t", Owner: owner, ExpiresAt: expires})
			require.NoError(t, err)
			return k
		}
		var eligible []uuid.UUID
		for i := range 25 {
			owner := "org-a"
			if i%5 == 0 {
				owner = "org-b"
			}
			eligible = append(eligible, issue(owner, c.Now().Add(day)).ID)
		}
		rolled := issue("org-a", time.Time{})
		_, _, err := m.Roll(ctx, rolled.ID, apikey.RollRequest{Grace: day, CreatedBy: "t"})
		require.NoError(t, err)
		eligible = append(eligible, rolled.ID)
		recent := issue("org-a", c.Now().Add(15*day))
		forever := issue("org-a", time.Time{})

		c.Advance(20 * day)
		dry, err := m.Prune(ctx, apikey.PruneOptions{OlderThan: 7 * day, DryRun: true, BatchSize: 4})
		require.NoError(t, err)
		assert.ElementsMatch(t, eligible, keyIDsOf(dry))
		assert.Equal(t, 29, countRows(t, db, s), "the dry run deleted nothing")

		b5, err := m.Prune(ctx, apikey.PruneOptions{OlderThan: 7 * day, Owner: "org-b", BatchSize: 2})
		require.NoError(t, err)
		assert.Len(t, b5, 5)
		all, err := m.Prune(ctx, apikey.PruneOptions{OlderThan: 7 * day, BatchSize: 4})
		require.NoError(t, err)
		assert.ElementsMatch(t, eligible, append(keyIDsOf(b5), keyIDsOf(all)...))
		assert.Equal(t, 3, countRows(t, db, s), "the successor, the recent key and the permanent key remain")
		for _, id := range []uuid.UUID{recent.ID, forever.ID} {
			_, err := m.Get(ctx, id)
			assert.NoError(t, err)
		}
		page, err := m.List(ctx, apikey.ListOptions{Group: "read"})
		require.NoError(t, err)
		assert.Len(t, page.Keys, 3, "no group membership of a pruned key is left")
	})
}

func keyIDsOf(keys []*apikey.Key) []uuid.UUID {
	out := make([]uuid.UUID, len(keys))
	for i, k := range keys {
		out[i] = k.ID
	}
	return out
}

// countRows counts the rows of the store's keys table.
func countRows(t *testing.T, db *sql.DB, s *sqlstore.Store) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+s.Table()).Scan(&n))
	return n
}

// TestUpgradeFromVersion3 makes the schema of version 3 (migrations 0001 to
// 0003, applied from their files, with their version rows) holding a key
// with groups, runs Migrate, and checks that the key keeps every field,
// has no lifecycle fields, verifies, and can be rolled and pruned.
func TestUpgradeFromVersion3(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := b.open(t)
		s := unmigratedStore(t, db, b.dialect)
		q := `"`
		if b.dialect == sqlstore.MySQL {
			q = "`"
		}
		versions := q + s.Table() + "_schema_migrations" + q
		var err error
		switch b.dialect {
		case sqlstore.Postgres:
			_, err = db.ExecContext(ctx, "CREATE TABLE "+versions+" (version bigint NOT NULL PRIMARY KEY, applied_at timestamptz NOT NULL)")
		case sqlstore.MySQL:
			_, err = db.ExecContext(ctx, "CREATE TABLE "+versions+" (version BIGINT NOT NULL PRIMARY KEY, applied_at DATETIME(6) NOT NULL) ENGINE=InnoDB")
		default:
			_, err = db.ExecContext(ctx, "CREATE TABLE "+versions+" (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT")
		}
		require.NoError(t, err)
		for v, name := range []string{"0001_init.sql", "0002_owners.sql", "0003_listing.sql"} {
			text, err := os.ReadFile(filepath.Join("..", "..", "sqlstore", "migrations", b.dialect.String(), name))
			require.NoError(t, err)
			for _, stmt := range sqlscript.Split(strings.ReplaceAll(string(text), "{{table}}", s.Table())) {
				_, err := db.ExecContext(ctx, stmt)
				require.NoError(t, err, stmt)
			}
			_, err = db.ExecContext(ctx, "INSERT INTO "+versions+" (version, applied_at) VALUES ("+strconv.Itoa(v+1)+", "+timeLiteral(b.dialect, time.Now())+")")
			require.NoError(t, err)
		}

		// A key as version 3 stored it, with its group rows.
		c := &clock{now: time.Now().UTC().Truncate(time.Microsecond)}
		m3, err := apikey.New(memstore.New(), apikey.WithLastUsedFlushInterval(-1), apikey.WithClock(c.Now))
		require.NoError(t, err)
		old, plaintext, err := m3.Issue(ctx, apikey.IssueRequest{Name: "from v3", Groups: []string{"read", "write"}, CreatedBy: "alice",
			Owner: "org-3", Metadata: map[string]string{"plan": "pro"}, ExpiresAt: c.Now().Add(48 * time.Hour)})
		require.NoError(t, err)
		require.NoError(t, m3.Close())
		ph := func(n int) string {
			if b.dialect == sqlstore.Postgres {
				return "$" + strconv.Itoa(n)
			}
			return "?"
		}
		keys := q + s.Table() + q
		values := []string{ph(1), ph(2), ph(3), ph(4), ph(5), ph(6), ph(7),
			timeLiteral(b.dialect, old.CreatedAt), ph(8), timeLiteral(b.dialect, old.UpdatedAt),
			timeLiteral(b.dialect, *old.ExpiresAt), ph(9), ph(10)}
		_, err = db.ExecContext(ctx, "INSERT INTO "+keys+
			" (id, lookup_id, name, groups_json, active, preview, hash, created_at, created_by, updated_at, expires_at, owner, metadata_json) VALUES ("+
			strings.Join(values, ", ")+")",
			old.ID.String(), old.LookupID, old.Name, `["read","write"]`, true, old.Preview, old.Hash, old.CreatedBy, old.Owner, `{"plan":"pro"}`)
		require.NoError(t, err)
		for _, g := range old.Groups {
			_, err = db.ExecContext(ctx, "INSERT INTO "+q+s.Table()+"_groups"+q+" (key_id, group_name, owner, created_at, active) VALUES ("+
				ph(1)+", "+ph(2)+", "+ph(3)+", "+timeLiteral(b.dialect, old.CreatedAt)+", "+ph(4)+")", old.ID.String(), g, old.Owner, true)
			require.NoError(t, err)
		}

		require.NoError(t, s.Migrate(ctx), "Migrate from version 3")
		require.NoError(t, s.Migrate(ctx), "Migrate again")

		got, err := s.Get(ctx, old.ID)
		require.NoError(t, err)
		assert.Equal(t, old.Owner, got.Owner)
		assert.Equal(t, old.Groups, got.Groups)
		assert.Equal(t, old.Metadata, got.Metadata)
		assert.True(t, old.ExpiresAt.Equal(*got.ExpiresAt))
		assert.Equal(t, uuid.Nil, got.RolledFrom)
		assert.Equal(t, uuid.Nil, got.RolledTo)
		assert.Nil(t, got.RolledAt)
		assert.Nil(t, got.GraceEndsAt)

		m := newManager(t, s, apikey.WithClock(c.Now))
		_, err = m.Verify(ctx, plaintext)
		require.NoError(t, err, "the key still verifies")
		succ, succText, err := m.Roll(ctx, old.ID, apikey.RollRequest{Grace: time.Hour, CreatedBy: "ops"})
		require.NoError(t, err)
		page, err := m.List(ctx, apikey.ListOptions{Owner: "org-3", Group: "write"})
		require.NoError(t, err)
		assert.ElementsMatch(t, []uuid.UUID{old.ID, succ.ID}, keyIDsOf(page.Keys))
		c.Advance(3 * time.Hour)
		_, err = m.Verify(ctx, plaintext)
		assert.ErrorIs(t, err, apikey.ErrExpired)
		_, err = m.Verify(ctx, succText)
		assert.NoError(t, err)
		pruned, err := m.Prune(ctx, apikey.PruneOptions{OlderThan: time.Hour})
		require.NoError(t, err)
		assert.Equal(t, []uuid.UUID{old.ID}, keyIDsOf(pruned))
	})
}
