package sqlstore

import (
	"database/sql"
	"strings"
	"time"

	"github.com/google/uuid"
)

// MySQL and MariaDB: ? placeholders, no RETURNING, expanded cursors (an
// index for a row-value comparison only on MySQL), times as DATETIME text
// in UTC, JSON arrays for batches, READ COMMITTED transactions, and
// UPDATE counting the rows it changed.

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
			mysqlNameMatch)
	},
	lockChange:   "SELECT owner, name, groups_json, expires_at FROM `{{table}}` WHERE id = ? FOR UPDATE",
	nextPosition: "UPDATE `{{table}}_event_position` SET pos = pos + ? WHERE id = 1",
	readPosition: "SELECT pos FROM `{{table}}_event_position` WHERE id = 1",
	insertEvent:  "INSERT INTO `{{table}}_events` (" + eventColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	nextOwnerSeq: "INSERT INTO `{{table}}_event_owner_seq` (owner, seq) VALUES (?, ?) ON DUPLICATE KEY UPDATE seq = seq + VALUES(seq)",
	readOwnerSeq: "SELECT seq FROM `{{table}}_event_owner_seq` WHERE owner = ?",
	pruneEvents:  "DELETE FROM `{{table}}_events` WHERE occurred_at < ? ORDER BY pos LIMIT ?",
	events:       func(f eventFilters) string { return eventsQuery("`{{table}}_events`", question, f) },
	createVersions: "CREATE TABLE IF NOT EXISTS `{{table}}_schema_migrations` (" +
		"version BIGINT NOT NULL PRIMARY KEY, applied_at DATETIME(6) NOT NULL) ENGINE=InnoDB",
	selectVersions: "SELECT version FROM `{{table}}_schema_migrations`",
	insertVersion:  "INSERT INTO `{{table}}_schema_migrations` (version, applied_at) VALUES (?, ?)",
}

var mysqlBehaviour = behaviour{
	queries:        &mysqlQueries,
	wallTimes:      true,
	timeArg:        func(t time.Time) any { return t.Format(mysqlTimeLayout) },
	lowerForSearch: strings.ToLower,
	// go-sql-driver/mysql formats error 1062 as "Error 1062 ...".
	isUniqueViolation: func(err error) bool {
		return chainHas(err, func(e error) bool {
			msg := e.Error()
			return strings.HasPrefix(msg, "Error 1062:") || strings.HasPrefix(msg, "Error 1062 (")
		})
	},
	// ER_DUP_FIELDNAME, ER_DUP_KEYNAME, ER_CANT_DROP_FIELD_OR_KEY: MySQL
	// applies an ALTER TABLE atomically, so a column that exists means the
	// whole statement was applied.
	isAlreadyApplied: func(err error) bool {
		return chainHas(err, func(e error) bool {
			msg := e.Error()
			return strings.HasPrefix(msg, "Error 1060") || strings.HasPrefix(msg, "Error 1061") || strings.HasPrefix(msg, "Error 1091")
		})
	},
	cursorArgs:        func(at any, id string) []any { return []any{at, at, id} },
	countWorkingArgs:  func(owner string, now any) []any { return []any{owner, now, now} },
	next:              readBack,
	countsChangedRows: true,
	// Under InnoDB's default, REPEATABLE READ, deleting a key's groups
	// locks the gaps next to them, and two transactions replacing the
	// groups of neighbouring keys deadlock on each other's gaps.
	txOptions:    &sql.TxOptions{Isolation: sql.LevelReadCommitted},
	lastUsedArgs: func(ids []uuid.UUID, uses map[uuid.UUID]time.Time) []any { return jsonLastUsedArgs(ids, uses, true) },
	// Under REPEATABLE READ, the join locks gaps where keys are missing,
	// and rows it reads but does not change.
	lastUsedInTx:    true,
	placeholder:     question,
	quote:           backQuote,
	nameMatch:       mysqlNameMatch,
	nameOrder:       "k.name",
	rowValues:       false,
	joinHint:        "STRAIGHT_JOIN ",
	limits:          &mysqlLimitQueries,
	usage:           &mysqlUsageQueries,
	spendArgs:       func(cost int64, account string) []any { return []any{cost, account, cost} },
	spendRefillArgs: questionSpendRefillArgs,
	spend:           spendLastInsertID,
	usageHour:       func(h time.Time) any { return h.Format(mysqlTimeLayout) },
}

// mysqlNameMatch is the name search of List and ListSorted.
func mysqlNameMatch(arg string) string { return "LOCATE(" + arg + ", LOWER(k.name)) > 0" }

// mysqlLimitQueries are the dialect's queries of limits.go. MySQL has no
// RETURNING: LAST_INSERT_ID(expr) hands the new balance back in the result
// of the same statement. SET assignments run left to right, so refilled_at
// is assigned last and its CASE reads the old value.
var mysqlLimitQueries = limitQueries{
	setLimits:     "UPDATE `{{table}}` SET limits_json = ?, updated_at = ? WHERE id = ?",
	readLimits:    "SELECT limits_json FROM `{{table}}` WHERE id = ?",
	readCredits:   "SELECT remaining, refilled_at FROM `{{table}}_credits` WHERE account = ?",
	lockCredits:   "SELECT remaining, refilled_at FROM `{{table}}_credits` WHERE account = ? FOR UPDATE",
	upsertCredits: "INSERT INTO `{{table}}_credits` (account, remaining) VALUES (?, ?) ON DUPLICATE KEY UPDATE remaining = VALUES(remaining)",
	spend:         "UPDATE `{{table}}_credits` SET remaining = LAST_INSERT_ID(remaining - ?) WHERE account = ? AND remaining >= ?",
	spendRefill: "UPDATE `{{table}}_credits` SET " +
		"remaining = LAST_INSERT_ID((CASE WHEN refilled_at IS NULL OR refilled_at < ? THEN ? ELSE remaining END) - ?), " +
		"refilled_at = CASE WHEN refilled_at IS NULL OR refilled_at < ? THEN ? ELSE refilled_at END " +
		"WHERE account = ? AND (CASE WHEN refilled_at IS NULL OR refilled_at < ? THEN ? ELSE remaining END) >= ?",
}

// mysqlUsageQueries are the dialect's queries of usage.go.
var mysqlUsageQueries = usageQueries{
	insertBatch: "INSERT IGNORE INTO `{{table}}_usage_batches` (id, applied_at) VALUES (?, ?)",
	upsert: "INSERT INTO `{{table}}_usage` (key_id, hour, outcome, owner, count) " +
		"SELECT r.k, r.h, r.o, r.w, r.n FROM JSON_TABLE(?, '$[*]' COLUMNS (" +
		"k CHAR(36) CHARACTER SET ascii PATH '$.k', h DATETIME(6) PATH '$.h', o VARCHAR(32) CHARACTER SET ascii PATH '$.o', " +
		"w VARCHAR(128) CHARACTER SET utf8mb4 PATH '$.w', n BIGINT PATH '$.n')) AS r " +
		"ON DUPLICATE KEY UPDATE count = count + VALUES(count)",
	readKey:   "SELECT hour, outcome, owner, count FROM `{{table}}_usage` WHERE key_id = ? AND hour >= ? AND hour < ?",
	readOwner: "SELECT hour, outcome, CAST(SUM(count) AS SIGNED) FROM `{{table}}_usage` WHERE owner = ? AND hour >= ? AND hour < ? GROUP BY hour, outcome",
	busiest: "SELECT key_id, CAST(SUM(CASE WHEN outcome = 'verified' THEN count ELSE 0 END) AS SIGNED), CAST(SUM(count) AS SIGNED) AS total " +
		"FROM `{{table}}_usage` WHERE owner = ? AND hour >= ? AND hour < ? GROUP BY key_id ORDER BY total DESC, key_id LIMIT ?",
	pruneRows:    "DELETE FROM `{{table}}_usage` WHERE hour < ? LIMIT ?",
	pruneBatches: "DELETE FROM `{{table}}_usage_batches` WHERE applied_at < ?",
}
