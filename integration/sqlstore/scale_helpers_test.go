package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apikit/apikey/sqlstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// shape says, for key i of a bulk load, its owner, its groups and whether
// it is active.
type shape func(i int) (owner string, groups []string, active bool)

// scaleStart is the creation time of key 0 of a bulk load; key i is created
// i milliseconds later.
var scaleStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// bulkLoad writes n keys and their group memberships straight into a table
// at the current schema (version 3 or later), with multi-row INSERTs: far
// faster than Create, for tests and benchmarks that need many keys. On
// PostgreSQL it ends with ANALYZE, as autovacuum would.
func bulkLoad(tb testing.TB, db *sql.DB, dialect sqlstore.Dialect, table string, n int, sh shape) {
	tb.Helper()
	bulkLoadVersion(tb, db, dialect, table, n, sh, 3)
}

// bulkLoadVersion is bulkLoad into a table at schema version 2 (whose
// group memberships are only key and group) or 3 and later.
func bulkLoadVersion(tb testing.TB, db *sql.DB, dialect sqlstore.Dialect, table string, n int, sh shape, version int) {
	tb.Helper()
	const batch = 1000
	q := `"`
	if dialect == sqlstore.MySQL {
		q = "`"
	}
	boolean := func(b bool) string {
		switch {
		case dialect == sqlstore.SQLite && b:
			return "1"
		case dialect == sqlstore.SQLite:
			return "0"
		default:
			return fmt.Sprint(b)
		}
	}
	ctx := context.Background()
	for first := 0; first < n; first += batch {
		var keys, groups strings.Builder
		keys.WriteString("INSERT INTO " + q + table + q + " (id, lookup_id, name, groups_json, active, preview, hash, " +
			"created_at, created_by, updated_at, owner) VALUES ")
		if version >= 3 {
			groups.WriteString("INSERT INTO " + q + table + "_groups" + q + " (key_id, group_name, owner, created_at, active) VALUES ")
		} else {
			groups.WriteString("INSERT INTO " + q + table + "_groups" + q + " (key_id, group_name) VALUES ")
		}
		memberships := 0
		for i := first; i < min(first+batch, n); i++ {
			owner, gs, active := sh(i)
			id := uuid.Must(uuid.NewV7())
			at := timeLiteral(dialect, scaleStart.Add(time.Duration(i)*time.Millisecond))
			if i > first {
				keys.WriteString(", ")
			}
			fmt.Fprintf(&keys, "('%s', 'L%011d', 'key %d', '[\"%s\"]', %s, 'ak_x…y', '$sha256$x', %s, 'bench', %s, '%s')",
				id, i, i, strings.Join(gs, `","`), boolean(active), at, at, owner)
			for _, g := range gs {
				if memberships > 0 {
					groups.WriteString(", ")
				}
				memberships++
				if version >= 3 {
					fmt.Fprintf(&groups, "('%s', '%s', '%s', %s, %s)", id, g, owner, at, boolean(active))
				} else {
					fmt.Fprintf(&groups, "('%s', '%s')", id, g)
				}
			}
		}
		_, err := db.ExecContext(ctx, keys.String())
		require.NoError(tb, err)
		if memberships > 0 {
			_, err = db.ExecContext(ctx, groups.String())
			require.NoError(tb, err)
		}
	}
	if dialect == sqlstore.Postgres {
		for _, t := range []string{table, table + "_groups"} {
			_, err := db.ExecContext(ctx, "ANALYZE "+q+t+q)
			require.NoError(tb, err)
		}
	}
	if dialect == sqlstore.SQLite {
		_, err := db.ExecContext(ctx, "ANALYZE")
		require.NoError(tb, err)
	}
}

// scaleShape is the shape of the scale tests: 1,000 owners, every tenth
// key inactive, every key in "read", the newest 1,000 keys in "newest",
// 1,000 keys spread evenly in "spread", one key in eight in "eighth".
func scaleShape(n int) shape {
	return func(i int) (string, []string, bool) {
		groups := []string{"read"}
		if i >= n-1000 {
			groups = append(groups, "newest")
		}
		if i%max(n/1000, 1) == 0 {
			groups = append(groups, "spread")
		}
		if i%8 == 0 {
			groups = append(groups, "eighth")
		}
		return fmt.Sprintf("org-%d", i%1000), groups, i%10 != 0
	}
}
