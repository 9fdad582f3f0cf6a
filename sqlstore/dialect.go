package sqlstore

import (
	"errors"
	"strconv"
	"strings"
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
	return d == Postgres || d == MySQL || d == SQLite
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
	// insertEvent (pos, occurred_at, owner, key_id, actor_id, actor_name,
	// kind, detail_json); events builds Events' query for one
	// combination of filters; pruneEvents (cut-off, limit).
	lockChange, nextPosition, readPosition, insertEvent, pruneEvents string
	events                                                           func(owner, key, since bool) string

	// Migration statements.
	createVersions string
	selectVersions string
	insertVersion  string // (version, applied_at)
}

var postgresQueries = queryTemplates{
	insert: `INSERT INTO "{{table}}" (` + columns + `) ` +
		`VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
	insertGroups: `INSERT INTO "{{table}}_groups" (key_id, group_name, owner, created_at, active) ` +
		`SELECT k.id, g, k.owner, k.created_at, k.active FROM "{{table}}" AS k, json_array_elements_text($1::json) AS g WHERE k.id = $2`,
	get:             `SELECT ` + columns + ` FROM "{{table}}" WHERE id = $1`,
	getByLookupID:   `SELECT ` + columns + ` FROM "{{table}}" WHERE lookup_id = $1`,
	delete:          `DELETE FROM "{{table}}" WHERE id = $1`,
	setName:         `UPDATE "{{table}}" SET name = $1, updated_at = $2 WHERE id = $3`,
	setGroups:       `UPDATE "{{table}}" SET groups_json = $1, updated_at = $2 WHERE id = $3`,
	deleteGroups:    `DELETE FROM "{{table}}_groups" WHERE key_id = $1`,
	setGroupsActive: `UPDATE "{{table}}_groups" SET active = $1 WHERE key_id = $2`,
	setActive:       `UPDATE "{{table}}" SET active = $1, updated_at = $2 WHERE id = $3`,
	setHash:         `UPDATE "{{table}}" SET hash = $1 WHERE id = $2`,
	exists:          `SELECT 1 FROM "{{table}}" WHERE id = $1`,
	lockGuard:       `SELECT owner, groups_json FROM "{{table}}" WHERE id = $1 FOR UPDATE`,
	lockRoll:        `SELECT owner, groups_json, active, rolled_to FROM "{{table}}" WHERE id = $1 FOR UPDATE`,
	countWorking:    `SELECT count(*) FROM "{{table}}" WHERE owner = $1 AND active AND (expires_at IS NULL OR expires_at > $2) AND (rolled_to IS NULL OR grace_ends_at > $2)`,
	setRolled:       `UPDATE "{{table}}" SET rolled_to = $1, rolled_at = $2, grace_ends_at = $3, updated_at = $4 WHERE id = $5`,
	setExpiresAt:    `UPDATE "{{table}}" SET expires_at = $1, updated_at = $2 WHERE id = $3`,
	pruneSelect: [2]string{
		`SELECT ` + columns + ` FROM "{{table}}" WHERE (expires_at < $1 OR grace_ends_at < $2) AND id > $3 ORDER BY id LIMIT $4`,
		`SELECT ` + columns + ` FROM "{{table}}" WHERE (expires_at < $1 OR grace_ends_at < $2) AND owner = $3 AND id > $4 ORDER BY id LIMIT $5`,
	},
	pruneDelete: `DELETE FROM "{{table}}" WHERE id = $1 AND (expires_at < $2 OR grace_ends_at < $3)`,
	insertOwner: `INSERT INTO "{{table}}_owners" (owner) VALUES ($1) ON CONFLICT DO NOTHING`,
	lockOwner:   `SELECT owner FROM "{{table}}_owners" WHERE owner = $1 FOR UPDATE`,
	countOwner:  `SELECT count(*) FROM "{{table}}" WHERE owner = $1`,
	// $1 and $2 are array literals ('{id,...}', '{"ts",...}'), passed as
	// text so that any driver can send them. The rows to change are locked
	// first, in the order of their IDs, so that concurrent batches cannot
	// deadlock (an UPDATE ... FROM locks in the order of its join).
	recordLastUsed: `WITH v AS (SELECT * FROM unnest($1::text::uuid[], $2::text::timestamptz[]) AS v(id, ts)), ` +
		`locked AS MATERIALIZED (SELECT k.id, v.ts FROM "{{table}}" AS k JOIN v ON k.id = v.id ` +
		`WHERE k.last_used_at IS NULL OR k.last_used_at < v.ts ORDER BY k.id FOR UPDATE OF k) ` +
		`UPDATE "{{table}}" AS k SET last_used_at = l.ts FROM locked AS l ` +
		`WHERE k.id = l.id AND (k.last_used_at IS NULL OR k.last_used_at < l.ts)`,
	list: func(owner, status, group, name, after bool) string {
		return listQuery(`"{{table}}"`, `"{{table}}_groups"`, dollar, owner, status, group, name, after, true,
			func(arg string) string { return "strpos(lower(k.name), " + arg + ") > 0" })
	},
	lockChange:   `SELECT owner, name, groups_json, expires_at FROM "{{table}}" WHERE id = $1 FOR UPDATE`,
	nextPosition: `UPDATE "{{table}}_event_position" SET pos = pos + $1 WHERE id = 1 RETURNING pos`,
	readPosition: `SELECT pos FROM "{{table}}_event_position" WHERE id = 1`,
	insertEvent: `INSERT INTO "{{table}}_events" (pos, occurred_at, owner, key_id, actor_id, actor_name, kind, detail_json) ` +
		`VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
	pruneEvents: `DELETE FROM "{{table}}_events" WHERE pos IN (SELECT pos FROM "{{table}}_events" WHERE occurred_at < $1 ORDER BY pos LIMIT $2)`,
	events: func(owner, key, since bool) string {
		return eventsQuery(`"{{table}}_events"`, dollar, owner, key, since)
	},
	createVersions: `CREATE TABLE IF NOT EXISTS "{{table}}_schema_migrations" (` +
		`version bigint NOT NULL PRIMARY KEY, applied_at timestamptz NOT NULL)`,
	selectVersions: `SELECT version FROM "{{table}}_schema_migrations"`,
	insertVersion:  `INSERT INTO "{{table}}_schema_migrations" (version, applied_at) VALUES ($1, $2)`,
}

var mysqlQueries = queryTemplates{
	insert: "INSERT INTO `{{table}}` (" + columns + ") " +
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	insertGroups: "INSERT INTO `{{table}}_groups` (key_id, group_name, owner, created_at, active) " +
		"SELECT k.id, g.name, k.owner, k.created_at, k.active FROM JSON_TABLE(?, '$[*]' COLUMNS (" +
		"name VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PATH '$' ERROR ON EMPTY)) AS g " +
		"JOIN `{{table}}` AS k ON k.id = ?",
	get:             "SELECT " + columns + " FROM `{{table}}` WHERE id = ?",
	getByLookupID:   "SELECT " + columns + " FROM `{{table}}` WHERE lookup_id = ?",
	delete:          "DELETE FROM `{{table}}` WHERE id = ?",
	setName:         "UPDATE `{{table}}` SET name = ?, updated_at = ? WHERE id = ?",
	setGroups:       "UPDATE `{{table}}` SET groups_json = ?, updated_at = ? WHERE id = ?",
	deleteGroups:    "DELETE FROM `{{table}}_groups` WHERE key_id = ?",
	setGroupsActive: "UPDATE `{{table}}_groups` SET active = ? WHERE key_id = ?",
	setActive:       "UPDATE `{{table}}` SET active = ?, updated_at = ? WHERE id = ?",
	setHash:         "UPDATE `{{table}}` SET hash = ? WHERE id = ?",
	exists:          "SELECT 1 FROM `{{table}}` WHERE id = ?",
	lockGuard:       "SELECT owner, groups_json FROM `{{table}}` WHERE id = ? FOR UPDATE",
	lockRoll:        "SELECT owner, groups_json, active, rolled_to FROM `{{table}}` WHERE id = ? FOR UPDATE",
	countWorking:    "SELECT COUNT(*) FROM `{{table}}` WHERE owner = ? AND active AND (expires_at IS NULL OR expires_at > ?) AND (rolled_to IS NULL OR grace_ends_at > ?)",
	setRolled:       "UPDATE `{{table}}` SET rolled_to = ?, rolled_at = ?, grace_ends_at = ?, updated_at = ? WHERE id = ?",
	setExpiresAt:    "UPDATE `{{table}}` SET expires_at = ?, updated_at = ? WHERE id = ?",
	pruneSelect: [2]string{
		"SELECT " + columns + " FROM `{{table}}` WHERE (expires_at < ? OR grace_ends_at < ?) AND id > ? ORDER BY id LIMIT ?",
		"SELECT " + columns + " FROM `{{table}}` WHERE (expires_at < ? OR grace_ends_at < ?) AND owner = ? AND id > ? ORDER BY id LIMIT ?",
	},
	pruneDelete: "DELETE FROM `{{table}}` WHERE id = ? AND (expires_at < ? OR grace_ends_at < ?)",
	// ON DUPLICATE KEY UPDATE takes the row's exclusive lock at once;
	// INSERT IGNORE would take a shared one, and two transactions that
	// both then asked for the exclusive lock would deadlock.
	insertOwner: "INSERT INTO `{{table}}_owners` (owner) VALUES (?) ON DUPLICATE KEY UPDATE owner = owner",
	lockOwner:   "SELECT owner FROM `{{table}}_owners` WHERE owner = ? FOR UPDATE",
	countOwner:  "SELECT COUNT(*) FROM `{{table}}` WHERE owner = ?",
	// The argument is a JSON array of [id, "YYYY-MM-DD hh:mm:ss.ffffff"].
	recordLastUsed: "UPDATE `{{table}}` AS k JOIN JSON_TABLE(?, '$[*]' COLUMNS (" +
		"id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin PATH '$[0]' ERROR ON EMPTY, " +
		"ts DATETIME(6) PATH '$[1]' ERROR ON EMPTY)) AS v ON k.id = v.id " +
		"SET k.last_used_at = v.ts " +
		"WHERE k.last_used_at IS NULL OR k.last_used_at < v.ts",
	list: func(owner, status, group, name, after bool) string {
		return listQuery("`{{table}}`", "`{{table}}_groups`", question, owner, status, group, name, after, false,
			func(arg string) string { return "LOCATE(" + arg + ", LOWER(k.name)) > 0" })
	},
	lockChange:   "SELECT owner, name, groups_json, expires_at FROM `{{table}}` WHERE id = ? FOR UPDATE",
	nextPosition: "UPDATE `{{table}}_event_position` SET pos = pos + ? WHERE id = 1",
	readPosition: "SELECT pos FROM `{{table}}_event_position` WHERE id = 1",
	insertEvent: "INSERT INTO `{{table}}_events` (pos, occurred_at, owner, key_id, actor_id, actor_name, kind, detail_json) " +
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	pruneEvents: "DELETE FROM `{{table}}_events` WHERE occurred_at < ? ORDER BY pos LIMIT ?",
	events: func(owner, key, since bool) string {
		return eventsQuery("`{{table}}_events`", question, owner, key, since)
	},
	createVersions: "CREATE TABLE IF NOT EXISTS `{{table}}_schema_migrations` (" +
		"version BIGINT NOT NULL PRIMARY KEY, applied_at DATETIME(6) NOT NULL) ENGINE=InnoDB",
	selectVersions: "SELECT version FROM `{{table}}_schema_migrations`",
	insertVersion:  "INSERT INTO `{{table}}_schema_migrations` (version, applied_at) VALUES (?, ?)",
}

var sqliteQueries = queryTemplates{
	insert: `INSERT INTO "{{table}}" (` + columns + `) ` +
		`VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	insertGroups: `INSERT INTO "{{table}}_groups" (key_id, group_name, owner, created_at, active) ` +
		`SELECT k.id, g.value, k.owner, k.created_at, k.active FROM json_each(?) AS g JOIN "{{table}}" AS k ON k.id = ?`,
	get:             `SELECT ` + columns + ` FROM "{{table}}" WHERE id = ?`,
	getByLookupID:   `SELECT ` + columns + ` FROM "{{table}}" WHERE lookup_id = ?`,
	delete:          `DELETE FROM "{{table}}" WHERE id = ?`,
	setName:         `UPDATE "{{table}}" SET name = ?, updated_at = ? WHERE id = ?`,
	setGroups:       `UPDATE "{{table}}" SET groups_json = ?, updated_at = ? WHERE id = ?`,
	deleteGroups:    `DELETE FROM "{{table}}_groups" WHERE key_id = ?`,
	setGroupsActive: `UPDATE "{{table}}_groups" SET active = ? WHERE key_id = ?`,
	setActive:       `UPDATE "{{table}}" SET active = ?, updated_at = ? WHERE id = ?`,
	setHash:         `UPDATE "{{table}}" SET hash = ? WHERE id = ?`,
	exists:          `SELECT 1 FROM "{{table}}" WHERE id = ?`,
	// SQLite has no FOR UPDATE: a no-op UPDATE takes the database's write
	// lock first, so no other writer comes between the check and the change.
	lockGuard:    `UPDATE "{{table}}" SET groups_json = groups_json WHERE id = ? RETURNING owner, groups_json`,
	lockRoll:     `UPDATE "{{table}}" SET groups_json = groups_json WHERE id = ? RETURNING owner, groups_json, active, rolled_to`,
	countWorking: `SELECT count(*) FROM "{{table}}" WHERE owner = ? AND active AND (expires_at IS NULL OR expires_at > ?) AND (rolled_to IS NULL OR grace_ends_at > ?)`,
	setRolled:    `UPDATE "{{table}}" SET rolled_to = ?, rolled_at = ?, grace_ends_at = ?, updated_at = ? WHERE id = ?`,
	setExpiresAt: `UPDATE "{{table}}" SET expires_at = ?, updated_at = ? WHERE id = ?`,
	pruneSelect: [2]string{
		`SELECT ` + columns + ` FROM "{{table}}" WHERE (expires_at < ? OR grace_ends_at < ?) AND id > ? ORDER BY id LIMIT ?`,
		`SELECT ` + columns + ` FROM "{{table}}" WHERE (expires_at < ? OR grace_ends_at < ?) AND owner = ? AND id > ? ORDER BY id LIMIT ?`,
	},
	pruneDelete: `DELETE FROM "{{table}}" WHERE id = ? AND (expires_at < ? OR grace_ends_at < ?)`,
	insertOwner: `INSERT OR IGNORE INTO "{{table}}_owners" (owner) VALUES (?)`,
	lockOwner:   `UPDATE "{{table}}_owners" SET owner = owner WHERE owner = ? RETURNING owner`,
	countOwner:  `SELECT count(*) FROM "{{table}}" WHERE owner = ?`,
	// The argument is a JSON array of [id, unix microseconds].
	recordLastUsed: `UPDATE "{{table}}" SET last_used_at = v.ts ` +
		`FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS ts FROM json_each(?)) AS v ` +
		`WHERE "{{table}}".id = v.id AND ("{{table}}".last_used_at IS NULL OR "{{table}}".last_used_at < v.ts)`,
	list: func(owner, status, group, name, after bool) string {
		return listQuery(`"{{table}}"`, `"{{table}}_groups"`, question, owner, status, group, name, after, true,
			func(arg string) string { return "instr(lower(k.name), " + arg + ") > 0" })
	},
	lockChange:   `UPDATE "{{table}}" SET groups_json = groups_json WHERE id = ? RETURNING owner, name, groups_json, expires_at`,
	nextPosition: `UPDATE "{{table}}_event_position" SET pos = pos + ? WHERE id = 1 RETURNING pos`,
	readPosition: `SELECT pos FROM "{{table}}_event_position" WHERE id = 1`,
	insertEvent: `INSERT INTO "{{table}}_events" (pos, occurred_at, owner, key_id, actor_id, actor_name, kind, detail_json) ` +
		`VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
	pruneEvents: `DELETE FROM "{{table}}_events" WHERE pos IN (SELECT pos FROM "{{table}}_events" WHERE occurred_at < ? ORDER BY pos LIMIT ?)`,
	events: func(owner, key, since bool) string {
		return eventsQuery(`"{{table}}_events"`, question, owner, key, since)
	},
	createVersions: `CREATE TABLE IF NOT EXISTS "{{table}}_schema_migrations" (` +
		`version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`,
	selectVersions: `SELECT version FROM "{{table}}_schema_migrations"`,
	insertVersion:  `INSERT INTO "{{table}}_schema_migrations" (version, applied_at) VALUES (?, ?)`,
}

// dollar and question write the n-th placeholder of a dialect.
func dollar(n int) string { return "$" + strconv.Itoa(n) }
func question(int) string { return "?" }

// templates returns the dialect's query templates.
func (d Dialect) templates() *queryTemplates {
	switch d {
	case Postgres:
		return &postgresQueries
	case MySQL:
		return &mysqlQueries
	default:
		return &sqliteQueries
	}
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
const eventColumns = "pos, occurred_at, owner, key_id, actor_id, actor_name, kind, detail_json"

// eventsQuery returns the query text of Events for one combination of
// filters. Its arguments are, in order: the position to start after, the
// owner (if owner), the key ID (if key), the time (if since) and the
// limit. An owner's or a key's events are one range of an index on
// (owner, pos) or (key_id, pos).
func eventsQuery(table string, ph func(int) string, owner, key, since bool) string {
	n := 0
	next := func() string { n++; return ph(n) }
	q := "SELECT " + eventColumns + " FROM " + table + " WHERE pos > " + next()
	if owner {
		q += " AND owner = " + next()
	}
	if key {
		q += " AND key_id = " + next()
	}
	if since {
		q += " AND occurred_at >= " + next()
	}
	return q + " ORDER BY pos LIMIT " + next()
}

// qualifiedColumns is columns with each name prefixed by "k.".
var qualifiedColumns = "k." + strings.ReplaceAll(columns, ", ", ", k.")

// isUniqueViolation reports whether err is the dialect's error for a
// violated primary key or unique constraint. It recognises the drivers'
// errors without importing them: PostgreSQL drivers (pgx, lib/pq) expose
// SQLSTATE through a SQLState method, go-sql-driver/mysql formats error 1062
// as "Error 1062 ...", and SQLite drivers report an extended result code
// (modernc.org/sqlite's Code method) or the message "UNIQUE constraint failed".
func (d Dialect) isUniqueViolation(err error) bool {
	switch d {
	case Postgres:
		var e interface{ SQLState() string }
		return errors.As(err, &e) && e.SQLState() == "23505"
	case MySQL:
		return chainHas(err, func(e error) bool {
			msg := e.Error()
			return strings.HasPrefix(msg, "Error 1062:") || strings.HasPrefix(msg, "Error 1062 (")
		})
	default:
		const constraintUnique, constraintPrimaryKey = 2067, 1555
		var e interface{ Code() int }
		if errors.As(err, &e) && (e.Code() == constraintUnique || e.Code() == constraintPrimaryKey) {
			return true
		}
		return chainHas(err, func(e error) bool {
			return strings.Contains(e.Error(), "UNIQUE constraint failed")
		})
	}
}

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
// names it is compared with: SQLite's folds ASCII letters only, the others
// Unicode letters too.
func (d Dialect) lowerForSearch(s string) string {
	if d != SQLite {
		return strings.ToLower(s)
	}
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
