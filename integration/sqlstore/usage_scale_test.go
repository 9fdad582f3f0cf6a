package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/sqlstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// usageScaleHours is the number of hourly buckets of every key in
// BenchmarkUsageAtScale.
const usageScaleHours = 100

// BenchmarkUsageAtScale fills each database with APIKEY_SCALE_USAGE_KEYS
// keys' usage (default 1,000; the metering issue's check used 100,000),
// 100 hourly buckets each (10,000,000 rows for 100,000 keys), generated in
// SQL, then measures a 30-day query by hour for one key: through the
// Store (ReadUsage) and through the Manager (Usage: the key's Get, the
// read, the points). Each sub-benchmark reports p50 and p99 in
// microseconds beside ns/op.
//
//	APIKEY_SCALE_USAGE_KEYS=100000 APIKEY_TEST_POSTGRES_DSN=... APIKEY_TEST_MYSQL_DSN=... \
//	  go test -run '^$' -bench UsageAtScale -benchtime 200x -timeout 2h ./integration/sqlstore
func BenchmarkUsageAtScale(b *testing.B) {
	n := 1000
	if v := os.Getenv("APIKEY_SCALE_USAGE_KEYS"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(b, err, "APIKEY_SCALE_USAGE_KEYS")
	}
	forEachBackendB(b, func(b *testing.B, be backend) {
		ctx := context.Background()
		db := be.open(b)
		s := newStore(b, db, be.dialect)
		start := time.Now()
		loadUsage(b, db, be.dialect, s.Table(), n)
		b.Logf("%s: %d usage rows loaded in %v", be.dialect, n*usageScaleHours, time.Since(start).Round(time.Second))
		if be.dialect == sqlstore.Postgres {
			_, err := db.Exec(`ANALYZE "` + s.Table() + `_usage"`)
			require.NoError(b, err)
		}
		m, err := apikey.New(s, apikey.WithLastUsedFlushInterval(-1))
		require.NoError(b, err)
		b.Cleanup(func() { _ = m.Close() })
		k, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "bench", Groups: []string{"read"}, CreatedBy: "bench"})
		require.NoError(b, err)
		rows := make([]apikey.UsageRow, usageScaleHours)
		for h := range rows {
			rows[h] = apikey.UsageRow{KeyID: k.ID, Owner: k.Owner, Hour: usageScaleStart.Add(time.Duration(h) * time.Hour), Outcome: apikey.UsageVerified, Count: 3}
		}
		require.NoError(b, s.RecordUsage(ctx, apikey.UsageBatch{ID: uuid.New(), AppliedAt: time.Now(), Rows: rows}))
		to := usageScaleStart.Add(30 * 24 * time.Hour)
		middle := scaleKeyID(n / 2)
		b.Run("store", func(b *testing.B) {
			benchmarkLatency(b, func() {
				got, err := s.ReadUsage(ctx, apikey.UsageFilter{KeyID: middle, From: usageScaleStart, To: to})
				if err != nil || len(got) != usageScaleHours {
					b.Fatalf("ReadUsage: %d rows, %v", len(got), err)
				}
			})
		})
		b.Run("manager", func(b *testing.B) {
			benchmarkLatency(b, func() {
				r, err := m.Usage(ctx, apikey.UsageQuery{KeyID: k.ID, From: usageScaleStart, To: to})
				if err != nil || r.Total.Verified != 3*usageScaleHours {
					b.Fatalf("Usage: %+v, %v", r.Total, err)
				}
			})
		})
	})
}

// usageScaleStart is the first hour of the generated usage.
var usageScaleStart = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

// scaleKeyID is the ID of the i-th generated key:
// 00000000-0000-4000-8000-<i in 12 hex digits>.
func scaleKeyID(i int) uuid.UUID {
	return uuid.MustParse(fmt.Sprintf("00000000-0000-4000-8000-%012x", i))
}

// benchmarkLatency runs f once per iteration and reports p50 and p99.
func benchmarkLatency(b *testing.B, f func()) {
	b.ReportAllocs()
	var took []time.Duration
	for b.Loop() {
		t := time.Now()
		f()
		took = append(took, time.Since(t))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}

// loadUsage inserts usageScaleHours hourly rows for each of n keys, 100
// owners, with INSERT ... SELECT from generated series, 10,000 keys per
// statement.
func loadUsage(b *testing.B, db *sql.DB, dialect sqlstore.Dialect, table string, n int) {
	// digits: a CTE of 0 to 9; keys and hours are cross joins of it.
	const digits = "d(v) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 " +
		"UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)"
	const chunk = 10000
	h0 := usageScaleStart.Unix()
	for lo := 0; lo < n; lo += chunk {
		hi := min(n, lo+chunk)
		var q string
		switch dialect {
		case sqlstore.Postgres:
			q = fmt.Sprintf(`INSERT INTO "%s_usage" (key_id, hour, outcome, owner, count) `+
				`SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid, to_timestamp(%d + h * 3600), 'verified', 'org-' || (k %% 100), 1 + (k + h) %% 7 `+
				`FROM generate_series(%d, %d) AS k, generate_series(0, %d) AS h`, table, h0, lo, hi-1, usageScaleHours-1)
		case sqlstore.MySQL:
			q = fmt.Sprintf("INSERT INTO `%s_usage` (key_id, hour, outcome, owner, count) "+
				"WITH %s, k(v) AS (SELECT a.v + 10 * b.v + 100 * c.v + 1000 * e.v + %d FROM d a, d b, d c, d e), hr(v) AS (SELECT a.v + 10 * b.v FROM d a, d b) "+
				"SELECT CONCAT('00000000-0000-4000-8000-', LPAD(LOWER(HEX(k.v)), 12, '0')), TIMESTAMPADD(HOUR, hr.v, '%s'), 'verified', CONCAT('org-', k.v %% 100), 1 + (k.v + hr.v) %% 7 "+
				"FROM k, hr WHERE k.v < %d", table, digits, lo, usageScaleStart.Format("2006-01-02 15:04:05"), hi)
		default:
			q = fmt.Sprintf(`INSERT INTO "%s_usage" (key_id, hour, outcome, owner, count) `+
				`WITH %s, k(v) AS (SELECT a.v + 10 * b.v + 100 * c.v + 1000 * e.v + %d FROM d a, d b, d c, d e), hr(v) AS (SELECT a.v + 10 * b.v FROM d a, d b) `+
				`SELECT printf('00000000-0000-4000-8000-%%012x', k.v), (%d + hr.v * 3600) * 1000000, 'verified', 'org-' || (k.v %% 100), 1 + (k.v + hr.v) %% 7 `+
				`FROM k, hr WHERE k.v < %d`, table, digits, lo, h0, hi)
		}
		_, err := db.Exec(q)
		require.NoError(b, err, "load usage: %s", strings.SplitN(q, "SELECT", 2)[0])
	}
}
