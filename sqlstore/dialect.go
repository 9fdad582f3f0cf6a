package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Dialect names the SQL database a Store talks to. It decides the query
// texts, the schema and how times and errors are read; the driver itself is
// the caller's choice (see the package documentation).
type Dialect string

// The supported dialects.
const (
	// Postgres is PostgreSQL 12 or later (tested with pgx's stdlib driver).
	Postgres Dialect = "postgres"

	// MySQL is MySQL 8.0.4 or later, or MariaDB 10.6 or later (JSON_TABLE
	// is required), with InnoDB tables (tested with go-sql-driver/mysql).
	MySQL Dialect = "mysql"

	// SQLite is SQLite 3.38 or later (STRICT tables, UPDATE ... FROM and
	// the built-in JSON functions are required; tested with modernc.org/sqlite).
	SQLite Dialect = "sqlite"
)

// String returns the dialect's name: "postgres", "mysql" or "sqlite".
func (d Dialect) String() string { return string(d) }

// valid reports whether d is one of the supported dialects.
func (d Dialect) valid() bool {
	_, ok := behaviours[d]
	return ok
}

// columns are the columns of the keys table, in the order of every SELECT
// and of the INSERT. Dialect.newKeyRow depends on this order.
const columns = "id, lookup_id, name, groups_json, active, preview, hash, " +
	"created_at, created_by, updated_at, last_used_at, expires_at, owner, metadata_json, " +
	"rolled_from, rolled_to, rolled_at, grace_ends_at, limits_json"

// queryTemplates are the fixed query texts of one dialect. {{table}} stands
// for the (validated, unquoted) table name; the dialect's identifier quotes
// are part of the template. New substitutes the name once.
type queryTemplates struct {
	insert          string
	insertGroups    string // (JSON array of distinct groups, key ID); copies the key's owner, created_at and active
	get             string
	getByLookupID   string
	delete          string
	setName         string // (name, updated_at, id)
	setGroups       string // (groups_json, updated_at, id)
	deleteGroups    string // (key ID)
	setGroupsActive string // (active, key ID): the status beside each group membership
	setActive       string // (active, updated_at, id)
	setHash         string // (hash, id)
	exists          string // (id); MySQL only, see Store.notFound
	lockGuard       string // (id); reads and locks a key's owner and groups, see Store.changeRow
	recordLastUsed  string // see Store.RecordLastUsed for the arguments

	// Lifecycle (see lifecycle.go): lockRoll reads and locks what Roll
	// checks (id); setRolled (rolled_to, rolled_at, grace_ends_at,
	// updated_at, id); setExpiresAt (expires_at, updated_at, id);
	// pruneSelect[owner] (cut-off, cut-off, [owner,] after, limit);
	// pruneDelete (id, cut-off, cut-off).
	lockRoll, setRolled, setExpiresAt, pruneDelete string

	// countWorking counts an owner's keys that still work: active, not
	// expired, not rolled or in their grace period (owner, now[, now]):
	// the quota of a roll.
	countWorking string
	pruneSelect  [2]string

	// Per-owner quota (see Store.Create): insertOwner makes sure the owner
	// has a row in the owners table, lockOwner locks it until the
	// transaction ends, countOwner counts the owner's keys.
	insertOwner, lockOwner, countOwner string // (owner)

	// list builds List's query for one combination of filters. It is
	// called for every combination once, in New.
	list func(owner, status, group, name, after bool) string

	// Audit trail (see events.go): lockChange reads and locks what a
	// change's guard and event need (id); nextPosition adds n to the
	// position row, locking it until commit, and readPosition reads it
	// (MySQL has no RETURNING: nextPosition returns no row there);
	// nextOwnerSeq adds n to an owner's row of the owner sequences
	// (owner, n), creating it, locking it until commit, and returns the
	// new last number (on MySQL readOwnerSeq (owner) reads it);
	// insertEvent (eventColumns); events builds Events' query for one
	// combination of filters; pruneEvents (cut-off, limit).
	lockChange, nextPosition, readPosition, insertEvent, pruneEvents string
	nextOwnerSeq, readOwnerSeq                                       string
	events                                                           func(f eventFilters) string

	// Migration statements.
	createVersions string
	selectVersions string
	insertVersion  string // (version, applied_at)
}

// dollar and question write the n-th placeholder of a dialect.
func dollar(n int) string { return "$" + strconv.Itoa(n) }
func question(int) string { return "?" }

// behaviours are the fixed tables of the dialects' behaviour, one per
// dialect file (dialect_postgres.go, dialect_mysql.go, dialect_sqlite.go).
var behaviours = map[Dialect]*behaviour{Postgres: &postgresBehaviour, MySQL: &mysqlBehaviour, SQLite: &sqliteBehaviour}

// behaviour is what differs between dialects beyond the query texts: each
// dialect file fills one in, and method bodies call it instead of
// branching on the dialect.
type behaviour struct {
	queries *queryTemplates

	// wallTimes: the driver returns times as wall-clock text, read as UTC
	// whatever the DSN's parseTime and loc say (MySQL).
	wallTimes bool

	// timeArg converts a time, already in UTC and truncated to
	// microseconds, to the dialect's column representation.
	timeArg func(t time.Time) any

	// isUniqueViolation and isAlreadyApplied recognise the drivers'
	// errors for a violated unique constraint and for a migration
	// statement whose column or index is already there.
	isUniqueViolation, isAlreadyApplied func(err error) bool

	// lowerForSearch lowercases a name search as the dialect's lower()
	// does the names it is compared with.
	lowerForSearch func(s string) string

	// cursorArgs are the arguments of List's cursor condition.
	cursorArgs func(at any, id string) []any

	// countWorkingArgs are the arguments of countWorking.
	countWorkingArgs func(owner string, now any) []any

	// next runs a statement that adds to a counter row and returns its new
	// value: from RETURNING, or where there is none by reading it back
	// with read (readArgs) in the same transaction.
	next func(ctx context.Context, tx *sql.Tx, update string, args []any, read string, readArgs []any) (int64, error)

	// countsChangedRows: an UPDATE reports the rows it changed rather
	// than those it matched (MySQL), so that no row affected does not
	// mean no such row.
	countsChangedRows bool

	// txOptions are the options of every transaction (see Store.inTx).
	txOptions *sql.TxOptions

	// lastUsedArgs encodes a batch of RecordLastUsed as the arguments of
	// recordLastUsed; lastUsedInTx runs it in a transaction of its own.
	lastUsedArgs func(ids []uuid.UUID, uses map[uuid.UUID]time.Time) []any
	lastUsedInTx bool

	// How ListSorted's queries, built at run time, are written:
	// placeholder numbers the arguments; quote quotes an identifier;
	// nameMatch is the name search's condition on its argument (a
	// function call, never LIKE, so that "%" and "_" are literal);
	// nameOrder is the first column of the name order, compared byte for
	// byte; rowValues compares the cursor as a row value, else expanded
	// (MariaDB uses an index only for the expanded one); joinHint keeps
	// the membership table first in a join.
	placeholder func(n int) string
	quote       func(name string) string
	nameMatch   func(arg string) string
	nameOrder   string
	rowValues   bool
	joinHint    string

	// limits and usage are the query texts of limits.go and usage.go.
	limits *limitQueries
	usage  *usageQueries

	// spendArgs and spendRefillArgs are the arguments of limitQueries'
	// spend and spendRefill; spend runs one and returns the new balance,
	// or false if the balance did not pay or there is none.
	spendArgs       func(cost int64, account string) []any
	spendRefillArgs func(cost int64, account string, amount int64, periodStart any) []any
	spend           func(ctx context.Context, db *sql.DB, query string, args []any) (left int64, spent bool, err error)

	// usageHour encodes an hour of usage in upsert's JSON rows.
	usageHour func(h time.Time) any
}

// b returns the dialect's behaviour; d is valid.
func (d Dialect) b() *behaviour { return behaviours[d] }

// templates returns the dialect's query templates.
func (d Dialect) templates() *queryTemplates { return d.b().queries }

// returning is next for a statement with RETURNING.
func returning(ctx context.Context, tx *sql.Tx, update string, args []any, _ string, _ []any) (int64, error) {
	var n int64
	err := tx.QueryRowContext(ctx, update, args...).Scan(&n)
	return n, err
}

// readBack is next for a dialect without RETURNING.
func readBack(ctx context.Context, tx *sql.Tx, update string, args []any, read string, readArgs []any) (int64, error) {
	if _, err := tx.ExecContext(ctx, update, args...); err != nil {
		return 0, err
	}
	var n int64
	err := tx.QueryRowContext(ctx, read, readArgs...).Scan(&n)
	return n, err
}

// listQuery returns the query text of List for one combination of filters.
// Its arguments are, in order: the owner (if owner), the status (if status),
// the group (if group), the lowercased name search (if name; nameMatch
// writes the condition, a function call, never LIKE, so that "%" and "_"
// are literal), the cursor (if after) and the limit. The cursor is
// (created_at, id) if rowValues, else (created_at, created_at, id):
// PostgreSQL and SQLite use an index for a row-value comparison, MariaDB
// only for the expanded one.
//
// Every combination reads one index range in creation order (see the
// package documentation): without a group, the keys table's (created_at,
// id), (active, ...), (owner, ...) or (owner, active, ...); with a group,
// the group table's (group_name, [owner,] [active,] created_at, key_id),
// each member row joined to its key by primary key. MySQL is told to read
// the group table first (STRAIGHT_JOIN), so that its plan cannot turn.
func listQuery(table, groups string, ph func(int) string, owner, status, group, name, after, rowValues bool, nameMatch func(string) string) string {
	n := 0
	next := func() string { n++; return ph(n) }
	// t is the table whose index pages: the group memberships with a group
	// filter, the keys otherwise.
	t, id := "k", "k.id"
	if group {
		t, id = "g", "g.key_id"
	}
	var conds []string
	if owner {
		conds = append(conds, t+".owner = "+next())
	}
	if status {
		conds = append(conds, t+".active = "+next())
	}
	if group {
		conds = append(conds, "g.group_name = "+next())
	}
	if name {
		conds = append(conds, nameMatch(next()))
	}
	if after {
		if rowValues {
			conds = append(conds, "("+t+".created_at, "+id+") > ("+next()+", "+next()+")")
		} else {
			conds = append(conds, "("+t+".created_at > "+next()+
				" OR ("+t+".created_at = "+next()+" AND "+id+" > "+next()+"))")
		}
	}
	q := "SELECT " + qualifiedColumns + " FROM " + table + " AS k"
	if group {
		join := " JOIN "
		if !rowValues { // MySQL
			q = "SELECT STRAIGHT_JOIN " + qualifiedColumns + " FROM " + groups + " AS g" + join + table + " AS k ON k.id = g.key_id"
		} else {
			q = "SELECT " + qualifiedColumns + " FROM " + groups + " AS g" + join + table + " AS k ON k.id = g.key_id"
		}
	}
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	return q + " ORDER BY " + t + ".created_at, " + id + " LIMIT " + next()
}

// eventColumns are the columns of the events table, in the order of every
// SELECT and of the INSERT.
const eventColumns = "pos, owner_seq, occurred_at, owner, key_id, actor_id, actor_name, actor_preview, kind, detail_json"

// eventFilters is a combination of the filters of Events: which
// conditions its query has, and its direction.
type eventFilters struct {
	owner, key, kind, actor, since, newest bool
}

// eventFilterCombinations is the number of eventFilters values (see
// index).
const eventFilterCombinations = 64

// index numbers f from 0 to eventFilterCombinations-1.
func (f eventFilters) index() int {
	i := 0
	for bit, on := range []bool{f.owner, f.key, f.kind, f.actor, f.since, f.newest} {
		if on {
			i |= 1 << bit
		}
	}
	return i
}

// eventFiltersOf is the inverse of index.
func eventFiltersOf(i int) eventFilters {
	return eventFilters{owner: i&1 != 0, key: i&2 != 0, kind: i&4 != 0, actor: i&8 != 0, since: i&16 != 0, newest: i&32 != 0}
}

// eventsQuery returns the query text of Events for one combination of
// filters. Its arguments are, in order: the positions to stay above and
// below, then, with an owner, the owner and the owner sequence numbers to
// stay above and below, then the key ID, the kind, the actor ID and the
// time, each if filtered, and the limit. Unset bounds are 0 and
// math.MaxInt64, so that each combination has one text.
//
// Without an owner the order is by position: the primary key, or with a
// key the index on (key_id, pos). With an owner it is by owner_seq, the
// same order within an owner: the index on (owner, owner_seq), (owner,
// kind, owner_seq), (owner, actor_id, owner_seq), or with a key (key_id,
// owner_seq); in either direction.
func eventsQuery(table string, ph func(int) string, f eventFilters) string {
	n := 0
	next := func() string { n++; return ph(n) }
	q := "SELECT " + eventColumns + " FROM " + table + " WHERE pos > " + next() + " AND pos < " + next()
	order := "pos"
	if f.owner {
		q += " AND owner = " + next() + " AND owner_seq > " + next() + " AND owner_seq < " + next()
		order = "owner_seq"
	}
	if f.key {
		q += " AND key_id = " + next()
	}
	if f.kind {
		q += " AND kind = " + next()
	}
	if f.actor {
		q += " AND actor_id = " + next()
	}
	if f.since {
		q += " AND occurred_at >= " + next()
	}
	if f.newest {
		order += " DESC"
	}
	return q + " ORDER BY " + order + " LIMIT " + next()
}

// qualifiedColumns is columns with each name prefixed by "k.".
var qualifiedColumns = "k." + strings.ReplaceAll(columns, ", ", ", k.")

// isUniqueViolation reports whether err is the dialect's error for a
// violated primary key or unique constraint. It recognises the drivers'
// errors without importing them (see each dialect file).
func (d Dialect) isUniqueViolation(err error) bool { return d.b().isUniqueViolation(err) }

// isBusy reports whether err is SQLite's SQLITE_BUSY ("database is locked").
func isBusy(err error) bool {
	const sqliteBusy = 5
	var e interface{ Code() int }
	if errors.As(err, &e) && e.Code()&0xff == sqliteBusy {
		return true
	}
	return chainHas(err, func(e error) bool {
		msg := e.Error()
		return strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_BUSY")
	})
}

// chainHas reports whether f holds for err or an error it wraps (through
// Unwrap() error only, which is what drivers use).
func chainHas(err error, f func(error) bool) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if f(err) {
			return true
		}
	}
	return false
}

// lowerForSearch lowercases a name search as the dialect's lower() does the
// names it is compared with.
func (d Dialect) lowerForSearch(s string) string { return d.b().lowerForSearch(s) }

// doubleQuote quotes an identifier as PostgreSQL and SQLite do.
func doubleQuote(name string) string { return `"` + name + `"` }

// backQuote quotes an identifier as MySQL does.
func backQuote(name string) string { return "`" + name + "`" }

// questionSpendRefillArgs are the arguments of spendRefill where every
// placeholder is a "?" of its own (MySQL, SQLite).
func questionSpendRefillArgs(cost int64, account string, amount int64, periodStart any) []any {
	return []any{periodStart, amount, cost, periodStart, periodStart, account, periodStart, amount, cost}
}
