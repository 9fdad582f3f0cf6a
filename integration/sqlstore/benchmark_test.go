package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/apikit/apikey/sqlstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// The benchmarks run per dialect, like the tests: SQLite always, PostgreSQL
// and MySQL when their DSN variables are set. BenchmarkRawSelect is the
// baseline of BenchmarkGetByLookupID: the same row read with the same
// driver by a hand-written SELECT into plain variables, so the difference
// is what the Store adds (decoding groups and times, building the Key).
//
//	APIKEY_TEST_POSTGRES_DSN=... APIKEY_TEST_MYSQL_DSN=... \
//	  go test -run '^$' -bench . -benchtime 3s ./sqlstore

// forEachBackendB is forEachBackend for benchmarks.
func forEachBackendB(b *testing.B, f func(b *testing.B, be backend)) {
	for _, be := range backends {
		b.Run(be.dialect.String(), func(b *testing.B) {
			f(b, be.resolve(b))
		})
	}
}

// benchmarkKey creates a typical key: two groups, used before, no expiry.
func benchmarkKey(b *testing.B, s *sqlstore.Store) *apikey.Key {
	k := newKey()
	used := k.CreatedAt.Add(time.Minute)
	k.LastUsedAt = &used
	require.NoError(b, s.Create(context.Background(), creation(k), k, 0))
	return k
}

func BenchmarkGetByLookupID(b *testing.B) {
	forEachBackendB(b, func(b *testing.B, be backend) {
		db := be.open(b)
		s := newStore(b, db, be.dialect)
		k := benchmarkKey(b, s)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			got, err := s.GetByLookupID(ctx, k.LookupID)
			if err != nil || got.ID != k.ID {
				b.Fatalf("GetByLookupID: %v, %v", got, err)
			}
		}
	})
}

func BenchmarkRawSelect(b *testing.B) {
	forEachBackendB(b, func(b *testing.B, be backend) {
		db := be.open(b)
		s := newStore(b, db, be.dialect)
		benchmarkRawSelect(b, db, be, s, benchmarkKey(b, s).LookupID)
	})
}

// benchmarkRawSelect reads the row of lookupID with a hand-written SELECT
// into plain variables.
func benchmarkRawSelect(b *testing.B, db *sql.DB, be backend, s *sqlstore.Store, lookupID string) {
	ctx := context.Background()
	query := "SELECT id, lookup_id, name, groups_json, active, preview, hash, " +
		"created_at, created_by, updated_at, last_used_at, expires_at, owner, metadata_json FROM " + s.Table() + " WHERE lookup_id = ?"
	if be.dialect == sqlstore.Postgres {
		query = strings.Replace(query, "?", "$1", 1)
	}
	// Times are read as the driver gives them: time.Time from pgx
	// (and go-sql-driver/mysql with parseTime=true), text from
	// go-sql-driver/mysql without, int64 from SQLite.
	var created, updated, lastUsed, expires any
	switch {
	case be.dialect == sqlstore.SQLite:
		created, updated, lastUsed, expires = new(int64), new(int64), new(sql.NullInt64), new(sql.NullInt64)
	case be.dialect == sqlstore.MySQL && !strings.Contains(be.dsn, "parseTime=true"):
		created, updated, lastUsed, expires = new(string), new(string), new(sql.NullString), new(sql.NullString)
	default:
		created, updated, lastUsed, expires = new(time.Time), new(time.Time), new(sql.NullTime), new(sql.NullTime)
	}
	var (
		id                                                  uuid.UUID
		gotLookupID, name, groups, preview, hash, createdBy string
		owner                                               string
		metadata                                            sql.NullString
		active                                              bool
	)
	b.ReportAllocs()
	for b.Loop() {
		err := db.QueryRowContext(ctx, query, lookupID).Scan(&id, &gotLookupID, &name, &groups, &active,
			&preview, &hash, created, &createdBy, updated, lastUsed, expires, &owner, &metadata)
		if err != nil || gotLookupID != lookupID {
			b.Fatalf("raw SELECT: %v, %v", id, err)
		}
	}
}

// BenchmarkRecordLastUsed records the use of 100 keys, with times that move
// forward so that every call updates every row: one flush of a busy Manager.
func BenchmarkRecordLastUsed(b *testing.B) {
	forEachBackendB(b, func(b *testing.B, be backend) {
		db := be.open(b)
		s := newStore(b, db, be.dialect)
		keys := make([]*apikey.Key, 100)
		for i := range keys {
			keys[i] = benchmarkKey(b, s)
		}
		ctx := context.Background()
		uses := make(map[uuid.UUID]time.Time, len(keys))
		when := time.Now().UTC().Add(time.Hour).Truncate(time.Microsecond)
		b.ReportAllocs()
		for b.Loop() {
			when = when.Add(time.Microsecond)
			for _, k := range keys {
				uses[k.ID] = when
			}
			if err := s.RecordLastUsed(ctx, uses); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerify measures Manager.Verify through the store, to compare with
// BenchmarkRawSelect (goal: within 1.15x of it); Verify does the same round
// trip plus parsing, hashing and the key's copy.
//
// Both run on the same table and row, one after the other, so that the
// comparison is not skewed by the database's state between benchmarks:
// compare BenchmarkVerify/<dialect>/verify with .../raw-select.
func BenchmarkVerify(b *testing.B) {
	forEachBackendB(b, func(b *testing.B, be backend) {
		db := be.open(b)
		s := newStore(b, db, be.dialect)
		m := newManager(b, s)
		k, plaintext := issueKey(b, m, "bench", "read", "write")
		b.Run("raw-select", func(b *testing.B) { benchmarkRawSelect(b, db, be, s, k.LookupID) })
		b.Run("verify", func(b *testing.B) { benchmarkVerify(b, m, plaintext) })
	})
}

// BenchmarkVerifyCached measures Verify with the verification cache on,
// which answers a hot key without a round trip, against
// BenchmarkVerifyMemstore in the same run (goal: within 2x of it).
func BenchmarkVerifyCached(b *testing.B) {
	forEachBackendB(b, func(b *testing.B, be backend) {
		m := newManager(b, newStore(b, be.open(b), be.dialect), apikey.WithVerifyCache(apikey.VerifyCache{TTL: time.Minute}))
		_, plaintext := issueKey(b, m, "bench", "read", "write")
		benchmarkVerify(b, m, plaintext)
	})
}

func BenchmarkVerifyMemstore(b *testing.B) {
	m := newManager(b, memstore.New())
	_, plaintext := issueKey(b, m, "bench", "read", "write")
	benchmarkVerify(b, m, plaintext)
}

func benchmarkVerify(b *testing.B, m *apikey.Manager, plaintext string) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Verify(ctx, plaintext); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListOwner lists the first page (50 keys) of one owner among
// 1,000 owners of 100 keys each, their keys interleaved in time, against
// the same page of a table of as many keys with one owner, in the same run:
// an owner's page is one range of the (owner, created_at, id) index, so the
// two should cost about the same.
func BenchmarkListOwner(b *testing.B) {
	const owners, perOwner = 1000, 100
	forEachBackendB(b, func(b *testing.B, be backend) {
		db := be.open(b)
		for _, tc := range []struct {
			name   string
			owners int
		}{{"one-owner", 1}, {"1000-owners", owners}} {
			s := newStore(b, db, be.dialect)
			bulkLoad(b, db, be.dialect, s.Table(), owners*perOwner, func(i int) (string, []string, bool) {
				return fmt.Sprintf("org-%d", i%tc.owners), []string{"read"}, true
			})
			ctx := context.Background()
			q := apikey.ListQuery{Owner: "org-7", Limit: 51}
			if tc.owners == 1 {
				q.Owner = "org-0"
			}
			b.Run(tc.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					keys, err := s.List(ctx, q)
					if err != nil || len(keys) != 51 {
						b.Fatalf("List: %d keys, %v", len(keys), err)
					}
				}
			})
		}
	})
}

// BenchmarkVerifyConcurrent runs 8 concurrent verifiers (b.SetParallelism
// over GOMAXPROCS), each verifying a key of its own, on one table, with three setups in the same run:
// database/sql's default pool (2 idle connections, no cap), the documented
// pool (sqlstore.ConfigurePool with DefaultPoolSize), other pool sizes to
// find the best, and the documented pool with the verification cache on.
// Compare ns/op: throughput is its inverse.
func BenchmarkVerifyConcurrent(b *testing.B) {
	const verifiers = 8
	forEachBackendB(b, func(b *testing.B, be backend) {
		setup := be.open(b)
		s := newStore(b, setup, be.dialect)
		issuer := newManager(b, s)
		// One key per verifier: verifications of one key would share
		// their Store calls (single flight) and hide the pool.
		plaintexts := make([]string, verifiers)
		for i := range plaintexts {
			_, plaintexts[i] = issueKey(b, issuer, "bench", "read", "write")
		}
		for _, tc := range []struct {
			name  string
			pool  int // 0: database/sql's defaults
			cache bool
		}{
			{"default-pool", 0, false},
			{"documented-pool", sqlstore.DefaultPoolSize, false},
			{"pool-8", 8, false},
			{"pool-32", 32, false},
			{"documented-pool+cache", sqlstore.DefaultPoolSize, true},
		} {
			b.Run(tc.name, func(b *testing.B) {
				// SQLite opens a new, empty database file per call of
				// open: its cases share the one the keys were issued in.
				db := setup
				if be.dialect != sqlstore.SQLite {
					db = be.open(b)
				}
				if tc.pool > 0 {
					sqlstore.ConfigurePool(db, tc.pool)
				}
				store, err := sqlstore.New(db, be.dialect, sqlstore.WithTable(s.Table()))
				require.NoError(b, err)
				var opts []apikey.Option
				if tc.cache {
					opts = append(opts, apikey.WithVerifyCache(apikey.VerifyCache{TTL: time.Minute}))
				}
				m := newManager(b, store, opts...)
				ctx := context.Background()
				procs := runtime.GOMAXPROCS(0)
				b.SetParallelism((verifiers + procs - 1) / procs)
				b.ReportAllocs()
				b.ResetTimer()
				var next atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					plaintext := plaintexts[int(next.Add(1)-1)%verifiers]
					for pb.Next() {
						if _, err := m.Verify(ctx, plaintext); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	})
}

// BenchmarkVerifyDeadline compares concurrent Verify on each database with
// the least a verification does there: one raw SELECT of the same row and
// columns, scanned as bytes, under the same per-request deadline (1 s, a
// context the caller made). Verify adds no timer of its own under a
// deadline that comes first (see WithVerifyDeadline), so the two should be
// within 10 %. Reproduce with
//
//	APIKEY_TEST_POSTGRES_DSN=... go test -run '^$' -bench VerifyDeadline -cpu 2 ./sqlstore/
func BenchmarkVerifyDeadline(b *testing.B) {
	const verifiers = 8
	forEachBackendB(b, func(b *testing.B, be backend) {
		db := be.open(b)
		sqlstore.ConfigurePool(db, verifiers)
		s := newStore(b, db, be.dialect)
		m := newManager(b, s)
		plaintexts := make([]string, verifiers)
		lookupIDs := make([]string, verifiers)
		for i := range plaintexts {
			var k *apikey.Key
			k, plaintexts[i] = issueKey(b, m, "bench", "read", "write")
			lookupIDs[i] = k.LookupID
		}
		query := `SELECT id, lookup_id, name, groups_json, active, preview, hash, created_at, created_by, updated_at, last_used_at, expires_at, owner, metadata_json, rolled_from, rolled_to, rolled_at, grace_ends_at FROM "` + s.Table() + `" WHERE lookup_id = $1`
		switch be.dialect {
		case sqlstore.MySQL:
			query = strings.ReplaceAll(strings.ReplaceAll(query, `"`, "`"), "$1", "?")
		case sqlstore.SQLite:
			query = strings.ReplaceAll(query, "$1", "?")
		}
		run := func(b *testing.B, op func(ctx context.Context, i int) error) {
			procs := runtime.GOMAXPROCS(0)
			b.SetParallelism((verifiers + procs - 1) / procs)
			b.ReportAllocs()
			b.ResetTimer()
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(1)-1) % verifiers
				for pb.Next() {
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					err := op(ctx, i)
					cancel()
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		b.Run("raw-select", func(b *testing.B) {
			run(b, func(ctx context.Context, i int) error {
				row := db.QueryRowContext(ctx, query, lookupIDs[i])
				var cols [18][]byte // RawBytes is not allowed with QueryRow
				dest := make([]any, len(cols))
				for j := range cols {
					dest[j] = &cols[j]
				}
				return row.Scan(dest...)
			})
		})
		b.Run("verify", func(b *testing.B) {
			run(b, func(ctx context.Context, i int) error {
				_, err := m.Verify(ctx, plaintexts[i])
				return err
			})
		})
	})
}
