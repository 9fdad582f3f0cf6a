package sqlstore

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// SQLite: ? placeholders, RETURNING, row-value cursors, times as INTEGER
// microseconds, JSON arrays for batches, lower() folding ASCII only.

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
			sqliteNameMatch)
	},
	lockChange:   `UPDATE "{{table}}" SET groups_json = groups_json WHERE id = ? RETURNING owner, name, groups_json, expires_at`,
	nextPosition: `UPDATE "{{table}}_event_position" SET pos = pos + ? WHERE id = 1 RETURNING pos`,
	readPosition: `SELECT pos FROM "{{table}}_event_position" WHERE id = 1`,
	insertEvent:  `INSERT INTO "{{table}}_events" (` + eventColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	nextOwnerSeq: `INSERT INTO "{{table}}_event_owner_seq" (owner, seq) VALUES (?, ?) ` +
		`ON CONFLICT (owner) DO UPDATE SET seq = seq + excluded.seq RETURNING seq`,
	pruneEvents: `DELETE FROM "{{table}}_events" WHERE pos IN (SELECT pos FROM "{{table}}_events" WHERE occurred_at < ? ORDER BY pos LIMIT ?)`,
	events:      func(f eventFilters) string { return eventsQuery(`"{{table}}_events"`, question, f) },
	createVersions: `CREATE TABLE IF NOT EXISTS "{{table}}_schema_migrations" (` +
		`version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`,
	selectVersions: `SELECT version FROM "{{table}}_schema_migrations"`,
	insertVersion:  `INSERT INTO "{{table}}_schema_migrations" (version, applied_at) VALUES (?, ?)`,
}

var sqliteBehaviour = behaviour{
	queries: &sqliteQueries,
	timeArg: func(t time.Time) any { return t.UnixMicro() },
	// SQLite's lower() folds ASCII letters only.
	lowerForSearch: func(s string) string {
		b := []byte(s)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return string(b)
	},
	// modernc.org/sqlite reports an extended result code through a Code
	// method; other drivers say "UNIQUE constraint failed".
	isUniqueViolation: func(err error) bool {
		const constraintUnique, constraintPrimaryKey = 2067, 1555
		var e interface{ Code() int }
		if errors.As(err, &e) && (e.Code() == constraintUnique || e.Code() == constraintPrimaryKey) {
			return true
		}
		return chainHas(err, func(e error) bool {
			return strings.Contains(e.Error(), "UNIQUE constraint failed")
		})
	},
	// SQLite migrates in one transaction, so a column that exists means
	// the whole statement was applied.
	isAlreadyApplied: func(err error) bool {
		return chainHas(err, func(e error) bool { return strings.Contains(e.Error(), "duplicate column name") })
	},
	cursorArgs:       func(at any, id string) []any { return []any{at, id} },
	countWorkingArgs: func(owner string, now any) []any { return []any{owner, now, now} },
	next:             returning,
	lastUsedArgs:     func(ids []uuid.UUID, uses map[uuid.UUID]time.Time) []any { return jsonLastUsedArgs(ids, uses, false) },
	placeholder:      question,
	quote:            doubleQuote,
	nameMatch:        sqliteNameMatch,
	nameOrder:        "k.name",
	rowValues:        true,
	limits:           &sqliteLimitQueries,
	usage:            &sqliteUsageQueries,
	spendArgs:        func(cost int64, account string) []any { return []any{cost, account, cost} },
	spendRefillArgs:  questionSpendRefillArgs,
	spend:            spendReturning,
	usageHour:        func(h time.Time) any { return h.UnixMicro() },
}

// jsonLastUsedArgs encodes a batch as one JSON array:
// [["id","2006-01-02 15:04:05.000000"],...] with text times (MySQL), or
// [["id",micros],...]. IDs and times need no escaping.
func jsonLastUsedArgs(ids []uuid.UUID, uses map[uuid.UUID]time.Time, textTimes bool) []any {
	b := make([]byte, 0, len(ids)*70)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `["`...)
		b = appendUUID(b, id)
		b = append(b, `",`...)
		t := uses[id].UTC().Truncate(time.Microsecond)
		if textTimes {
			b = append(b, '"')
			b = t.AppendFormat(b, mysqlTimeLayout)
			b = append(b, '"')
		} else {
			b = strconv.AppendInt(b, t.UnixMicro(), 10)
		}
		b = append(b, ']')
	}
	b = append(b, ']')
	return []any{string(b)}
}

// sqliteNameMatch is the name search of List and ListSorted.
func sqliteNameMatch(arg string) string { return "instr(lower(k.name), " + arg + ") > 0" }

// sqliteLimitQueries are the dialect's queries of limits.go.
var sqliteLimitQueries = limitQueries{
	setLimits:     `UPDATE "{{table}}" SET limits_json = ?, updated_at = ? WHERE id = ?`,
	readLimits:    `SELECT limits_json FROM "{{table}}" WHERE id = ?`,
	readCredits:   `SELECT remaining, refilled_at FROM "{{table}}_credits" WHERE account = ?`,
	lockCredits:   `SELECT remaining, refilled_at FROM "{{table}}_credits" WHERE account = ?`, // the transaction holds the write lock
	upsertCredits: `INSERT INTO "{{table}}_credits" (account, remaining) VALUES (?, ?) ON CONFLICT (account) DO UPDATE SET remaining = excluded.remaining`,
	spend:         `UPDATE "{{table}}_credits" SET remaining = remaining - ? WHERE account = ? AND remaining >= ? RETURNING remaining`,
	spendRefill: `UPDATE "{{table}}_credits" SET ` +
		`remaining = (CASE WHEN refilled_at IS NULL OR refilled_at < ? THEN ? ELSE remaining END) - ?, ` +
		`refilled_at = CASE WHEN refilled_at IS NULL OR refilled_at < ? THEN ? ELSE refilled_at END ` +
		`WHERE account = ? AND (CASE WHEN refilled_at IS NULL OR refilled_at < ? THEN ? ELSE remaining END) >= ? ` +
		`RETURNING remaining`,
}

// sqliteUsageQueries are the dialect's queries of usage.go.
var sqliteUsageQueries = usageQueries{
	insertBatch: `INSERT OR IGNORE INTO "{{table}}_usage_batches" (id, applied_at) VALUES (?, ?)`,
	upsert: `INSERT INTO "{{table}}_usage" (key_id, hour, outcome, owner, count) ` +
		`SELECT json_extract(value, '$.k'), json_extract(value, '$.h'), json_extract(value, '$.o'), json_extract(value, '$.w'), json_extract(value, '$.n') ` +
		`FROM json_each(?) WHERE true ON CONFLICT (key_id, hour, outcome) DO UPDATE SET count = count + excluded.count`,
	readKey:   `SELECT hour, outcome, owner, count FROM "{{table}}_usage" WHERE key_id = ? AND hour >= ? AND hour < ?`,
	readOwner: `SELECT hour, outcome, SUM(count) FROM "{{table}}_usage" WHERE owner = ? AND hour >= ? AND hour < ? GROUP BY hour, outcome`,
	busiest: `SELECT key_id, SUM(CASE WHEN outcome = 'verified' THEN count ELSE 0 END), SUM(count) AS total ` +
		`FROM "{{table}}_usage" WHERE owner = ? AND hour >= ? AND hour < ? GROUP BY key_id ORDER BY total DESC, key_id LIMIT ?`,
	pruneRows:    `DELETE FROM "{{table}}_usage" WHERE rowid IN (SELECT rowid FROM "{{table}}_usage" WHERE hour < ? LIMIT ?)`,
	pruneBatches: `DELETE FROM "{{table}}_usage_batches" WHERE applied_at < ?`,
}
