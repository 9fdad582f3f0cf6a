package sqlstore

import (
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
)

// PostgreSQL: $n placeholders, RETURNING, row-value cursors, times as
// timestamptz instants, array literals for batches.

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
			postgresNameMatch)
	},
	lockChange:   `SELECT owner, name, groups_json, expires_at FROM "{{table}}" WHERE id = $1 FOR UPDATE`,
	nextPosition: `UPDATE "{{table}}_event_position" SET pos = pos + $1 WHERE id = 1 RETURNING pos`,
	readPosition: `SELECT pos FROM "{{table}}_event_position" WHERE id = 1`,
	insertEvent:  `INSERT INTO "{{table}}_events" (` + eventColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
	nextOwnerSeq: `INSERT INTO "{{table}}_event_owner_seq" AS o (owner, seq) VALUES ($1, $2) ` +
		`ON CONFLICT (owner) DO UPDATE SET seq = o.seq + EXCLUDED.seq RETURNING seq`,
	pruneEvents: `DELETE FROM "{{table}}_events" WHERE pos IN (SELECT pos FROM "{{table}}_events" WHERE occurred_at < $1 ORDER BY pos LIMIT $2)`,
	events:      func(f eventFilters) string { return eventsQuery(`"{{table}}_events"`, dollar, f) },
	createVersions: `CREATE TABLE IF NOT EXISTS "{{table}}_schema_migrations" (` +
		`version bigint NOT NULL PRIMARY KEY, applied_at timestamptz NOT NULL)`,
	selectVersions: `SELECT version FROM "{{table}}_schema_migrations"`,
	insertVersion:  `INSERT INTO "{{table}}_schema_migrations" (version, applied_at) VALUES ($1, $2)`,
}

var postgresBehaviour = behaviour{
	queries:        &postgresQueries,
	timeArg:        func(t time.Time) any { return t },
	lowerForSearch: strings.ToLower,
	// pgx and lib/pq expose SQLSTATE through a SQLState method.
	isUniqueViolation: func(err error) bool {
		var e interface{ SQLState() string }
		return errors.As(err, &e) && e.SQLState() == "23505"
	},
	// Every statement of the migrations says IF NOT EXISTS.
	isAlreadyApplied: func(error) bool { return false },
	cursorArgs:       func(at any, id string) []any { return []any{at, id} },
	countWorkingArgs: func(owner string, now any) []any { return []any{owner, now} },
	next:             returning,
	lastUsedArgs:     postgresLastUsedArgs,
	placeholder:      dollar,
	quote:            doubleQuote,
	nameMatch:        postgresNameMatch,
	nameOrder:        `k.name COLLATE "C"`,
	rowValues:        true,
	limits:           &postgresLimitQueries,
	usage:            &postgresUsageQueries,
	spendArgs:        func(cost int64, account string) []any { return []any{cost, account} },
	spendRefillArgs: func(cost int64, account string, amount int64, periodStart any) []any {
		return []any{cost, periodStart, amount, account}
	},
	spend:     spendReturning,
	usageHour: func(h time.Time) any { return h.Unix() },
}

// postgresLastUsedArgs encodes a batch as two array literals:
// '{id,...}' and '{"2006-01-02 15:04:05.000000+00",...}'. IDs and times
// need no escaping.
func postgresLastUsedArgs(ids []uuid.UUID, uses map[uuid.UUID]time.Time) []any {
	b := make([]byte, 0, len(ids)*70)
	b = append(b, '{')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendUUID(b, id)
	}
	b = append(b, '}')
	idList := string(b)
	b = append(b[:0], '{')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = uses[id].UTC().Truncate(time.Microsecond).AppendFormat(b, postgresTimeLayout)
	}
	b = append(b, '}')
	return []any{idList, string(b)}
}

// postgresNameMatch is the name search of List and ListSorted.
func postgresNameMatch(arg string) string { return "strpos(lower(k.name), " + arg + ") > 0" }

// postgresLimitQueries are the dialect's queries of limits.go.
var postgresLimitQueries = limitQueries{
	setLimits:     `UPDATE "{{table}}" SET limits_json = $1, updated_at = $2 WHERE id = $3`,
	readLimits:    `SELECT limits_json FROM "{{table}}" WHERE id = $1`,
	readCredits:   `SELECT remaining, refilled_at FROM "{{table}}_credits" WHERE account = $1`,
	lockCredits:   `SELECT remaining, refilled_at FROM "{{table}}_credits" WHERE account = $1 FOR UPDATE`,
	upsertCredits: `INSERT INTO "{{table}}_credits" (account, remaining) VALUES ($1, $2) ON CONFLICT (account) DO UPDATE SET remaining = EXCLUDED.remaining`,
	spend:         `UPDATE "{{table}}_credits" SET remaining = remaining - $1::bigint WHERE account = $2 AND remaining >= $1::bigint RETURNING remaining`,
	spendRefill: `UPDATE "{{table}}_credits" SET ` +
		`remaining = (CASE WHEN refilled_at IS NULL OR refilled_at < $2::timestamptz THEN $3::bigint ELSE remaining END) - $1::bigint, ` +
		`refilled_at = CASE WHEN refilled_at IS NULL OR refilled_at < $2::timestamptz THEN $2::timestamptz ELSE refilled_at END ` +
		`WHERE account = $4 AND (CASE WHEN refilled_at IS NULL OR refilled_at < $2::timestamptz THEN $3::bigint ELSE remaining END) >= $1::bigint ` +
		`RETURNING remaining`,
}

// postgresUsageQueries are the dialect's queries of usage.go.
var postgresUsageQueries = usageQueries{
	insertBatch: `INSERT INTO "{{table}}_usage_batches" (id, applied_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
	upsert: `INSERT INTO "{{table}}_usage" (key_id, hour, outcome, owner, count) ` +
		`SELECT r.k, to_timestamp(r.h), r.o, r.w, r.n FROM json_to_recordset($1::json) AS r(k uuid, h bigint, o text, w text, n bigint) ` +
		`ON CONFLICT (key_id, hour, outcome) DO UPDATE SET count = "{{table}}_usage".count + EXCLUDED.count`,
	readKey:   `SELECT hour, outcome, owner, count FROM "{{table}}_usage" WHERE key_id = $1 AND hour >= $2 AND hour < $3`,
	readOwner: `SELECT hour, outcome, SUM(count)::bigint FROM "{{table}}_usage" WHERE owner = $1 AND hour >= $2 AND hour < $3 GROUP BY hour, outcome`,
	busiest: `SELECT key_id, SUM(CASE WHEN outcome = 'verified' THEN count ELSE 0 END)::bigint, SUM(count)::bigint AS total ` +
		`FROM "{{table}}_usage" WHERE owner = $1 AND hour >= $2 AND hour < $3 GROUP BY key_id ORDER BY total DESC, key_id LIMIT $4`,
	pruneRows:    `DELETE FROM "{{table}}_usage" WHERE ctid IN (SELECT ctid FROM "{{table}}_usage" WHERE hour < $1 LIMIT $2)`,
	pruneBatches: `DELETE FROM "{{table}}_usage_batches" WHERE applied_at < $1`,
}
