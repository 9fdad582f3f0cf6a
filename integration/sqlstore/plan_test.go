package sqlstore_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/sqlstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPostgresListPlans checks, on PostgreSQL, that every combination of
// List's owner, status and group filters, with and without a cursor, reads
// a bounded number of rows for a page (no more than 4 pages' worth in any
// plan node, rows filtered out included), for a large owner and group as
// for small ones, the same with a generic plan (what a pooled connection
// switches to after a few executions of a prepared statement) as with a
// custom one.
func TestPostgresListPlans(t *testing.T) {
	b := backends[1].resolve(t) // PostgreSQL
	require.Equal(t, sqlstore.Postgres, b.dialect)
	db := b.open(t)
	s := newStore(t, db, b.dialect)
	const n = 20000
	small := scaleShape(n)
	bulkLoad(t, db, b.dialect, s.Table(), n, func(i int) (string, []string, bool) {
		owner, groups, active := small(i)
		if i%2 == 0 {
			owner = "big" // half the keys: a large customer
		}
		return owner, groups, active
	})

	ctx := context.Background()
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	after := apikey.Cursor{CreatedAt: scaleStart.Add(n / 2 * time.Millisecond), ID: uuid.Nil}
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		_, err := conn.ExecContext(ctx, "SET plan_cache_mode = "+mode)
		require.NoError(t, err)
		for i := range 64 {
			q := apikey.ListQuery{Limit: 51}
			switch i & 3 {
			case 1:
				q.Owner = "org-7"
			case 2, 3:
				q.Owner = "big"
			}
			if i&4 != 0 {
				q.Status = apikey.StatusActive
			}
			switch (i >> 3) & 3 {
			case 1:
				q.Group = "eighth"
			case 2:
				q.Group = "read"
			case 3:
				q.Group = "newest"
			}
			if i&32 != 0 {
				q.After = after
			}
			query, args := s.ListSQL(q)
			name := fmt.Sprintf("p%d", i)
			_, err := conn.ExecContext(ctx, "PREPARE "+name+" AS "+query)
			require.NoError(t, err)
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
			what := fmt.Sprintf("%s, owner %q, status %v, group %q, cursor %v:\n%s", mode, q.Owner, q.Status, q.Group, !q.After.IsZero(), plan.String())
			assert.LessOrEqual(t, maxRowsRead(plan.String()), 4*q.Limit, what)
			assert.NotContains(t, plan.String(), "Seq Scan", what)
		}
	}
}

// literals writes List's arguments as SQL literals for EXECUTE.
func literals(args []any) string {
	out := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		case time.Time:
			out[i] = "'" + v.UTC().Format("2006-01-02 15:04:05.999999Z07:00") + "'::timestamptz"
		default:
			out[i] = fmt.Sprint(v)
		}
	}
	return strings.Join(out, ", ")
}

var (
	actualRows  = regexp.MustCompile(`actual time=[0-9.]+\.\.[0-9.]+ rows=([0-9]+) loops=([0-9]+)`)
	removedRows = regexp.MustCompile(`Rows Removed by (?:Filter|Index Recheck|Join Filter): ([0-9]+)`)
)

// maxRowsRead returns the most rows any node of an EXPLAIN ANALYZE plan
// produced over all its loops, plus the rows it read and filtered out.
func maxRowsRead(plan string) int {
	most := 0
	for _, line := range strings.Split(plan, "\n") {
		m := actualRows.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		rows, _ := strconv.Atoi(m[1])
		loops, _ := strconv.Atoi(m[2])
		most = max(most, rows*loops)
	}
	// A filter's removed rows appear on the lines after its node.
	lines := strings.Split(plan, "\n")
	for i, line := range lines {
		m := actualRows.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		rows, _ := strconv.Atoi(m[1])
		loops, _ := strconv.Atoi(m[2])
		read := rows * loops
		for _, next := range lines[i+1:] {
			if actualRows.MatchString(next) {
				break
			}
			if r := removedRows.FindStringSubmatch(next); r != nil {
				removed, _ := strconv.Atoi(r[1])
				read += removed * loops
			}
		}
		most = max(most, read)
	}
	return most
}
