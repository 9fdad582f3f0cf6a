package sqlstore

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// nullUUIDArg is the column value of an optional key ID: NULL for uuid.Nil.
func nullUUIDArg(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return id.String()
}

// mysqlTimeLayout is how times are written to and read from MySQL DATETIME(6)
// columns: as UTC wall-clock text, so that neither the driver's parseTime
// nor its loc setting can shift them.
const mysqlTimeLayout = "2006-01-02 15:04:05.000000"

// postgresTimeLayout is a timestamptz element of an array literal.
const postgresTimeLayout = `"2006-01-02 15:04:05.000000+00"`

// timeArg converts t to the dialect's column representation, in UTC,
// truncated to microseconds (the precision of every dialect; PostgreSQL
// would round rather than truncate).
func (d Dialect) timeArg(t time.Time) any {
	return d.b().timeArg(t.UTC().Truncate(time.Microsecond))
}

// nullTimeArg is timeArg for a nullable column.
func (d Dialect) nullTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return d.timeArg(*t)
}

// timeColumn scans a time column of any dialect into a UTC time.Time:
// a time.Time from PostgreSQL drivers (an instant), a time.Time from MySQL
// drivers with parseTime=true (wall-clock digits in the driver's loc, which
// are UTC whatever loc says), DATETIME text from MySQL drivers without
// parseTime, and INTEGER microseconds from SQLite.
type timeColumn struct {
	dst   *time.Time
	valid bool // false if the column was NULL
	wall  bool // the dialect stores UTC wall-clock digits (MySQL)
}

// Scan implements sql.Scanner.
func (c *timeColumn) Scan(src any) error {
	c.valid = src != nil
	switch v := src.(type) {
	case nil:
		return nil
	case time.Time:
		if c.wall {
			y, mo, d := v.Date()
			h, mi, s := v.Clock()
			*c.dst = time.Date(y, mo, d, h, mi, s, v.Nanosecond(), time.UTC)
		} else {
			*c.dst = v.UTC()
		}
		return nil
	case int64:
		*c.dst = time.UnixMicro(v).UTC()
		return nil
	case []byte:
		return c.parse(string(v))
	case string:
		return c.parse(v)
	default:
		return fmt.Errorf("sqlstore: cannot read a time from %T", src)
	}
}

func (c *timeColumn) parse(s string) error {
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999999", s, time.UTC)
	if err != nil {
		return fmt.Errorf("sqlstore: cannot read a time from %q: %w", s, err)
	}
	*c.dst = t
	return nil
}

// encodeGroups returns groups as the JSON array stored in groups_json,
// without HTML escaping so that the column reads as what was stored. A nil
// slice is stored as "null" and an empty one as "[]", so that a key reads
// back exactly as it was written.
func encodeGroups(groups []string) (string, error) {
	if groups == nil {
		return "null", nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(groups); err != nil {
		return "", fmt.Errorf("sqlstore: encode groups: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// encodeGroupSet returns the distinct groups of groups as a JSON array, the
// rows of the groups table. It is "[]" for no groups.
func encodeGroupSet(groups []string) (string, error) {
	set := make([]string, 0, len(groups))
	seen := make(map[string]struct{}, len(groups))
	for _, g := range groups {
		if _, ok := seen[g]; !ok {
			seen[g] = struct{}{}
			set = append(set, g)
		}
	}
	return encodeGroups(set)
}

// decodeGroups parses groups_json. The arrays this package writes hold
// groups without escapes, such as ["admin","billing:read"]; those are split
// in place, the groups sharing s's memory and storage's array, so that
// reading a key costs no allocation for its groups. Anything else goes
// through encoding/json.
func decodeGroups(s string, storage []string) ([]string, error) {
	if s == "null" {
		return nil, nil
	}
	if groups, ok := splitSimpleArray(s, storage); ok {
		return groups, nil
	}
	var groups []string
	if err := json.Unmarshal([]byte(s), &groups); err != nil {
		return nil, fmt.Errorf("sqlstore: read groups %q: %w", s, err)
	}
	if groups == nil {
		groups = []string{}
	}
	return groups, nil
}

// splitSimpleArray splits a JSON array of strings without escapes or white
// space. ok is false for any other input.
func splitSimpleArray(s string, storage []string) (groups []string, ok bool) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, false
	}
	groups = storage[:0]
	rest := s[1 : len(s)-1]
	if rest == "" {
		return groups[:0:0], true
	}
	for {
		if len(rest) < 2 || rest[0] != '"' {
			return nil, false
		}
		end := strings.IndexByte(rest[1:], '"')
		if end < 0 {
			return nil, false
		}
		g := rest[1 : 1+end]
		for i := 0; i < len(g); i++ {
			if g[i] == '\\' || g[i] < 0x20 {
				return nil, false
			}
		}
		groups = append(groups, g)
		rest = rest[end+2:]
		if rest == "" {
			return groups[:len(groups):len(groups)], true
		}
		if rest[0] != ',' {
			return nil, false
		}
		rest = rest[1:]
	}
}

// keyRow holds a key and everything scanning it needs, so that reading a key
// costs one allocation for the key, its times, up to four groups (the shape
// of apikey.Key.Clone) and the Scan destinations.
type keyRow struct {
	key                            apikey.Key
	groupsJSON                     string
	groups                         [4]string
	created, updated, used, expiry timeColumn
	rolled, grace                  timeColumn
	lastUsedAt, expiresAt          time.Time
	rolledAt, graceEndsAt          time.Time
	rolledFrom, rolledTo           uuid.NullUUID
	metadata, limits               sql.NullString
	dest                           [19]any
}

// newKeyRow returns a keyRow whose dest receives one row of columns.
func (d Dialect) newKeyRow() *keyRow {
	row := new(keyRow)
	k := &row.key
	wall := d.b().wallTimes
	row.created = timeColumn{dst: &k.CreatedAt, wall: wall}
	row.updated = timeColumn{dst: &k.UpdatedAt, wall: wall}
	row.used = timeColumn{dst: &row.lastUsedAt, wall: wall}
	row.expiry = timeColumn{dst: &row.expiresAt, wall: wall}
	row.rolled = timeColumn{dst: &row.rolledAt, wall: wall}
	row.grace = timeColumn{dst: &row.graceEndsAt, wall: wall}
	row.dest = [19]any{&k.ID, &k.LookupID, &k.Name, &row.groupsJSON, &k.Active, &k.Preview, &k.Hash,
		&row.created, &k.CreatedBy, &row.updated, &row.used, &row.expiry, &k.Owner, &row.metadata,
		&row.rolledFrom, &row.rolledTo, &row.rolled, &row.grace, &row.limits}
	return row
}

// finish completes the key once its row has been scanned into dest.
func (row *keyRow) finish() (*apikey.Key, error) {
	k := &row.key
	var err error
	if k.Groups, err = decodeGroups(row.groupsJSON, row.groups[:]); err != nil {
		return nil, err
	}
	if row.used.valid {
		k.LastUsedAt = &row.lastUsedAt
	}
	if row.expiry.valid {
		k.ExpiresAt = &row.expiresAt
	}
	if row.rolled.valid {
		k.RolledAt = &row.rolledAt
	}
	if row.grace.valid {
		k.GraceEndsAt = &row.graceEndsAt
	}
	if row.rolledFrom.Valid {
		k.RolledFrom = row.rolledFrom.UUID
	}
	if row.rolledTo.Valid {
		k.RolledTo = row.rolledTo.UUID
	}
	if row.metadata.Valid {
		if err := json.Unmarshal([]byte(row.metadata.String), &k.Metadata); err != nil {
			return nil, fmt.Errorf("sqlstore: read metadata: %w", err)
		}
	}
	if row.limits.Valid {
		if err := json.Unmarshal([]byte(row.limits.String), &k.Limits); err != nil {
			return nil, fmt.Errorf("sqlstore: read limits: %w", err)
		}
	}
	return k, nil
}

// encodeMetadata returns a key's metadata as the JSON object the
// metadata_json column holds, or NULL for none.
func encodeMetadata(md map[string]string) (any, error) {
	if len(md) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(md); err != nil {
		return nil, fmt.Errorf("sqlstore: encode metadata: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// encodedKey is what the INSERT of a key needs beyond its plain fields: its
// groups as stored in its row and in the groups table, and its metadata.
type encodedKey struct {
	groupsJSON, groupSet string
	metadata             any
	limits               any // limits_json: NULL for none
}

// encodeKey encodes the groups and metadata of k, before any statement runs,
// so that a key that cannot be stored costs no transaction.
func encodeKey(k *apikey.Key) (encodedKey, error) {
	var e encodedKey
	var err error
	if e.metadata, err = encodeMetadata(k.Metadata); err != nil {
		return e, err
	}
	if e.limits, err = encodeLimits(k.Limits); err != nil {
		return e, err
	}
	if e.groupsJSON, err = encodeGroups(k.Groups); err != nil {
		return e, err
	}
	e.groupSet, err = encodeGroupSet(k.Groups)
	return e, err
}
