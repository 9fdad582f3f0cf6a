package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/internal/sqlscript"
	"github.com/apikit/apikey/sqlstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// BenchmarkListAtScale fills each database with APIKEY_SCALE_KEYS keys
// (default 100,000; the closing note of the listing issue used 1,000,000)
// through bulk SQL at schema version 2, measures the disk they take,
// upgrades the populated tables with Migrate, measures again, and then
// lists a 50-key page for every filter combination, in the shapes that
// used to fall off a cliff (a group held by the newest keys, one spread
// through time, one held by one key in eight), and deep in the list. Each
// sub-benchmark reports p50 and p99 in microseconds beside ns/op; compare
// every cell with "none", the unfiltered page of the same database.
//
//	APIKEY_SCALE_KEYS=1000000 APIKEY_TEST_POSTGRES_DSN=... APIKEY_TEST_MYSQL_DSN=... \
//	  go test -run '^$' -bench ListAtScale -benchtime 200x -timeout 2h ./integration/sqlstore
func BenchmarkListAtScale(b *testing.B) {
	n := 100000
	if v := os.Getenv("APIKEY_SCALE_KEYS"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(b, err, "APIKEY_SCALE_KEYS")
	}
	forEachBackendB(b, func(b *testing.B, be backend) {
		db := be.open(b)
		s := unmigratedStore(b, db, be.dialect)
		createVersion(b, db, be.dialect, s, 2)
		start := time.Now()
		bulkLoadVersion(b, db, be.dialect, s.Table(), n, scaleShape(n), 2)
		b.Logf("%s: %d keys loaded in %v", be.dialect, n, time.Since(start).Round(time.Second))
		before := diskBytes(b, db, be.dialect, s.Table())
		start = time.Now()
		require.NoError(b, s.Migrate(context.Background()), "Migrate the populated tables")
		b.Logf("%s: Migrate from version 2 took %v", be.dialect, time.Since(start).Round(time.Millisecond))
		after := diskBytes(b, db, be.dialect, s.Table())
		b.Logf("%s: disk per key: %.0f B at version 2, %.0f B after the upgrade", be.dialect, float64(before)/float64(n), float64(after)/float64(n))
		if be.dialect == sqlstore.Postgres {
			_, err := db.Exec(`ANALYZE "` + s.Table() + `"; ANALYZE "` + s.Table() + `_groups"`)
			require.NoError(b, err)
		}

		start = time.Now()
		expireAndPreview(b, db, be.dialect, s.Table())
		b.Logf("%s: expiries and previews set in %v", be.dialect, time.Since(start).Round(time.Second))

		middle := apikey.Cursor{CreatedAt: scaleStart.Add(time.Duration(n/2) * time.Millisecond), ID: uuid.Nil}
		now := scaleStart.Add(time.Duration(n/2) * time.Millisecond)
		working := func(q apikey.ListQuery) apikey.ListQuery {
			q.Status, q.WorkingAt = apikey.StatusActive, now
			return q
		}
		month := now.Add(30 * 24 * time.Hour)
		for _, tc := range []struct {
			name string
			q    apikey.ListQuery
		}{
			{"none", apikey.ListQuery{}},
			{"status", apikey.ListQuery{Status: apikey.StatusInactive}},
			{"owner", apikey.ListQuery{Owner: "org-7"}},
			{"owner+status", apikey.ListQuery{Owner: "org-7", Status: apikey.StatusActive}},
			{"group-newest", apikey.ListQuery{Group: "newest"}},
			{"group-spread", apikey.ListQuery{Group: "spread"}},
			{"group-eighth", apikey.ListQuery{Group: "eighth"}},
			{"group-eighth+status", apikey.ListQuery{Group: "eighth", Status: apikey.StatusInactive}},
			{"owner+group-eighth", apikey.ListQuery{Owner: "org-8", Group: "eighth"}},
			{"owner+group-eighth+status", apikey.ListQuery{Owner: "org-8", Group: "eighth", Status: apikey.StatusActive}},
			{"owner+name", apikey.ListQuery{Owner: "org-7", Name: "KEY 1"}},
			{"deep/none", apikey.ListQuery{After: middle}},
			{"deep/group-eighth", apikey.ListQuery{Group: "eighth", After: middle}},
			{"deep/group-newest", apikey.ListQuery{Group: "newest", After: middle}},

			// ListSorted: the orders and filters of the tab at scale.
			{"sorted/-created", apikey.ListQuery{Sort: apikey.SortCreatedDesc}},
			{"sorted/-created+working", working(apikey.ListQuery{Sort: apikey.SortCreatedDesc})},
			{"sorted/created+working", working(apikey.ListQuery{})},
			{"sorted/-created+owner+working", working(apikey.ListQuery{Sort: apikey.SortCreatedDesc, Owner: "org-7"})},
			{"sorted/-created+group-eighth", apikey.ListQuery{Sort: apikey.SortCreatedDesc, Group: "eighth"}},
			{"sorted/-created+owner+group-eighth+working", working(apikey.ListQuery{Sort: apikey.SortCreatedDesc, Owner: "org-8", Group: "eighth"})},
			{"sorted/deep/-created", apikey.ListQuery{Sort: apikey.SortCreatedDesc, After: middle}},
			{"sorted/name+owner", apikey.ListQuery{Sort: apikey.SortName, Owner: "org-7"}},
			{"sorted/expires+owner", apikey.ListQuery{Sort: apikey.SortExpiry, Owner: "org-7"}},
			{"sorted/expiring_before+owner", apikey.ListQuery{Sort: apikey.SortExpiry, Owner: "org-7", ExpiringBefore: month}},
			{"sorted/expiring_before+owner+working", working(apikey.ListQuery{Sort: apikey.SortExpiry, Owner: "org-7", ExpiringBefore: month})},
			{"sorted/preview+owner", apikey.ListQuery{Sort: apikey.SortCreatedDesc, Owner: "org-7", Preview: "ak_L00000000007…x"}},
		} {
			tc.q.Limit = 50
			b.Run(tc.name, func(b *testing.B) { benchmarkPage(b, s, tc.q) })
		}
	})
}

// expireAndPreview gives a third of the keys an expiry 1 to 97 days after
// their creation, one in a thousand an expiry in the past (expired, not yet
// pruned), and every key a preview of its own.
func expireAndPreview(tb testing.TB, db *sql.DB, dialect sqlstore.Dialect, table string) {
	tb.Helper()
	var stmts []string
	switch dialect {
	case sqlstore.Postgres:
		t := `"` + table + `"`
		stmts = []string{
			`UPDATE ` + t + ` SET expires_at = created_at + make_interval(days => 1 + substr(lookup_id, 2)::int % 97) WHERE substr(lookup_id, 2)::int % 3 = 0`,
			`UPDATE ` + t + ` SET expires_at = created_at - interval '1 day' WHERE substr(lookup_id, 2)::int % 1000 = 1`,
			`UPDATE ` + t + ` SET preview = 'ak_' || lookup_id || '…x'`,
			`VACUUM ANALYZE ` + t,
		}
	case sqlstore.MySQL:
		t := "`" + table + "`"
		stmts = []string{
			`UPDATE ` + t + ` SET expires_at = DATE_ADD(created_at, INTERVAL 1 + CAST(SUBSTRING(lookup_id, 2) AS UNSIGNED) % 97 DAY) WHERE CAST(SUBSTRING(lookup_id, 2) AS UNSIGNED) % 3 = 0`,
			`UPDATE ` + t + ` SET expires_at = DATE_SUB(created_at, INTERVAL 1 DAY) WHERE CAST(SUBSTRING(lookup_id, 2) AS UNSIGNED) % 1000 = 1`,
			`UPDATE ` + t + ` SET preview = CONCAT('ak_', lookup_id, '…x')`,
			`ANALYZE TABLE ` + t,
		}
	default:
		t := `"` + table + `"`
		stmts = []string{
			`UPDATE ` + t + ` SET expires_at = created_at + (1 + CAST(substr(lookup_id, 2) AS INTEGER) % 97) * 86400000000 WHERE CAST(substr(lookup_id, 2) AS INTEGER) % 3 = 0`,
			`UPDATE ` + t + ` SET expires_at = created_at - 86400000000 WHERE CAST(substr(lookup_id, 2) AS INTEGER) % 1000 = 1`,
			`UPDATE ` + t + ` SET preview = 'ak_' || lookup_id || '…x'`,
			`ANALYZE`,
		}
	}
	for _, q := range stmts {
		_, err := db.Exec(q)
		require.NoError(tb, err, q)
	}
}

// benchmarkPage lists one page per iteration and reports p50 and p99.
func benchmarkPage(b *testing.B, s *sqlstore.Store, q apikey.ListQuery) {
	ctx := context.Background()
	var took []time.Duration
	b.ReportAllocs()
	sorted := q.Sort != apikey.SortCreated || !q.WorkingAt.IsZero() || !q.ExpiringBefore.IsZero() || q.Preview != ""
	for b.Loop() {
		start := time.Now()
		var err error
		if sorted {
			_, err = s.ListSorted(ctx, q)
		} else {
			_, err = s.List(ctx, q)
		}
		if err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}

// createVersion makes the store's tables as version upTo made them: the
// statements of migrations 1 to upTo, read from their files, and their
// version rows.
func createVersion(tb testing.TB, db *sql.DB, dialect sqlstore.Dialect, s *sqlstore.Store, upTo int) {
	tb.Helper()
	ctx := context.Background()
	files, err := filepath.Glob(filepath.Join("..", "..", "sqlstore", "migrations", dialect.String(), "*.sql"))
	require.NoError(tb, err)
	slices.Sort(files)
	require.GreaterOrEqual(tb, len(files), upTo)
	for _, file := range files[:upTo] {
		text, err := os.ReadFile(file)
		require.NoError(tb, err)
		for _, stmt := range sqlscript.Split(strings.ReplaceAll(string(text), "{{table}}", s.Table())) {
			_, err := db.ExecContext(ctx, stmt)
			require.NoError(tb, err, stmt)
		}
	}
	q := `"`
	if dialect == sqlstore.MySQL {
		q = "`"
	}
	versions := q + s.Table() + "_schema_migrations" + q
	switch dialect {
	case sqlstore.Postgres:
		_, err = db.ExecContext(ctx, "CREATE TABLE "+versions+" (version bigint NOT NULL PRIMARY KEY, applied_at timestamptz NOT NULL)")
	case sqlstore.MySQL:
		_, err = db.ExecContext(ctx, "CREATE TABLE "+versions+" (version BIGINT NOT NULL PRIMARY KEY, applied_at DATETIME(6) NOT NULL) ENGINE=InnoDB")
	default:
		_, err = db.ExecContext(ctx, "CREATE TABLE "+versions+" (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT")
	}
	require.NoError(tb, err)
	for v := 1; v <= upTo; v++ {
		_, err = db.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (version, applied_at) VALUES (%d, %s)", versions, v, timeLiteral(dialect, time.Now())))
		require.NoError(tb, err)
	}
}

// diskBytes is the space the keys table and its groups table take, indexes
// included.
func diskBytes(tb testing.TB, db *sql.DB, dialect sqlstore.Dialect, table string) int64 {
	tb.Helper()
	ctx := context.Background()
	var n int64
	var err error
	switch dialect {
	case sqlstore.Postgres:
		err = db.QueryRowContext(ctx, "SELECT pg_total_relation_size($1) + pg_total_relation_size($2)", table, table+"_groups").Scan(&n)
	case sqlstore.MySQL:
		for _, t := range []string{table, table + "_groups"} {
			_, err = db.ExecContext(ctx, "ANALYZE TABLE `"+t+"`")
			require.NoError(tb, err)
		}
		err = db.QueryRowContext(ctx, "SELECT SUM(data_length + index_length) FROM information_schema.tables "+
			"WHERE table_schema = DATABASE() AND table_name IN (?, ?)", table, table+"_groups").Scan(&n)
	default:
		_, err = db.ExecContext(ctx, "VACUUM")
		require.NoError(tb, err)
		var pages, size int64
		require.NoError(tb, db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages))
		require.NoError(tb, db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size))
		n = pages * size // the test's file holds these tables only
	}
	require.NoError(tb, err)
	return n
}
