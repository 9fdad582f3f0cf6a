package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/sqlstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPostgresSortedListPlans extends TestPostgresListPlans to ListSorted:
// newest first with every filter combination of List, the keys that work
// now (a residual filter on the active index, with a few expired keys not
// yet pruned), the name and expiry orders and expiring_before within an
// owner, and the preview search, each with and without a cursor, under
// custom and generic plans: no plan node reads more than 4 pages' worth of
// rows, and none scans the table.
func TestPostgresSortedListPlans(t *testing.T) {
	b := backends[1].resolve(t) // PostgreSQL
	require.Equal(t, sqlstore.Postgres, b.dialect)
	db := b.open(t)
	s := newStore(t, db, b.dialect)
	const n = 20000
	small := scaleShape(n)
	bulkLoad(t, db, b.dialect, s.Table(), n, func(i int) (string, []string, bool) {
		owner, groups, active := small(i)
		if i%2 == 0 {
			owner = "big"
		}
		return owner, groups, active
	})
	ctx := context.Background()
	// A third of the keys expire, one in a thousand has already; each key
	// gets a preview of its own.
	table := `"` + s.Table() + `"`
	_, err := db.ExecContext(ctx, `UPDATE `+table+` SET expires_at = created_at + make_interval(days => 1 + substr(lookup_id, 2)::int % 97) WHERE substr(lookup_id, 2)::int % 3 = 0`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `UPDATE `+table+` SET expires_at = created_at - interval '1 day' WHERE substr(lookup_id, 2)::int % 1000 = 1`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `UPDATE `+table+` SET preview = 'ak_' || lookup_id || '…x'`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, "ANALYZE "+table)
	require.NoError(t, err)

	now := scaleStart.Add(n / 2 * time.Millisecond)
	var queries []apikey.ListQuery
	for i := range 32 {
		q := apikey.ListQuery{Sort: apikey.SortCreatedDesc, Limit: 51}
		switch i & 3 {
		case 1:
			q.Owner = "org-7"
		case 2, 3:
			q.Owner = "big"
		}
		if i&4 != 0 {
			q.Status, q.WorkingAt = apikey.StatusActive, now
		}
		switch (i >> 3) & 3 {
		case 1:
			q.Group = "eighth"
		case 2:
			q.Group = "read"
		case 3:
			q.Group = "newest"
		}
		queries = append(queries, q)
	}
	for _, owner := range []string{"big", "org-7"} {
		queries = append(queries,
			apikey.ListQuery{Sort: apikey.SortCreated, Owner: owner, Status: apikey.StatusActive, WorkingAt: now, Limit: 51},
			apikey.ListQuery{Sort: apikey.SortName, Owner: owner, Limit: 51},
			apikey.ListQuery{Sort: apikey.SortExpiry, Owner: owner, Limit: 51},
			apikey.ListQuery{Sort: apikey.SortExpiry, Owner: owner, ExpiringBefore: now.Add(30 * 24 * time.Hour), Limit: 51},
			apikey.ListQuery{Sort: apikey.SortExpiry, Owner: owner, ExpiringBefore: now.Add(30 * 24 * time.Hour), Status: apikey.StatusActive, WorkingAt: now, Limit: 51},
			apikey.ListQuery{Sort: apikey.SortCreatedDesc, Owner: owner, Preview: "ak_L00000000042…x", Limit: 51},
		)
	}
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		_, err := conn.ExecContext(ctx, "SET plan_cache_mode = "+mode)
		require.NoError(t, err)
		for i, q := range queries {
			for _, withCursor := range []bool{false, true} {
				if withCursor {
					first, err := s.ListSorted(ctx, q)
					require.NoError(t, err)
					if len(first) == 0 {
						continue
					}
					last := first[len(first)-1]
					q.After = apikey.Cursor{CreatedAt: last.CreatedAt, Name: last.Name, ID: last.ID}
					if q.Sort == apikey.SortExpiry {
						q.After = apikey.Cursor{ExpiresAt: *last.ExpiresAt, ID: last.ID}
					}
				}
				query, args := s.ListSortedSQL(q)
				plan := explain(t, conn, fmt.Sprintf("s%d", i), query, args)
				what := fmt.Sprintf("%s, %+v:\n%s", mode, q, plan)
				assert.LessOrEqual(t, maxRowsRead(plan), 4*q.Limit, what)
				assert.NotContains(t, plan, "Seq Scan", what)
				t.Logf("%s sort %s owner %q status %v group %q working %v expiring %v preview %v cursor %v: at most %d rows read",
					mode, q.Sort, q.Owner, q.Status, q.Group, !q.WorkingAt.IsZero(), !q.ExpiringBefore.IsZero(), q.Preview != "", withCursor, maxRowsRead(plan))
			}
		}
	}
}

// explain runs query as a prepared statement under EXPLAIN ANALYZE and
// returns the plan.
func explain(t *testing.T, conn *sql.Conn, name, query string, args []any) string {
	t.Helper()
	ctx := context.Background()
	_, err := conn.ExecContext(ctx, "PREPARE "+name+" AS "+query)
	require.NoError(t, err, query)
	rows, err := conn.QueryContext(ctx, "EXPLAIN ANALYZE EXECUTE "+name+"("+literals(args)+")")
	require.NoError(t, err)
	var plan strings.Builder
	for rows.Next() {
		var line string
		require.NoError(t, rows.Scan(&line))
		plan.WriteString(line + "\n")
	}
	require.NoError(t, rows.Err())
	_, err = conn.ExecContext(ctx, "DEALLOCATE "+name)
	require.NoError(t, err)
	return plan.String()
}
