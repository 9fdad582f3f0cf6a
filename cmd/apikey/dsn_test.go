package main

import (
	"errors"
	"testing"
	"time"

	"github.com/apikit/apikey/sqlstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn      string
		dialect  sqlstore.Dialect
		driver   string
		where    string
		redacted string
		file     string // SQLite only
		dsnOut   string // what the driver gets; "" to skip the check
	}{
		{dsn: "postgres://app:pw@db.internal:5432/app?sslmode=disable", dialect: sqlstore.Postgres, driver: "pgx",
			where: "db.internal:5432", redacted: "postgres://app:xxxxx@db.internal:5432/app?sslmode=disable",
			dsnOut: "postgres://app:pw@db.internal:5432/app?sslmode=disable"},
		{dsn: "postgresql://db/app", dialect: sqlstore.Postgres, driver: "pgx", where: "db", redacted: "postgresql://db/app"},
		{dsn: "POSTGRES://db/app", dialect: sqlstore.Postgres, driver: "pgx", where: "db", redacted: "postgres://db/app",
			dsnOut: "postgres://db/app"},
		{dsn: "postgres:///app?host=/run/postgresql&password=pw", dialect: sqlstore.Postgres, driver: "pgx",
			where: "/run/postgresql", redacted: "postgres:///app?host=%2Frun%2Fpostgresql&password=xxxxx"},
		{dsn: "mysql://app:p%40ss@db.internal:3307/app?tls=false", dialect: sqlstore.MySQL, driver: "mysql",
			where: "db.internal:3307", redacted: "mysql://app:xxxxx@db.internal:3307/app?tls=false"},
		{dsn: "mysql://root@localhost/test", dialect: sqlstore.MySQL, driver: "mysql", where: "localhost:3306",
			redacted: "mysql://root@localhost/test"},
		{dsn: "root:pw@tcp(127.0.0.1:3306)/test", dialect: sqlstore.MySQL, driver: "mysql", where: "127.0.0.1:3306",
			redacted: "root:xxxxx@tcp(127.0.0.1:3306)/test?parseTime=true"},
		{dsn: "keys.db", dialect: sqlstore.SQLite, driver: "sqlite", where: "keys.db", file: "keys.db",
			redacted: "keys.db", dsnOut: "keys.db?_pragma=busy_timeout(5000)"},
		{dsn: "/var/lib/app/keys.db?_pragma=busy_timeout(100)", dialect: sqlstore.SQLite, driver: "sqlite",
			where: "/var/lib/app/keys.db", file: "/var/lib/app/keys.db",
			redacted: "/var/lib/app/keys.db?_pragma=busy_timeout(100)", dsnOut: "/var/lib/app/keys.db?_pragma=busy_timeout(100)"},
		{dsn: "sqlite://data/keys.db", dialect: sqlstore.SQLite, driver: "sqlite", where: "data/keys.db", file: "data/keys.db",
			redacted: "data/keys.db", dsnOut: "data/keys.db?_pragma=busy_timeout(5000)"},
		{dsn: "sqlite:///var/lib/keys.db", dialect: sqlstore.SQLite, driver: "sqlite", where: "/var/lib/keys.db",
			file: "/var/lib/keys.db", redacted: "/var/lib/keys.db"},
		{dsn: "file:keys.db?mode=ro", dialect: sqlstore.SQLite, driver: "sqlite", where: "keys.db", file: "keys.db",
			redacted: "file:keys.db?mode=ro", dsnOut: "file:keys.db?mode=ro&_pragma=busy_timeout(5000)"},
		{dsn: "file:///var/lib/keys.db", dialect: sqlstore.SQLite, driver: "sqlite", where: "/var/lib/keys.db",
			file: "/var/lib/keys.db", redacted: "file:///var/lib/keys.db"},
		{dsn: ":memory:", dialect: sqlstore.SQLite, driver: "sqlite", where: ":memory:", redacted: ":memory:"},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			d, err := parseDSN(tc.dsn)
			require.NoError(t, err)
			assert.Equal(t, tc.dialect, d.dialect)
			assert.Equal(t, tc.driver, d.driver)
			assert.Equal(t, tc.where, d.where)
			assert.Equal(t, tc.redacted, d.redacted)
			assert.Equal(t, tc.file, d.sqliteFile)
			if tc.dsnOut != "" {
				assert.Equal(t, tc.dsnOut, d.dsn)
			}
		})
	}
}

// TestParseMySQLURL checks the mapping of a mysql:// URL to the driver's
// configuration: user:pass@tcp(host:port)/db?parseTime=true&loc=UTC.
func TestParseMySQLURL(t *testing.T) {
	d, err := parseDSN("mysql://app:p%40ss%2Fw:rd@db.internal/app%20keys?timeout=3s&parseTime=false&loc=Local")
	require.NoError(t, err)
	cfg := d.mysqlConfig
	require.NotNil(t, cfg)
	assert.Equal(t, "app", cfg.User)
	assert.Equal(t, "p@ss/w:rd", cfg.Passwd)
	assert.Equal(t, "tcp", cfg.Net)
	assert.Equal(t, "db.internal:3306", cfg.Addr)
	assert.Equal(t, "app keys", cfg.DBName)
	assert.Equal(t, 3*time.Second, cfg.Timeout)
	assert.True(t, cfg.ParseTime, "parseTime is always true")
	assert.Equal(t, time.UTC, cfg.Loc, "loc is always UTC")
	assert.Contains(t, d.dsn, "parseTime=true")
	assert.NotContains(t, d.redacted, "p@ss")
	assert.NotContains(t, d.redacted, "p%40ss")
	assert.Equal(t, "see xxxxx and xxxxx", d.scrub("see p@ss/w:rd and p%40ss%2Fw%3Ard"))
}

func TestParseDSNErrors(t *testing.T) {
	for _, dsn := range []string{
		"",
		"redis://localhost:6379",
		"http://example.com/db",
		"postgres://u:secretpw@host:port/db",
		"mysql://u:secretpw@[::1/db",
		"u:secretpw@tcp(127.0.0.1:3306",
		"sqlite://",
	} {
		t.Run(dsn, func(t *testing.T) {
			_, err := parseDSN(dsn)
			require.Error(t, err)
			var ue *usageError
			assert.True(t, errors.As(err, &ue), "a usage error: %v", err)
			assert.NotContains(t, err.Error(), "secretpw")
		})
	}
}
