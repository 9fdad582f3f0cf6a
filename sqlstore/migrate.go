package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/apikit/apikey/internal/sqlscript"
)

// migrationFS holds the schema of each dialect: migrations/<dialect>/NNNN_*.sql,
// applied in the order of NNNN, each once. In the files, {{table}} stands for
// the table name, and a statement ends with a semicolon at the end of a line
// (MySQL drivers run one statement per call).
//
//go:embed migrations
var migrationFS embed.FS

// migration is one versioned schema change.
type migration struct {
	version    int64
	name       string
	statements []string
}

// migrations returns the dialect's migrations for the Store's table, in
// version order.
func (s *Store) migrations() ([]migration, error) {
	dir := path.Join("migrations", string(s.dialect))
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		digits, _, ok := strings.Cut(name, "_")
		version, err := strconv.ParseInt(digits, 10, 64)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration file %s is not named NNNN_name.sql", name)
		}
		text, err := fs.ReadFile(migrationFS, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{
			version:    version,
			name:       name,
			statements: sqlscript.Split(strings.ReplaceAll(string(text), "{{table}}", s.table)),
		})
	}
	// fs.ReadDir sorts by name, and the names start with zero-padded versions.
	return ms, nil
}

// Schema returns the DDL that [Store.Migrate] applies for the Store's
// dialect and table, for those who manage schemas by hand. It does not
// include the <table>_schema_migrations table.
func (s *Store) Schema() (string, error) {
	ms, err := s.migrations()
	if err != nil {
		return "", fmt.Errorf("sqlstore: schema: %w", err)
	}
	var b strings.Builder
	for _, m := range ms {
		for _, stmt := range m.statements {
			b.WriteString(stmt + ";\n")
		}
	}
	return b.String(), nil
}

// Migrate creates the Store's tables, or applies the migrations they lack,
// and records each applied version in <table>_schema_migrations. It is
// idempotent, and safe when several processes run it at once: they take
// turns under a lock (pg_advisory_xact_lock on PostgreSQL, GET_LOCK on
// MySQL, an immediate transaction on SQLite), and a process that finds a
// migration applied skips it. It waits for another process's migration
// until ctx is done.
//
// On PostgreSQL and SQLite all migrations run in one transaction. MySQL
// commits each DDL statement on its own, so a Migrate interrupted there
// leaves some tables created; the statements are written to be repeated
// (CREATE TABLE IF NOT EXISTS), and the next Migrate completes the work.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := s.migrations()
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	// Each dialect takes its own lock (the one dialect branch of Migrate).
	migrate := map[Dialect]func(context.Context, []migration) error{
		Postgres: s.migratePostgres, MySQL: s.migrateMySQL, SQLite: s.migrateSQLite,
	}[s.dialect]
	if err := migrate(ctx, ms); err != nil {
		return fmt.Errorf("sqlstore: migrate %s: %w", s.table, err)
	}
	return nil
}

// execer is what apply needs of *sql.Tx and *sql.Conn.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// apply creates the version table and applies the migrations it does not
// list. The caller holds the migration lock.
func (s *Store) apply(ctx context.Context, db execer, ms []migration) error {
	if _, err := db.ExecContext(ctx, s.q.createVersions); err != nil {
		return fmt.Errorf("create version table: %w", err)
	}
	applied, err := s.appliedVersions(ctx, db)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		for _, stmt := range m.statements {
			if _, err := db.ExecContext(ctx, stmt); err != nil && !s.dialect.isAlreadyApplied(err) {
				return fmt.Errorf("%s: %w", m.name, err)
			}
		}
		if _, err := db.ExecContext(ctx, s.q.insertVersion, m.version, s.dialect.timeArg(time.Now())); err != nil {
			return fmt.Errorf("%s: record version: %w", m.name, err)
		}
	}
	return nil
}

func (s *Store) appliedVersions(ctx context.Context, db execer) (versions map[int64]bool, err error) {
	rows, err := db.QueryContext(ctx, s.q.selectVersions)
	if err != nil {
		return nil, fmt.Errorf("read versions: %w", err)
	}
	defer func() {
		if cerr := rows.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("read versions: %w", cerr)
		}
	}()
	versions = make(map[int64]bool)
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read versions: %w", err)
		}
		versions[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read versions: %w", err)
	}
	return versions, nil
}

// lockName identifies the Store's migration lock: per table, so that stores
// of different tables do not wait for each other.
func (s *Store) lockName() string { return "apikey.sqlstore." + s.table }

// migratePostgres applies the migrations in one transaction under a
// transaction-level advisory lock, released by the commit or rollback.
func (s *Store) migratePostgres(ctx context.Context, ms []migration) error {
	h := fnv.New64a()
	h.Write([]byte(s.lockName()))
	lockKey := int64(h.Sum64())
	return s.inMigrationTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		return s.apply(ctx, tx, ms)
	})
}

func (s *Store) inMigrationTx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback() // f's error says what went wrong
		return err
	}
	return tx.Commit()
}

// migrateMySQL applies the migrations on one connection holding a named
// lock (GET_LOCK), released on the same connection afterwards, or by the
// server when the connection closes.
func (s *Store) migrateMySQL(ctx context.Context, ms []migration) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()

	// GET_LOCK waits at most a number of seconds; the context's deadline
	// if it has one, else "forever" (a year) until the context is done,
	// which makes the driver close the connection.
	wait := int64(365 * 24 * 3600)
	if deadline, ok := ctx.Deadline(); ok {
		wait = int64(math.Ceil(time.Until(deadline).Seconds()))
		wait = max(wait, 0)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", s.lockName(), wait).Scan(&got); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	if !got.Valid || got.Int64 != 1 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		return errors.New("lock: timed out waiting for another migration")
	}
	defer func() {
		// Release even if ctx is done; a connection that cannot release
		// the lock is closed, which releases it.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		var released sql.NullInt64
		rerr := conn.QueryRowContext(rctx, "SELECT RELEASE_LOCK(?)", s.lockName()).Scan(&released)
		if rerr != nil || released.Int64 != 1 {
			discard(conn)
			if rerr != nil && err == nil {
				err = fmt.Errorf("unlock: %w", rerr)
			}
		}
	}()
	return s.apply(ctx, conn, ms)
}

// migrateSQLite applies the migrations in one immediate transaction
// (BEGIN IMMEDIATE takes the database's write lock at once, so two
// processes cannot both read the versions and then both apply). SQLite
// answers SQLITE_BUSY rather than wait unless the DSN sets a busy timeout;
// BEGIN IMMEDIATE and COMMIT are then retried until ctx is done.
//
// Opening the connection is retried too: a DSN's pragmas run when a
// connection opens, and journal_mode(WAL) on a new file needs the write
// lock that another process may hold, busy_timeout or not.
func (s *Store) migrateSQLite(ctx context.Context, ms []migration) (err error) {
	var conn *sql.Conn
	if err := retryBusy(ctx, func() error {
		conn, err = s.db.Conn(ctx)
		return err
	}); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()

	if err := retryBusy(ctx, func() error {
		_, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE")
		return err
	}); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := s.apply(ctx, conn, ms); err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, rerr := conn.ExecContext(rctx, "ROLLBACK"); rerr != nil {
			// Never return a connection inside a transaction to the pool.
			discard(conn)
		}
		return err
	}
	// COMMIT waits for readers to finish; without a busy timeout it
	// answers SQLITE_BUSY instead, leaving the transaction open to retry.
	if err := retryBusy(ctx, func() error {
		_, err := conn.ExecContext(ctx, "COMMIT")
		return err
	}); err != nil {
		discard(conn) // closing the connection rolls the transaction back
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// retryBusy calls f until it returns anything but SQLite's SQLITE_BUSY, or
// ctx is done, waiting a little longer each time.
func retryBusy(ctx context.Context, f func() error) error {
	delay := 5 * time.Millisecond
	for {
		err := f()
		if err == nil || !isBusy(err) {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (%w)", ctx.Err(), err)
		case <-t.C:
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// discard makes database/sql close conn instead of returning it to the pool
// when it is closed.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}

// isAlreadyApplied reports whether err says that an ALTER TABLE found its
// column or index already there (or, dropping one, already gone): on MySQL and SQLite, which have no ADD
// COLUMN IF NOT EXISTS, that is how a migration finds a schema made by hand
// from Schema (PostgreSQL statements say IF NOT EXISTS). MySQL applies an
// ALTER TABLE atomically, and SQLite migrates in one transaction, so a
// column that exists means the whole statement was applied.
func (d Dialect) isAlreadyApplied(err error) bool { return d.b().isAlreadyApplied(err) }
