package sqlstore

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestListQueries(t *testing.T) {
	s, err := New(nil, Postgres)
	require.Error(t, err, "nil db")
	assert.Nil(t, s)

	pg := postgresQueries.list(true, true, true, false, true)
	assert.Equal(t, "SELECT "+qualifiedColumns+` FROM "{{table}}_groups" AS g JOIN "{{table}}" AS k ON k.id = g.key_id `+
		`WHERE g.owner = $1 AND g.active = $2 AND g.group_name = $3 AND `+
		`(g.created_at, g.key_id) > ($4, $5) ORDER BY g.created_at, g.key_id LIMIT $6`, pg)
	assert.Equal(t, "SELECT "+qualifiedColumns+` FROM "{{table}}" AS k ORDER BY k.created_at, k.id LIMIT $1`,
		postgresQueries.list(false, false, false, false, false))
	my := mysqlQueries.list(false, false, false, false, true)
	assert.Equal(t, "SELECT "+qualifiedColumns+" FROM `{{table}}` AS k WHERE "+
		"(k.created_at > ? OR (k.created_at = ? AND k.id > ?)) ORDER BY k.created_at, k.id LIMIT ?", my)
	for _, q := range []string{pg, my, sqliteQueries.list(true, true, true, true, true), mysqlQueries.list(true, true, true, true, true), postgresQueries.list(true, true, true, true, true)} {
		assert.NotContains(t, strings.ToUpper(q), "LIKE", "the group filter is exact")
	}
}

// sqlStateError is a PostgreSQL driver's error (pgconn.PgError, pq.Error).
type sqlStateError string

func (e sqlStateError) Error() string    { return "ERROR: something (SQLSTATE " + string(e) + ")" }
func (e sqlStateError) SQLState() string { return string(e) }

// codeError is modernc.org/sqlite's error.
type codeError int

func (e codeError) Error() string { return "sqlite error" }
func (e codeError) Code() int     { return int(e) }

func TestIsUniqueViolation(t *testing.T) {
	for _, c := range []struct {
		dialect Dialect
		err     error
		want    bool
	}{
		{Postgres, sqlStateError("23505"), true},
		{Postgres, fmt.Errorf("wrapped: %w", sqlStateError("23505")), true},
		{Postgres, sqlStateError("23503"), false},
		{Postgres, errors.New("duplicate key value violates unique constraint"), false},
		{MySQL, errors.New("Error 1062 (23000): Duplicate entry 'x' for key 'PRIMARY'"), true},
		{MySQL, fmt.Errorf("wrapped: %w", errors.New("Error 1062: Duplicate entry")), true},
		{MySQL, errors.New("Error 10620 (HY000): something else"), false},
		{MySQL, errors.New("Error 1452 (23000): Cannot add or update a child row"), false},
		{SQLite, codeError(2067), true},
		{SQLite, codeError(1555), true},
		{SQLite, codeError(787), false},                                           // SQLITE_CONSTRAINT_FOREIGNKEY
		{SQLite, errors.New("UNIQUE constraint failed: apikeys.lookup_id"), true}, // mattn/go-sqlite3
		{SQLite, errors.New("database is locked"), false},
	} {
		assert.Equal(t, c.want, c.dialect.isUniqueViolation(c.err), "%s: %v", c.dialect, c.err)
	}
	assert.True(t, isBusy(codeError(5)))
	assert.True(t, isBusy(codeError(5|2<<8)), "SQLITE_BUSY_SNAPSHOT")
	assert.True(t, isBusy(errors.New("database is locked")))
	assert.False(t, isBusy(codeError(2067)))
}
