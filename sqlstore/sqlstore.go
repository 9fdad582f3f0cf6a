// Package sqlstore is an [apikey.Store] over database/sql for PostgreSQL,
// MySQL or MariaDB, and SQLite.
//
// # Drivers
//
// The package imports no driver: open a *sql.DB with the driver of your
// choice and name its [Dialect]:
//
//	db, err := sql.Open("pgx", dsn) // import _ "github.com/jackc/pgx/v5/stdlib"
//	store, err := sqlstore.New(db, sqlstore.Postgres)
//
// It is tested with github.com/jackc/pgx/v5/stdlib, github.com/go-sql-driver/mysql
// and modernc.org/sqlite. Any DSN works for MySQL (times are exchanged as UTC
// text, whatever parseTime and loc say) provided the server runs in strict
// mode (STRICT_TRANS_TABLES, the default), so that an over-long value is an
// error rather than silently cut. For SQLite, a DSN with
// _pragma=busy_timeout(5000) and _pragma=journal_mode(WAL) lets concurrent
// writers wait for each other instead of failing with "database is locked".
//
// # Connection pool
//
// database/sql opens connections without limit and keeps only 2 idle ones
// by default. Both defaults hurt a service: with more than 2 concurrent
// verifications, connections are opened and closed all the time (8
// concurrent verifiers on PostgreSQL reach about half the throughput of a
// pool of 16, with a far worse tail latency); and when the database is slow
// or a table is locked, every waiting request holds one more connection,
// until the server's max_connections is exhausted for all its clients. Set
// the pool before use, with [ConfigurePool] or by hand:
//
//	sqlstore.ConfigurePool(db, 16)
//
// which is, by hand:
//
//	db.SetMaxOpenConns(16)                  // a cap: this process's share of the server
//	db.SetMaxIdleConns(16)                  // at least the expected concurrency; the cap
//	db.SetConnMaxLifetime(30 * time.Minute) // follow failovers and DNS changes
//	db.SetConnMaxIdleTime(5 * time.Minute)  // give back what a burst opened
//
// With a cap, a request that finds every connection busy waits for one;
// the Manager's verification deadline ([apikey.WithVerifyDeadline]) covers
// that wait as well as the query, so a frozen database turns into 503
// responses within the deadline rather than a pile of connections. Size
// the cap as the database's max_connections divided among the processes
// that share it; 16 is plenty for one process's verifications.
//
// # Shared database
//
// The cap and the deadline are not enough behind one address that fails
// over (a proxy, a virtual IP, DNS): database/sql opens connections for
// waiting requests in the background, with a context that never ends, and
// neither driver bounds a connection attempt by default, so attempts stuck
// on the hung server keep every slot, and no request succeeds after the
// failover. Bound them in the DSN:
//
//	postgres://app:pass@db:5432/app?connect_timeout=3        # pgx: the whole attempt
//	app:pass@tcp(db:3306)/app?timeout=3s&readTimeout=5s      # MySQL: dial, and each read
//
// go-sql-driver/mysql's timeout bounds the dial only: the handshake waits
// up to readTimeout for each read, so readTimeout is what frees an attempt
// stuck on a hung server. It also bounds each read of a call with no
// deadline, and fails a legitimate longer wait (a Migrate queued behind
// another process's, an index built on a large table): run migrations with
// a DSN of their own. The apikey command and the example server open with
// connect_timeout=3 (pgx), or timeout=3s, which they apply to the whole
// attempt, and readTimeout=30s and writeTimeout=30s (MySQL), unless the DSN
// names its own. Through a proxy that froze its sessions for 4 s (longer
// than the verification deadline) before the failover, the pool served
// again 1 to 4 s after the failover with these settings, and not in the
// 15 s watched without them.
//
// pgx has no read timeout: a query on a frozen connection waits for its
// context, which on the verification path is the Manager's deadline. pgx
// then marks the connection closed, so its slot is free at once, and in the
// background sends a cancel request over a new connection and waits up to
// 15 s for the old one to close: during an outage, each cancelled query
// holds two sockets beyond the cap for up to that long (the frozen one and
// the cancel request's, whose dial connect_timeout bounds). A server that
// is not the hung one, behind a proxy, counts each frozen session against
// its max_connections until the proxy or TCP keepalive ends it: leave that
// headroom when sizing the cap.
//
// # Schema
//
// [Store.Migrate] creates the tables, or brings them up to date, and records
// what it applied in the table <table>_schema_migrations. Call it once at
// start-up; it is idempotent and safe when several processes run it at once.
// Those who manage schemas by hand find the DDL in the migrations directory
// of this package, in the README and from [Store.Schema].
//
// A key is one row of the keys table ("apikeys" unless [WithTable] says
// otherwise), its groups a JSON array in that row, so that
// [Store.GetByLookupID], the one call on the verification path, is a single
// indexed SELECT of one row. The table <table>_groups holds one row per
// distinct group of a key, kept in sync in the same transaction, for the
// group filter of [Store.List].
//
// # Queries
//
// Every query is parameterized; its text is fixed per dialect and built once,
// in [New], from the validated table name. Each update is one statement,
// except SetGroups and Create, which are one transaction each.
package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// DefaultTable is the name of the keys table unless [WithTable] says
// otherwise.
const DefaultTable = "apikeys"

// maxTableLength is the longest table name: the longest name derived from it,
// <table>_schema_migrations, must fit PostgreSQL's 63-byte identifiers.
const maxTableLength = 63 - len("_schema_migrations")

// RecordLastUsedBatch is the largest number of keys that
// [Store.RecordLastUsed] updates with one statement; larger batches take one
// statement for each RecordLastUsedBatch keys.
const RecordLastUsedBatch = 1000

// tablePattern is what a table name must match before it goes into any SQL
// text: lower case, so that quoting never changes its meaning.
var tablePattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,47}$`)

// Option configures a Store. An option given an invalid value makes [New]
// return an error.
type Option func(*config) error

type config struct {
	table string
}

// WithTable sets the name of the keys table; the default is [DefaultTable].
// The other tables are named after it: <table>_groups and
// <table>_schema_migrations. The name must match ^[a-z_][a-z0-9_]{0,47}$
// and be at most 45 characters long (so that <table>_schema_migrations fits
// the 63-character identifiers of PostgreSQL).
func WithTable(name string) Option {
	return func(c *config) error {
		if !tablePattern.MatchString(name) {
			return fmt.Errorf("sqlstore: table name %q does not match %s", name, tablePattern)
		}
		if len(name) > maxTableLength {
			return fmt.Errorf("sqlstore: table name %q is longer than %d characters", name, maxTableLength)
		}
		c.table = name
		return nil
	}
}

// Store is an [apikey.Store] in a SQL database. Create one with [New] and
// its tables with [Store.Migrate]. A Store is safe for concurrent use; it
// holds no connection between calls and needs no Close (close the *sql.DB).
type Store struct {
	db      *sql.DB
	dialect Dialect
	table   string
	q       queries
	// sorted holds ListSorted's query texts by sortedCombo, built on
	// first use.
	sorted sync.Map
	lq     limitQueries // limits.go
	u      usageQueries // see usage.go
}

var (
	_ apikey.Store      = (*Store)(nil)
	_ apikey.CountStore = (*Store)(nil)
)

// queries are the query texts of one Store: its dialect's templates with
// its table name substituted.
type queries struct {
	insert, insertGroups, get, getByLookupID, delete     string
	setName, setGroups, deleteGroups, setActive, setHash string
	setGroupsActive                                      string
	exists, lockGuard, recordLastUsed                    string
	lockRoll, setRolled, setExpiresAt, pruneDelete       string
	countWorking                                         string
	pruneSelect                                          [2]string
	insertOwner, lockOwner, countOwner                   string
	createVersions, selectVersions, insertVersion        string
	lockChange, nextPosition, readPosition, insertEvent  string
	nextOwnerSeq, readOwnerSeq                           string
	pruneEvents                                          string
	events                                               [eventFilterCombinations]string // indexed by eventFilters.index
	list                                                 [32]string                      // indexed by listIndex
	count                                                [32]string                      // indexed by listIndex, without a cursor
}

// listIndex returns the index in queries.list of the query for a
// combination of filters.
func listIndex(owner, status, group, name, after bool) int {
	i := 0
	if name {
		i |= 16
	}
	if owner {
		i |= 8
	}
	if status {
		i |= 1
	}
	if group {
		i |= 2
	}
	if after {
		i |= 4
	}
	return i
}

// New returns a Store that keeps keys in db, which speaks dialect. It does
// not touch the database: call [Store.Migrate] to create the tables.
func New(db *sql.DB, dialect Dialect, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	if !dialect.valid() {
		return nil, fmt.Errorf("sqlstore: unknown dialect %q", string(dialect))
	}
	c := config{table: DefaultTable}
	for _, opt := range opts {
		if err := opt(&c); err != nil {
			return nil, err
		}
	}
	t := dialect.templates()
	r := strings.NewReplacer("{{table}}", c.table)
	s := &Store{db: db, dialect: dialect, table: c.table}
	s.lq = dialect.limitQueries(r)
	s.q = queries{
		insert:          r.Replace(t.insert),
		insertGroups:    r.Replace(t.insertGroups),
		get:             r.Replace(t.get),
		getByLookupID:   r.Replace(t.getByLookupID),
		delete:          r.Replace(t.delete),
		setName:         r.Replace(t.setName),
		setGroups:       r.Replace(t.setGroups),
		deleteGroups:    r.Replace(t.deleteGroups),
		setGroupsActive: r.Replace(t.setGroupsActive),
		setActive:       r.Replace(t.setActive),
		setHash:         r.Replace(t.setHash),
		exists:          r.Replace(t.exists),
		lockGuard:       r.Replace(t.lockGuard),
		insertOwner:     r.Replace(t.insertOwner),
		lockOwner:       r.Replace(t.lockOwner),
		countOwner:      r.Replace(t.countOwner),
		recordLastUsed:  r.Replace(t.recordLastUsed),
		lockRoll:        r.Replace(t.lockRoll),
		countWorking:    r.Replace(t.countWorking),
		setRolled:       r.Replace(t.setRolled),
		setExpiresAt:    r.Replace(t.setExpiresAt),
		pruneDelete:     r.Replace(t.pruneDelete),
		pruneSelect:     [2]string{r.Replace(t.pruneSelect[0]), r.Replace(t.pruneSelect[1])},
		createVersions:  r.Replace(t.createVersions),
		selectVersions:  r.Replace(t.selectVersions),
		insertVersion:   r.Replace(t.insertVersion),
		lockChange:      r.Replace(t.lockChange),
		nextPosition:    r.Replace(t.nextPosition),
		readPosition:    r.Replace(t.readPosition),
		insertEvent:     r.Replace(t.insertEvent),
		nextOwnerSeq:    r.Replace(t.nextOwnerSeq),
		readOwnerSeq:    r.Replace(t.readOwnerSeq),
		pruneEvents:     r.Replace(t.pruneEvents),
	}
	s.u = newUsageQueries(dialect, c.table)
	for i := range s.q.events {
		s.q.events[i] = r.Replace(t.events(eventFiltersOf(i)))
	}
	for i := range s.q.list {
		owner, status, group, name, after := i&8 != 0, i&1 != 0, i&2 != 0, i&16 != 0, i&4 != 0
		s.q.list[i] = r.Replace(t.list(owner, status, group, name, after))
		if !after {
			s.q.count[i] = countQuery(s.q.list[i])
		}
	}
	return s, nil
}

// Dialect returns the dialect the Store was created with.
func (s *Store) Dialect() Dialect { return s.dialect }

// Table returns the name of the keys table.
func (s *Store) Table() string { return s.table }

// Create stores a new key and its groups in one transaction. It returns an
// error wrapping [apikey.ErrDuplicate] if a key with the same ID or LookupID
// exists. Times are stored in UTC, truncated to microseconds.
//
// With maxPerOwner above zero, the transaction first locks the owner's row
// in the owners table (creating it if needed), then counts the owner's
// keys: concurrent creates for one owner queue on that lock, so the count
// each one sees includes every key committed before it, and the quota
// holds on every database.
func (s *Store) Create(ctx context.Context, ch apikey.Change, k *apikey.Key, maxPerOwner int) error {
	if k == nil {
		return errors.New("sqlstore: create: nil key")
	}
	enc, err := encodeKey(k)
	if err != nil {
		return err
	}
	return s.inTx(ctx, "create key "+k.ID.String(), func(tx *sql.Tx) error {
		if maxPerOwner > 0 {
			if err := s.checkQuota(ctx, tx, k.Owner, maxPerOwner); err != nil {
				return err
			}
		}
		if err := s.insertKey(ctx, tx, k, enc); err != nil {
			return err
		}
		e := apikey.NewEvent(ch, apikey.EventIssued, k)
		e.New = apikey.IssuedValues(k)
		return s.recordEvents(ctx, tx, e)
	})
}

// insertKey inserts the row of k and its rows in the groups table, in the
// caller's transaction.
func (s *Store) insertKey(ctx context.Context, tx *sql.Tx, k *apikey.Key, enc encodedKey) error {
	d := s.dialect
	_, err := tx.ExecContext(ctx, s.q.insert,
		k.ID.String(), k.LookupID, k.Name, enc.groupsJSON, k.Active, k.Preview, k.Hash,
		d.timeArg(k.CreatedAt), k.CreatedBy, d.timeArg(k.UpdatedAt),
		d.nullTimeArg(k.LastUsedAt), d.nullTimeArg(k.ExpiresAt), k.Owner, enc.metadata,
		nullUUIDArg(k.RolledFrom), nullUUIDArg(k.RolledTo), d.nullTimeArg(k.RolledAt), d.nullTimeArg(k.GraceEndsAt), enc.limits)
	if err != nil {
		if d.isUniqueViolation(err) {
			return fmt.Errorf("%w: %w", apikey.ErrDuplicate, err)
		}
		return err
	}
	if len(k.Groups) > 0 {
		if _, err := tx.ExecContext(ctx, s.q.insertGroups, enc.groupSet, k.ID.String()); err != nil {
			return fmt.Errorf("groups: %w", err)
		}
	}
	return nil
}

// checkQuota locks the owner's row and returns ErrQuotaExceeded if the
// owner holds maxPerOwner keys or more. The lock is held until tx ends.
func (s *Store) checkQuota(ctx context.Context, tx *sql.Tx, owner string, maxPerOwner int) error {
	if _, err := tx.ExecContext(ctx, s.q.insertOwner, owner); err != nil {
		return fmt.Errorf("owner row: %w", err)
	}
	var locked string
	if err := tx.QueryRowContext(ctx, s.q.lockOwner, owner).Scan(&locked); err != nil {
		return fmt.Errorf("lock owner: %w", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, s.q.countOwner, owner).Scan(&n); err != nil {
		return fmt.Errorf("count keys of owner: %w", err)
	}
	if n >= maxPerOwner {
		return apikey.ErrQuotaExceeded
	}
	return nil
}

// Get returns the key with the given ID, or an error wrapping
// [apikey.ErrNotFound].
func (s *Store) Get(ctx context.Context, id uuid.UUID) (*apikey.Key, error) {
	row := s.dialect.newKeyRow()
	if err := s.db.QueryRowContext(ctx, s.q.get, id.String()).Scan(row.dest[:]...); err != nil {
		return nil, s.readError("get key "+id.String(), err)
	}
	k, err := row.finish()
	if err != nil {
		return nil, s.readError("get key "+id.String(), err)
	}
	return k, nil
}

// GetByLookupID returns the key with the given lookup ID, or an error
// wrapping [apikey.ErrNotFound]. It is one SELECT of one row by a unique
// index; the lookup ID is compared byte for byte.
func (s *Store) GetByLookupID(ctx context.Context, lookupID string) (*apikey.Key, error) {
	// The lookup ID stays out of the error: it comes from an untrusted
	// request, and the caller has it.
	row := s.dialect.newKeyRow()
	if err := s.db.QueryRowContext(ctx, s.q.getByLookupID, lookupID).Scan(row.dest[:]...); err != nil {
		return nil, s.readError("get key by lookup ID", err)
	}
	k, err := row.finish()
	if err != nil {
		return nil, s.readError("get key by lookup ID", err)
	}
	return k, nil
}

// readError maps sql.ErrNoRows to apikey.ErrNotFound and wraps everything
// else.
func (s *Store) readError(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlstore: %s: %w", op, apikey.ErrNotFound)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// countQuery turns a query of List without a cursor into the query that
// counts its rows: the same tables and conditions, no order, no limit.
func countQuery(list string) string {
	from := strings.Index(list, " FROM ")
	order := strings.LastIndex(list, " ORDER BY ")
	return "SELECT COUNT(*)" + list[from:order]
}

// Count returns how many keys match q's filters (After and Limit ignored),
// with the conditions of List on the same indexes; its cost grows with the
// keys counted.
func (s *Store) Count(ctx context.Context, q apikey.ListQuery) (int, error) {
	if q.Sort != apikey.SortCreated || !q.ExpiringBefore.IsZero() || !q.WorkingAt.IsZero() || q.Preview != "" {
		return s.countSorted(ctx, q)
	}
	q.After, q.Limit = apikey.Cursor{}, 1
	_, args := s.ListSQL(q)
	args = args[:len(args)-1] // the limit
	i := listIndex(q.Owner != "", q.Status == apikey.StatusActive || q.Status == apikey.StatusInactive, q.Group != "", q.Name != "", false)
	var n int
	if err := s.db.QueryRowContext(ctx, s.q.count[i], args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count keys: %w", err)
	}
	return n, nil
}

// ListSQL returns the query and arguments List runs for q: one fixed
// query per combination of filters, whose access path the package
// documentation states. An operator may run it under EXPLAIN to see the
// database's plan.
func (s *Store) ListSQL(q apikey.ListQuery) (query string, args []any) {
	limit := max(q.Limit, 1)
	status := q.Status == apikey.StatusActive || q.Status == apikey.StatusInactive
	group := q.Group != ""
	after := !q.After.IsZero()
	owner := q.Owner != ""
	name := q.Name != ""
	args = make([]any, 0, 7)
	if owner {
		args = append(args, q.Owner)
	}
	if status {
		args = append(args, q.Status == apikey.StatusActive)
	}
	if group {
		args = append(args, q.Group)
	}
	if name {
		args = append(args, s.dialect.lowerForSearch(q.Name))
	}
	if after {
		at, id := s.dialect.timeArg(q.After.CreatedAt), q.After.ID
		if q.After.CreatedAt.Nanosecond()%1000 != 0 {
			// Stored times are whole microseconds: a key is after a
			// cursor between two of them iff its time is after the
			// earlier one, whatever its ID.
			id = uuid.Max
		}
		args = append(args, s.dialect.b().cursorArgs(at, id.String())...)
	}
	args = append(args, limit)

	return s.q.list[listIndex(owner, status, group, name, after)], args
}

// List returns at most q.Limit keys (at least one) matching q's filters,
// ordered by CreatedAt then ID, starting strictly after q.After. It is one
// SELECT using the (created_at, id) or (active, created_at, id) index; the
// group filter is an EXISTS on the groups table, an exact, case-sensitive
// comparison.
func (s *Store) List(ctx context.Context, q apikey.ListQuery) (keys []*apikey.Key, err error) {
	query, args := s.ListSQL(q)
	return s.listKeys(ctx, query, args, q.Limit)
}

// listKeys runs a query of List or ListSorted and reads its keys.
func (s *Store) listKeys(ctx context.Context, query string, args []any, limit int) (keys []*apikey.Key, err error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list keys: %w", err)
	}
	defer func() {
		if cerr := rows.Close(); cerr != nil && err == nil {
			keys, err = nil, fmt.Errorf("sqlstore: list keys: %w", cerr)
		}
	}()
	keys = make([]*apikey.Key, 0, min(max(limit, 1), 100))
	for rows.Next() {
		row := s.dialect.newKeyRow()
		if err := rows.Scan(row.dest[:]...); err != nil {
			return nil, fmt.Errorf("sqlstore: list keys: %w", err)
		}
		k, err := row.finish()
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list keys: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list keys: %w", err)
	}
	return keys, nil
}

// Delete removes the key with the given ID and its groups (by ON DELETE
// CASCADE, and on SQLite by a trigger), or returns an error wrapping
// [apikey.ErrNotFound]. With a non-nil guard it deletes only a key that
// passes it (see [apikey.Guard]).
func (s *Store) Delete(ctx context.Context, ch apikey.Change, id uuid.UUID, guard *apikey.Guard) error {
	return s.recordedChange(ctx, "delete key", id, guard, func(tx *sql.Tx, k *apikey.Key) (apikey.Event, error) {
		if _, err := tx.ExecContext(ctx, s.q.delete, id.String()); err != nil {
			return apikey.Event{}, err
		}
		e := apikey.NewEvent(ch, apikey.EventDeleted, k)
		e.Old = apikey.RemovedValues(k)
		return e, nil
	})
}

// SetName sets the name and UpdatedAt of a key with one UPDATE, or returns
// an error wrapping [apikey.ErrNotFound] (or [apikey.ErrConflict], see
// Delete).
func (s *Store) SetName(ctx context.Context, ch apikey.Change, id uuid.UUID, name string, guard *apikey.Guard) error {
	return s.recordedChange(ctx, "set name of key", id, guard, func(tx *sql.Tx, k *apikey.Key) (apikey.Event, error) {
		if _, err := tx.ExecContext(ctx, s.q.setName, name, s.dialect.timeArg(ch.At), id.String()); err != nil {
			return apikey.Event{}, err
		}
		e := apikey.NewEvent(ch, apikey.EventRenamed, k)
		e.Old.Name, e.New.Name = k.Name, name
		return e, nil
	})
}

// SetActive sets the status and UpdatedAt of a key, and the status kept
// beside its group memberships for the group filter of List, in one
// transaction, or returns an error wrapping [apikey.ErrNotFound] (or
// [apikey.ErrConflict], see Delete).
func (s *Store) SetActive(ctx context.Context, ch apikey.Change, id uuid.UUID, active bool, guard *apikey.Guard) error {
	return s.recordedChange(ctx, "set status of key", id, guard, func(tx *sql.Tx, k *apikey.Key) (apikey.Event, error) {
		if _, err := tx.ExecContext(ctx, s.q.setActive, active, s.dialect.timeArg(ch.At), id.String()); err != nil {
			return apikey.Event{}, err
		}
		if _, err := tx.ExecContext(ctx, s.q.setGroupsActive, active, id.String()); err != nil {
			return apikey.Event{}, err
		}
		kind := apikey.EventDeactivated
		if active {
			kind = apikey.EventActivated
		}
		return apikey.NewEvent(ch, kind, k), nil
	})
}

// SetHash replaces the stored hash of a key with one UPDATE, leaving
// UpdatedAt alone, or returns an error wrapping [apikey.ErrNotFound].
func (s *Store) SetHash(ctx context.Context, id uuid.UUID, hash string) error {
	return s.change(ctx, "set hash of key", id, nil, false, s.q.setHash, hash, id.String())
}

// change runs one statement that changes or deletes the row with the given
// ID, in a transaction if inTx, and maps "no row" to apikey.ErrNotFound.
func (s *Store) change(ctx context.Context, op string, id uuid.UUID, guard *apikey.Guard, inTx bool, query string, args ...any) error {
	if guard == nil && !inTx {
		if err := s.changeRow(ctx, s.db, id, nil, query, args...); err != nil {
			return fmt.Errorf("sqlstore: %s %s: %w", op, id, err)
		}
		return nil
	}
	return s.inTx(ctx, op+" "+id.String(), func(tx *sql.Tx) error {
		return s.changeRow(ctx, tx, id, guard, query, args...)
	})
}

// execQuerier is what changeRow needs of *sql.DB and *sql.Tx.
type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// changeRow runs query, whose last argument is the key's ID, on the row
// with the given ID. With a non-nil guard it first locks the row (in the
// caller's transaction) and checks the key's owner and groups, so that the
// check and the change are one atomic step: a key of another owner is
// apikey.ErrNotFound, and a concurrent grant of more groups either comes
// before, and the change is refused with apikey.ErrConflict, or waits
// until after it.
func (s *Store) changeRow(ctx context.Context, db execQuerier, id uuid.UUID, guard *apikey.Guard, query string, args ...any) error {
	if guard != nil {
		var owner, groups string
		err := db.QueryRowContext(ctx, s.q.lockGuard, id.String()).Scan(&owner, &groups)
		if errors.Is(err, sql.ErrNoRows) {
			return apikey.ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := checkGuard(guard, owner, groups); err != nil {
			return err
		}
	}
	res, err := db.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	return s.notFound(ctx, db, res, id)
}

// querier is what notFound needs of *sql.DB and *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// notFound returns apikey.ErrNotFound if the statement that produced res
// matched no row. MySQL counts the rows an UPDATE changed, not those it
// matched (unless the DSN sets clientFoundRows=true), so there an update
// that changed nothing is followed by a check that the key exists.
func (s *Store) notFound(ctx context.Context, db querier, res sql.Result, id uuid.UUID) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if !s.dialect.b().countsChangedRows {
		return apikey.ErrNotFound
	}
	var one int
	err = db.QueryRowContext(ctx, s.q.exists, id.String()).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return apikey.ErrNotFound
	}
	return err
}

// SetGroups replaces the groups and sets UpdatedAt of a key, in one
// transaction that updates the key's row and its rows in the groups table,
// or returns an error wrapping [apikey.ErrNotFound]. The groups are stored
// in the order given.
func (s *Store) SetGroups(ctx context.Context, ch apikey.Change, id uuid.UUID, groups []string, guard *apikey.Guard) error {
	groupsJSON, err := encodeGroups(groups)
	if err != nil {
		return err
	}
	groupSet, err := encodeGroupSet(groups)
	if err != nil {
		return err
	}
	return s.recordedChange(ctx, "set groups of key", id, guard, func(tx *sql.Tx, k *apikey.Key) (apikey.Event, error) {
		if _, err := tx.ExecContext(ctx, s.q.setGroups, groupsJSON, s.dialect.timeArg(ch.At), id.String()); err != nil {
			return apikey.Event{}, err
		}
		if _, err := tx.ExecContext(ctx, s.q.deleteGroups, id.String()); err != nil {
			return apikey.Event{}, err
		}
		if len(groups) > 0 {
			if _, err := tx.ExecContext(ctx, s.q.insertGroups, groupSet, id.String()); err != nil {
				return apikey.Event{}, err
			}
		}
		e := apikey.NewEvent(ch, apikey.EventGroupsChanged, k)
		e.Old.Groups, e.New.Groups = k.Groups, slices.Clone(groups)
		return e, nil
	})
}

// inTx runs f in a transaction, committing if f returns nil and rolling back
// otherwise. Errors are wrapped with op.
//
// On MySQL the transaction is READ COMMITTED: under InnoDB's default,
// REPEATABLE READ, deleting a key's groups locks the gaps next to them, and
// two transactions replacing the groups of neighbouring keys deadlock on
// each other's gaps. For the same reason Delete and RecordLastUsed, single
// statements that lock several rows, run in such a transaction on MySQL.
// PostgreSQL's default is READ COMMITTED already; SQLite serializes writers.
func (s *Store) inTx(ctx context.Context, op string, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, s.dialect.b().txOptions)
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	if err := f(tx); err != nil {
		// The rollback's own error adds nothing: f's error says what
		// went wrong, and database/sql discards a connection whose
		// rollback failed.
		_ = tx.Rollback()
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: %s: commit: %w", op, err)
	}
	return nil
}

// RecordLastUsed sets LastUsedAt of each key in uses to the given time
// unless the stored time is the same or later, ignoring IDs of keys that no
// longer exist. It is one UPDATE joining the table with the batch, passed as
// one or two parameters (array literals on PostgreSQL, a JSON array on MySQL
// and SQLite), for each [RecordLastUsedBatch] keys. The keys are sent in the
// order of their IDs, so that concurrent batches lock rows in the same order.
func (s *Store) RecordLastUsed(ctx context.Context, uses map[uuid.UUID]time.Time) error {
	if len(uses) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, 0, len(uses))
	for id := range uses {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	for chunk := range slices.Chunk(ids, RecordLastUsedBatch) {
		args := s.dialect.b().lastUsedArgs(chunk, uses)
		op := fmt.Sprintf("record last use of %d keys", len(chunk))
		if !s.dialect.b().lastUsedInTx {
			if _, err := s.db.ExecContext(ctx, s.q.recordLastUsed, args...); err != nil {
				return fmt.Errorf("sqlstore: %s: %w", op, err)
			}
			continue
		}
		// Under REPEATABLE READ, the join locks gaps where keys are
		// missing, and rows it reads but does not change (see inTx).
		err := s.inTx(ctx, op, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, s.q.recordLastUsed, args...)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// appendUUID appends the canonical text form of id, as id.String() would
// return it, without allocating.
func appendUUID(b []byte, id uuid.UUID) []byte {
	const hexDigits = "0123456789abcdef"
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}
