package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apikit/apikey/sqlstore"
	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// migrateChildVar makes this test binary a Migrate process: its value is
// "<dialect> <start unix nanoseconds> <DSN>".
const migrateChildVar = "APIKEY_TEST_MIGRATE_CHILD"

const (
	migrateProcesses = 8
	migrateRounds    = 5
)

// TestMigrateChild is the body of a child process of
// TestMigrateProcesses; run directly, it does nothing.
func TestMigrateChild(t *testing.T) {
	spec := os.Getenv(migrateChildVar)
	if spec == "" {
		t.Skip("runs only as a child process of TestMigrateProcesses")
	}
	fields := strings.SplitN(spec, " ", 3)
	require.Len(t, fields, 3)
	dialect := sqlstore.Dialect(fields[0])
	start, err := strconv.ParseInt(fields[1], 10, 64)
	require.NoError(t, err)
	driver := map[sqlstore.Dialect]string{sqlstore.SQLite: "sqlite", sqlstore.Postgres: "pgx", sqlstore.MySQL: "mysql"}[dialect]
	db, err := sql.Open(driver, fields[2])
	require.NoError(t, err)
	defer db.Close()
	sqlstore.ConfigurePool(db, 4)
	s, err := sqlstore.New(db, dialect)
	require.NoError(t, err)
	time.Sleep(time.Until(time.Unix(0, start))) // all processes start together
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, s.Migrate(ctx))
}

// TestMigrateProcesses starts 8 processes running Migrate at once on a new
// SQLite file, a new PostgreSQL schema and a new MariaDB database, with the
// DSNs the README gives, several times: every one succeeds, and each
// migration is recorded once.
func TestMigrateProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for round := range migrateRounds {
			t.Run(fmt.Sprint("round", round), func(t *testing.T) {
				dsn, check := freshDatabase(t, b)
				start := time.Now().Add(500 * time.Millisecond).UnixNano()
				var wg sync.WaitGroup
				outputs := make([][]byte, migrateProcesses)
				errs := make([]error, migrateProcesses)
				for i := range migrateProcesses {
					cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMigrateChild$", "-test.count=1", "-test.v")
					cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %s", migrateChildVar, b.dialect, start, dsn))
					wg.Go(func() { outputs[i], errs[i] = cmd.CombinedOutput() })
				}
				wg.Wait()
				for i := range migrateProcesses {
					if assert.NoError(t, errs[i], "process %d", i) {
						assert.Contains(t, string(outputs[i]), "--- PASS: TestMigrateChild", "process %d ran Migrate", i)
					} else {
						t.Logf("process %d:\n%s", i, outputs[i])
					}
				}
				assertSchema(t, check, b.dialect, sqlstore.DefaultTable)
			})
		}
	})
}

// freshDatabase creates a database no one has used (a SQLite file not yet
// created, a PostgreSQL schema, a MariaDB database), dropped when the test
// ends, and returns the DSN of the processes and a pool on it for checks.
func freshDatabase(t *testing.T, b backend) (string, *sql.DB) {
	t.Helper()
	name := randomTable()
	var dsn string
	switch b.dialect {
	case sqlstore.SQLite:
		// The README's DSN, on a file that does not exist yet.
		dsn = fmt.Sprintf(sqliteDSN, filepath.Join(t.TempDir(), "keys.db"))
	case sqlstore.Postgres:
		admin := b.open(t)
		_, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+name)
		require.NoError(t, err)
		t.Cleanup(func() {
			_, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+name+" CASCADE")
			assert.NoError(t, err, "drop schema")
		})
		u, err := url.Parse(b.dsn)
		require.NoError(t, err)
		q := u.Query()
		q.Set("search_path", name)
		u.RawQuery = q.Encode()
		dsn = u.String()
	case sqlstore.MySQL:
		admin := b.open(t)
		_, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+name)
		require.NoError(t, err)
		t.Cleanup(func() {
			_, err := admin.ExecContext(context.Background(), "DROP DATABASE "+name)
			assert.NoError(t, err, "drop database")
		})
		cfg, err := mysql.ParseDSN(b.dsn)
		require.NoError(t, err)
		cfg.DBName = name
		dsn = cfg.FormatDSN()
	}
	check, err := sql.Open(b.driver, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = check.Close() })
	return dsn, check
}
