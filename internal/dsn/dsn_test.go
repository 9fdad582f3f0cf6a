package dsn

import (
	"errors"
	"log/slog"
	"strings"
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
			dsnOut: "postgres://app:pw@db.internal:5432/app?sslmode=disable&connect_timeout=3"},
		{dsn: "postgresql://db/app", dialect: sqlstore.Postgres, driver: "pgx", where: "db", redacted: "postgresql://db/app"},
		{dsn: "POSTGRES://db/app", dialect: sqlstore.Postgres, driver: "pgx", where: "db", redacted: "postgres://db/app",
			dsnOut: "postgres://db/app?connect_timeout=3"},
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
		// Not taken for key=value strings or user:password@host.
		{dsn: "my keys/keys.db?_pragma=busy_timeout(100)", dialect: sqlstore.SQLite, driver: "sqlite", where: "my keys/keys.db",
			file: "my keys/keys.db", redacted: "my keys/keys.db?_pragma=busy_timeout(100)"},
		{dsn: "/srv/app@blue/keys.db", dialect: sqlstore.SQLite, driver: "sqlite", where: "/srv/app@blue/keys.db",
			file: "/srv/app@blue/keys.db", redacted: "/srv/app@blue/keys.db"},
		{dsn: `C:\data\keys@home.db`, dialect: sqlstore.SQLite, driver: "sqlite", where: `C:\data\keys@home.db`,
			file: `C:\data\keys@home.db`, redacted: `C:\data\keys@home.db`},
		// Special characters in a password, percent-encoded, are accepted.
		{dsn: "postgres://app:p%2F%3F%23%40%26ss@db:5432/app?password=q%26r%3Ds", dialect: sqlstore.Postgres, driver: "pgx",
			where: "db:5432", redacted: "postgres://app:xxxxx@db:5432/app?password=xxxxx"},
		{dsn: "root:p/ss=w@tcp(127.0.0.1:3306)/test", dialect: sqlstore.MySQL, driver: "mysql", where: "127.0.0.1:3306",
			redacted: "root:xxxxx@tcp(127.0.0.1:3306)/test?parseTime=true"},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			d, err := Parse(tc.dsn)
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
	d, err := Parse("mysql://app:p%40ss%2Fw:rd@db.internal/app%20keys?timeout=3s&parseTime=false&loc=Local")
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
	assert.Equal(t, "see xxxxx and xxxxx", d.Scrub("see p@ss/w:rd and p%40ss%2Fw%3Ard"))
}

// TestParseDSNErrors checks that a DSN the command refuses gives a usage
// error that quotes no part of its password: these errors are printed before
// the password is known, so nothing scrubs them.
func TestParseDSNErrors(t *testing.T) {
	for _, tc := range []struct {
		dsn     string
		secrets []string
	}{
		{dsn: ""},
		{dsn: "redis://localhost:6379"},
		{dsn: "http://example.com/db"},
		{dsn: "postgres://u:secretpw@host:port/db", secrets: []string{"secretpw"}},
		{dsn: "mysql://u:secretpw@[::1/db", secrets: []string{"secretpw"}},
		{dsn: "u:secretpw@tcp(127.0.0.1:3306", secrets: []string{"secretpw"}},
		{dsn: "u:secretpw@tcp(127.0.0.1:3306)/db?parseTime=secretpw", secrets: []string{"secretpw"}},
		{dsn: "sqlite://"},
		{dsn: "postgres://postgres:s3cr/etPW@127.0.0.1:5432/test", secrets: []string{"s3cr", "etPW"}},
		{dsn: "mysql://root:pa/ssWORD@127.0.0.1:3306/test", secrets: []string{`":pa"`, "ssWORD"}},
		{dsn: "postgres://u:pa?ssWORD@host/db", secrets: []string{`":pa"`, "ssWORD"}},
		{dsn: "postgres://u:pa#ssWORD@host/db", secrets: []string{`":pa"`, "ssWORD"}},
		{dsn: "postgres://u:pa%zzWORD@host/db", secrets: []string{"%zz", "WORD"}},
		{dsn: "postgres://u:pa ssWORD@host/db", secrets: []string{"ssWORD"}},
		{dsn: "postgres://u:98/76ssWORD@host/db", secrets: []string{":98", "76ssWORD"}},
		{dsn: "postgres://u:98?76ssWORD@host/db", secrets: []string{":98", "76ssWORD"}},
		{dsn: "postgres://u:98#76ssWORD@host/db", secrets: []string{":98", "76ssWORD"}},
		{dsn: "mysql://u:98/76ssWORD@host/db", secrets: []string{":98", "76ssWORD"}},
		{dsn: "postgres://u:pa@ssWORD@host/db", secrets: []string{"ssWORD"}},
		{dsn: "postgres://u@host/db?password=pa&ssWORD", secrets: []string{"ssWORD"}},
		{dsn: "postgres://u@host/db?password=pa%zzWORD", secrets: []string{"%zz", "WORD"}},
		{dsn: "host=127.0.0.1 user=postgres password=TopSecret dbname=test", secrets: []string{"TopSecret"}},
		{dsn: "password=TopSecret", secrets: []string{"TopSecret"}},
		{dsn: "user = postgres  password = TopSecret", secrets: []string{"TopSecret"}},
		{dsn: "dbname=test password=Top/Secret", secrets: []string{"Top", "Secret"}},
		{dsn: "host=db password=tops3cr://et42", secrets: []string{"tops3cr", "et42"}},
		{dsn: "sqlite:host=db password=TopSecret", secrets: []string{"TopSecret"}},
		{dsn: "file:host=db%20password=TopSecret", secrets: []string{"TopSecret"}},
		{dsn: "./keys dbname=x", secrets: []string{"dbname"}},
		{dsn: "u:secretpw@db.internal:5432/app", secrets: []string{"secretpw"}},
		{dsn: "u:secretpw@/app", secrets: []string{"secretpw"}},
		{dsn: "postgres:/u:secretpw@db/app", secrets: []string{"secretpw"}},
		{dsn: "mysql:u:secretpw@db/app", secrets: []string{"secretpw"}},
		{dsn: "u secretpw://db", secrets: []string{"secretpw"}},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			_, err := Parse(tc.dsn)
			require.Error(t, err)
			var ue *Error
			assert.True(t, errors.As(err, &ue), "a usage error: %v", err)
			for _, secret := range tc.secrets {
				assert.NotContains(t, err.Error(), secret)
			}
		})
	}
}

// TestScrubPasswordForms checks that a password is scrubbed in every form a
// message may hold it: as decoded, as written in the DSN (whatever the case
// of its percent-encoding), and as net/url or pgx would write it again.
func TestScrubPasswordForms(t *testing.T) {
	for _, tc := range []struct {
		dsn   string
		forms []string
	}{
		{dsn: "postgres://u:p%2fs%40s@db/app", forms: []string{"p/s@s", "p%2fs%40s", "p%2Fs%40s"}},
		{dsn: "postgres://u@db/app?sslmode=disable&password=q%2fw+x",
			forms: []string{"q/w+x", "q/w x", "q%2fw+x", "q%2Fw%2Bx", "q%2Fw+x"}},
		{dsn: "postgres://u@db/app?sslpassword=k%2Fy", forms: []string{"k/y", "k%2Fy"}},
		{dsn: "mysql://u:p%2fss@db/app", forms: []string{"p/ss", "p%2fss", "p%2Fss"}},
		{dsn: "u:p/ss@tcp(db:3306)/app", forms: []string{"p/ss", "p%2Fss"}},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			d, err := Parse(tc.dsn)
			require.NoError(t, err)
			for _, form := range tc.forms {
				assert.Equal(t, "<xxxxx>", d.Scrub("<"+form+">"), "form %q", form)
			}
		})
	}
}

// TestScrubbedWriter checks the writer through which the library logs.
func TestScrubbedWriter(t *testing.T) {
	d, err := Parse("postgres://u:s3cret@db/app")
	require.NoError(t, err)
	var b strings.Builder
	slog.New(slog.NewTextHandler(d.ScrubbingWriter(&b), nil)).Error("flush failed", "error", "auth s3cret rejected")
	assert.NotContains(t, b.String(), "s3cret")
	assert.Contains(t, b.String(), "auth xxxxx rejected")
}

// TestOpenSetsThePool checks the pool settings Open applies: bounded, with
// as many idle connections as open ones, one for an in-memory SQLite.
func TestOpenSetsThePool(t *testing.T) {
	for dsn, want := range map[string]int{
		"postgres://u:pw@127.0.0.1:1/app": MaxOpenConns,
		"mysql://u:pw@127.0.0.1:1/app":    MaxOpenConns,
		t.TempDir() + "/keys.db":          MaxOpenConns,
		"file::memory:":                   1,
	} {
		d, err := Parse(dsn)
		require.NoError(t, err, dsn)
		db, err := d.Open()
		require.NoError(t, err, dsn)
		assert.Equal(t, want, db.Stats().MaxOpenConnections, dsn)
		require.NoError(t, db.Close())
	}
}
