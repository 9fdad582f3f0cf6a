package sqlstore_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/apikit/apikey/sqlstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUpgradeFromVersion1 makes the schema of the first release (migration
// 0001 alone, as that release's Migrate left it) holding a key, runs
// Migrate, and checks that the key got the owner "default", keeps its every
// field and still verifies; and that the upgraded store takes owners.
func TestUpgradeFromVersion1(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := b.open(t)
		s := unmigratedStore(t, db, b.dialect)

		// Version 1, by hand: its statements and its version row.
		createVersion(t, db, b.dialect, s, 1)
		q := `"`
		if b.dialect == sqlstore.MySQL {
			q = "`"
		}

		// A key as the first release stored it: made by a Manager, its row
		// written with version 1's columns.
		m1, err := apikey.New(memstore.New(), apikey.WithLastUsedFlushInterval(-1))
		require.NoError(t, err)
		old, plaintext, err := m1.Issue(ctx, apikey.IssueRequest{Name: "from v1", Groups: []string{"reports:read"}, CreatedBy: "alice"})
		require.NoError(t, err)
		require.NoError(t, m1.Close())
		ph := func(n int) string {
			if b.dialect == sqlstore.Postgres {
				return "$" + strconv.Itoa(n)
			}
			return "?"
		}
		values := []string{ph(1), ph(2), ph(3), ph(4), ph(5), ph(6), ph(7),
			timeLiteral(b.dialect, old.CreatedAt), ph(8), timeLiteral(b.dialect, old.UpdatedAt)}
		_, err = db.ExecContext(ctx, "INSERT INTO "+q+s.Table()+q+
			" (id, lookup_id, name, groups_json, active, preview, hash, created_at, created_by, updated_at) VALUES ("+
			strings.Join(values, ", ")+")",
			old.ID.String(), old.LookupID, old.Name, `["reports:read"]`, true, old.Preview, old.Hash, old.CreatedBy)
		require.NoError(t, err)

		require.NoError(t, s.Migrate(ctx), "Migrate from version 1")
		require.NoError(t, s.Migrate(ctx), "Migrate again")

		got, err := s.Get(ctx, old.ID)
		require.NoError(t, err)
		assert.Equal(t, apikey.DefaultOwner, got.Owner, "a key from before owners belongs to the default owner")
		assert.Empty(t, got.Metadata)
		assert.Equal(t, old.Name, got.Name)
		assert.Equal(t, old.Groups, got.Groups)
		assert.True(t, old.CreatedAt.Equal(got.CreatedAt))

		m, err := apikey.New(s, apikey.WithLastUsedFlushInterval(-1))
		require.NoError(t, err)
		defer m.Close()
		verified, err := m.Verify(ctx, plaintext)
		require.NoError(t, err, "the key still verifies")
		assert.Equal(t, old.ID, verified.ID)
		assert.Equal(t, apikey.DefaultOwner, verified.Owner)

		k, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "new", Groups: []string{"x"}, CreatedBy: "bob", Owner: "org-42",
			Metadata: map[string]string{"plan": "pro"}})
		require.NoError(t, err)
		page, err := m.List(ctx, apikey.ListOptions{Owner: "org-42"})
		require.NoError(t, err)
		require.Len(t, page.Keys, 1)
		assert.Equal(t, k.ID, page.Keys[0].ID)
		assert.Equal(t, map[string]string{"plan": "pro"}, page.Keys[0].Metadata)
		page, err = m.List(ctx, apikey.ListOptions{Owner: apikey.DefaultOwner})
		require.NoError(t, err)
		require.Len(t, page.Keys, 1)
		assert.Equal(t, old.ID, page.Keys[0].ID)
	})
}

// timeLiteral writes t as a SQL literal of the dialect's time columns.
func timeLiteral(d sqlstore.Dialect, t time.Time) string {
	t = t.UTC().Truncate(time.Microsecond)
	switch d {
	case sqlstore.Postgres:
		return "'" + t.Format("2006-01-02 15:04:05.000000+00") + "'"
	case sqlstore.MySQL:
		return "'" + t.Format("2006-01-02 15:04:05.000000") + "'"
	default:
		return strconv.FormatInt(t.UnixMicro(), 10)
	}
}
