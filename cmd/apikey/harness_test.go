package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/sqlstore"
	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"
)

// The end-to-end tests run the built command, as an operator would. It is
// built once, on first use, into a directory TestMain removes.
var (
	binDir    string
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "apikey-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binary returns the path of the built command.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binPath = filepath.Join(binDir, "apikey")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

// result is what a run of the command gave.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runBinary runs the built command with stdin (nil: an already closed pipe),
// in an environment without APIKEY_* variables and with USER=tester.
func runBinary(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	return runBinaryEnv(t, nil, stdin, args...)
}

// runBinaryEnv is runBinary with env added to the environment.
func runBinaryEnv(t *testing.T, env []string, stdin io.Reader, args ...string) result {
	t.Helper()
	return runBinaryIn(t, "", env, stdin, args...)
}

// runBinaryIn is runBinaryEnv in the working directory dir ("": this
// package's).
func runBinaryIn(t *testing.T, dir string, env []string, stdin io.Reader, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "APIKEY_") && !strings.HasPrefix(kv, "USER=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "USER=tester")
	cmd.Env = append(cmd.Env, env...)
	if stdin == nil {
		r, w, err := os.Pipe()
		require.NoError(t, err)
		w.Close() // the command finds its standard input closed
		defer r.Close()
		stdin = r
	}
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		exitErr, ok := err.(*exec.ExitError)
		require.True(t, ok, "running the command: %v", err)
		code = exitErr.ExitCode()
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// backend is a database the end-to-end tests run against.
type backend struct {
	name    string
	dialect sqlstore.Dialect
	driver  string
	envVar  string // the variable that enables it; "" for SQLite, always on
}

var backends = []backend{
	{name: "sqlite", dialect: sqlstore.SQLite, driver: "sqlite"},
	{name: "postgres", dialect: sqlstore.Postgres, driver: "pgx", envVar: "APIKEY_TEST_POSTGRES_DSN"},
	{name: "mysql", dialect: sqlstore.MySQL, driver: "mysql", envVar: "APIKEY_TEST_MYSQL_DSN"},
}

// testDB is one test's own table in one backend.
type testDB struct {
	backend
	dsn        string // what the command is given
	sqlitePath string // the file of a SQLite database
	table      string
	db         *sql.DB // the test's own connection, to check what the command did
}

// forEachBackend runs f as a subtest against SQLite (a temporary file), and
// against PostgreSQL and MySQL/MariaDB when their DSN variables are set. Each
// subtest has a table of its own, dropped afterwards.
func forEachBackend(t *testing.T, f func(t *testing.T, d *testDB)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			d := &testDB{backend: b, table: randomTable(t)}
			var testDSN string
			switch b.dialect {
			case sqlstore.SQLite:
				// A DSN with parameters, as a deployment would use; WAL
				// and synchronous=normal also spare the tests an fsync
				// per key.
				d.sqlitePath = filepath.Join(t.TempDir(), "keys.db")
				d.dsn = d.sqlitePath + "?_pragma=journal_mode(wal)&_pragma=synchronous(normal)"
				testDSN = d.dsn
			case sqlstore.Postgres:
				testDSN = os.Getenv(b.envVar)
				if testDSN == "" {
					missing(t, "%s is not set: set it to a PostgreSQL URL such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run this test", b.envVar)
				}
				d.dsn = testDSN
			case sqlstore.MySQL:
				testDSN = os.Getenv(b.envVar)
				if testDSN == "" {
					missing(t, "%s is not set: set it to a go-sql-driver/mysql DSN such as root@tcp(127.0.0.1:3306)/test to run this test", b.envVar)
				}
				d.dsn = mysqlURL(t, testDSN)
			}
			db, err := sql.Open(b.driver, testDSN)
			require.NoError(t, err)
			t.Cleanup(func() {
				d.dropTables(t)
				db.Close()
			})
			d.db = db
			f(t, d)
		})
	}
}

// mysqlURL turns a go-sql-driver/mysql DSN into the mysql:// URL an operator
// would give the command.
func mysqlURL(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	require.NoError(t, err)
	if cfg.Net != "tcp" {
		return dsn // the command takes the driver's form too
	}
	u := url.URL{Scheme: "mysql", Host: cfg.Addr, Path: "/" + cfg.DBName}
	if cfg.Passwd != "" {
		u.User = url.UserPassword(cfg.User, cfg.Passwd)
	} else if cfg.User != "" {
		u.User = url.User(cfg.User)
	}
	return u.String()
}

func randomTable(t *testing.T) string {
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "cli_" + hex.EncodeToString(b)
}

// dropTables drops the tables sqlstore's migrations create: the keys table,
// <table>_groups (first: it refers to the keys table) and
// <table>_schema_migrations.
func (d *testDB) dropTables(t *testing.T) {
	q := `"`
	if d.dialect == sqlstore.MySQL {
		q = "`"
	}
	for _, name := range []string{d.table + "_groups", d.table, d.table + "_owners", d.table + "_events", d.table + "_event_position", d.table + "_event_owner_seq", d.table + "_credits", d.table + "_usage", d.table + "_usage_batches", d.table + "_schema_migrations"} {
		if _, err := d.db.Exec("DROP TABLE IF EXISTS " + q + name + q); err != nil {
			t.Errorf("drop table %s: %v", name, err)
		}
	}
}

// run runs the command on the test's database and table.
func (d *testDB) run(t *testing.T, args ...string) result {
	t.Helper()
	return d.runWithInput(t, nil, args...)
}

// runWithInput runs the command on the test's table. A create without
// --owner issues to the default owner (TestOwners checks that the command
// itself requires it).
func (d *testDB) runWithInput(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	if len(args) > 0 && args[0] == "create" && !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--owner") }) {
		args = append([]string{"--owner", apikey.DefaultOwner}, args...)
	}
	return runBinary(t, stdin, append([]string{"--dsn", d.dsn, "--table", d.table}, args...)...)
}

// mustRun runs the command and requires it to succeed.
func (d *testDB) mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := d.run(t, args...)
	require.Equal(t, 0, r.code, "apikey %s\n%s", strings.Join(args, " "), r)
	return r
}

// migrate creates the test's tables with the command.
func (d *testDB) migrate(t *testing.T) {
	t.Helper()
	d.mustRun(t, "migrate")
}

// create issues a key with the command and returns its plaintext.
func (d *testDB) create(t *testing.T, args ...string) string {
	t.Helper()
	r := d.mustRun(t, append([]string{"create"}, args...)...)
	return strings.TrimSuffix(r.stdout, "\n")
}

// store returns a Store on the test's table, as a server would open it.
func (d *testDB) store(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.New(d.db, d.dialect, sqlstore.WithTable(d.table))
	require.NoError(t, err)
	return s
}

// manager returns a Manager on the test's table, as a server would use it.
func (d *testDB) manager(t *testing.T) *apikey.Manager {
	t.Helper()
	m, err := apikey.New(d.store(t), apikey.WithLastUsedFlushInterval(-1))
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

// missing skips the test for want of something outside Go (a database DSN,
// Chromium), but fails it under CI=true: CI provides them, and a silent
// skip there would hide a broken install step.
func missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("CI=true: "+format, args...)
	}
	tb.Skipf(format, args...)
}
