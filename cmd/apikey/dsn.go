package main

import (
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/apikit/apikey/sqlstore"
	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// database is a parsed --dsn: how to open it, and how to name it in messages
// without giving its password away.
type database struct {
	dialect sqlstore.Dialect

	// driver and dsn are what sql.Open takes; dsn may hold a password and is
	// never printed. For MySQL, mysqlConfig is used instead.
	driver      string
	dsn         string
	mysqlConfig *mysql.Config

	// where names the server (host:port) or the SQLite file, and redacted is
	// the DSN with its password replaced by "xxxxx": both safe to print.
	where    string
	redacted string

	// secrets are the forms in which the password may appear in an error
	// message: they are scrubbed from everything the command prints.
	secrets []string

	// sqliteFile is the file a SQLite DSN names, "" if it names none (an
	// in-memory database).
	sqliteFile string
}

// dialectName is the dialect as people write it.
func (d *database) dialectName() string {
	switch d.dialect {
	case sqlstore.Postgres:
		return "PostgreSQL"
	case sqlstore.MySQL:
		return "MySQL"
	default:
		return "SQLite"
	}
}

// parseDSN works out the dialect and the driver's DSN from what the operator
// gave --dsn. Its errors never contain the DSN, which may hold a password.
func parseDSN(s string) (*database, error) {
	scheme, _, hasScheme := strings.Cut(s, "://")
	scheme = strings.ToLower(scheme)
	switch {
	case s == "":
		return nil, usageErrorf("no database: set --dsn or the environment variable APIKEY_DSN")
	case hasScheme && (scheme == "postgres" || scheme == "postgresql"):
		return parsePostgresURL(s)
	case hasScheme && scheme == "mysql":
		return parseMySQLURL(s)
	case strings.HasPrefix(strings.ToLower(s), "sqlite:"):
		return parseSQLite(s[len("sqlite:"):], true)
	case strings.HasPrefix(s, "file:"):
		return parseSQLite(s, false)
	case isMySQLDriverDSN(s):
		return parseMySQLDriverDSN(s)
	case hasScheme && !strings.ContainsAny(scheme, `/\`):
		return nil, usageErrorf("unsupported --dsn scheme %q: use postgres://, mysql://, sqlite:// or a file path", scheme)
	default:
		return parseSQLite(s, false)
	}
}

// parsePostgresURL takes a postgres:// or postgresql:// URL as pgx does.
func parsePostgresURL(s string) (*database, error) {
	u, err := parseURL(s)
	if err != nil {
		return nil, err
	}
	// pgx recognises only a lower-case scheme.
	d := &database{dialect: sqlstore.Postgres, driver: "pgx", dsn: u.Scheme + s[len(u.Scheme):]}
	q := u.Query()
	switch {
	case u.Host != "":
		d.where = u.Host
	case q.Get("host") != "":
		d.where = q.Get("host")
	default:
		d.where = "localhost"
	}
	r := *u
	if pw, ok := u.User.Password(); ok {
		d.addSecret(pw)
		r.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if pw := q.Get("password"); pw != "" {
		d.addSecret(pw)
		q.Set("password", "xxxxx")
		r.RawQuery = q.Encode()
	}
	d.redacted = r.String()
	return d, nil
}

// parseMySQLURL maps mysql://user:pass@host:port/db?params to the
// configuration of go-sql-driver/mysql, as the driver's own DSN
// user:pass@tcp(host:port)/db?params would give it.
func parseMySQLURL(s string) (*database, error) {
	u, err := parseURL(s)
	if err != nil {
		return nil, err
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "3306"
	}
	var b strings.Builder
	if u.User != nil {
		b.WriteString(u.User.Username())
		if pw, ok := u.User.Password(); ok {
			b.WriteString(":" + pw)
		}
		b.WriteString("@")
	}
	b.WriteString("tcp(" + net.JoinHostPort(host, port) + ")/")
	b.WriteString(url.PathEscape(strings.TrimPrefix(u.Path, "/")))
	if u.RawQuery != "" {
		b.WriteString("?" + u.RawQuery)
	}
	d, err := parseMySQLDriverDSN(b.String())
	if err != nil {
		return nil, err
	}
	r := *u
	if pw, ok := u.User.Password(); ok {
		d.addSecret(pw)
		r.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	d.redacted = r.String()
	return d, nil
}

// isMySQLDriverDSN reports whether s is in the form of go-sql-driver/mysql,
// [user[:password]@]tcp(host:port)/db or unix(/path)/db: no file path looks
// like that.
func isMySQLDriverDSN(s string) bool {
	for _, network := range []string{"tcp(", "tcp6(", "unix("} {
		if strings.HasPrefix(s, network) || strings.Contains(s, "@"+network) {
			return true
		}
	}
	return false
}

// parseMySQLDriverDSN takes the DSN of go-sql-driver/mysql and sets what the
// CLI needs whatever the DSN says: parseTime=true and loc=UTC (sqlstore
// exchanges times as UTC text, so these only keep the driver's own view
// consistent), and no driver logging outside the command's one-line errors.
func parseMySQLDriverDSN(s string) (*database, error) {
	cfg, err := mysql.ParseDSN(s)
	if err != nil {
		return nil, usageErrorf("--dsn is not a valid MySQL DSN: %v", err)
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.Logger = &mysql.NopLogger{}
	d := &database{dialect: sqlstore.MySQL, driver: "mysql", mysqlConfig: cfg, where: cfg.Addr}
	d.addSecret(cfg.Passwd)
	r := cfg.Clone()
	if r.Passwd != "" {
		r.Passwd = "xxxxx"
	}
	d.redacted = r.FormatDSN()
	d.dsn = cfg.FormatDSN()
	return d, nil
}

// parseSQLite takes a file path or a file: URI, or what follows "sqlite:" in
// sqlite://path (stripURLSlashes), and asks SQLite to wait for a busy
// database rather than fail at once, unless the DSN says otherwise.
func parseSQLite(s string, stripURLSlashes bool) (*database, error) {
	if stripURLSlashes {
		// sqlite://data/keys.db is the relative path data/keys.db,
		// sqlite:///var/lib/keys.db the absolute /var/lib/keys.db.
		s = strings.TrimPrefix(s, "//")
	}
	name, query, _ := strings.Cut(s, "?")
	if name == "" {
		return nil, usageErrorf("--dsn names no SQLite file")
	}
	d := &database{dialect: sqlstore.SQLite, driver: "sqlite"}
	d.sqliteFile = sqliteFile(name)
	d.where = name
	if d.sqliteFile != "" {
		d.where = d.sqliteFile
	}
	if !strings.Contains(query, "busy_timeout") && !strings.Contains(query, "_timeout=") {
		if query != "" {
			query += "&"
		}
		query += "_pragma=busy_timeout(5000)"
	}
	d.dsn = name + "?" + query
	d.redacted = s
	return d, nil
}

// sqliteFile returns the file system path of a SQLite database name (a path
// or a file: URI), or "" for an in-memory database.
func sqliteFile(name string) string {
	if name == ":memory:" || strings.HasPrefix(name, "file::memory:") {
		return ""
	}
	rest, ok := strings.CutPrefix(name, "file:")
	if !ok {
		return name
	}
	if strings.HasPrefix(rest, "//") {
		u, err := url.Parse(name)
		if err != nil {
			return rest
		}
		return u.Path
	}
	if p, err := url.PathUnescape(rest); err == nil {
		return p
	}
	return rest
}

// parseURL is url.Parse with an error that does not quote the URL: its
// password is in it.
func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, usageErrorf("--dsn is not a valid URL: %v", err)
	}
	return u, nil
}

// addSecret records a password so that it is scrubbed from messages, in the
// forms it may take there.
func (d *database) addSecret(pw string) {
	if pw == "" {
		return
	}
	for _, s := range []string{pw, url.QueryEscape(pw), url.PathEscape(pw), url.UserPassword("", pw).String()[1:]} {
		if s != "" && !containsString(d.secrets, s) {
			d.secrets = append(d.secrets, s)
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// scrub replaces every occurrence of the database's password in msg.
func (d *database) scrub(msg string) string {
	if d == nil {
		return msg
	}
	for _, s := range d.secrets {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return msg
}

// open returns a handle on the database; it does not connect yet.
func (d *database) open() (*sql.DB, error) {
	if d.mysqlConfig != nil {
		connector, err := mysql.NewConnector(d.mysqlConfig)
		if err != nil {
			return nil, fmt.Errorf("cannot use the MySQL DSN: %w", err)
		}
		return sql.OpenDB(connector), nil
	}
	db, err := sql.Open(d.driver, d.dsn)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s database at %s: %w", d.dialectName(), d.where, err)
	}
	return db, nil
}

// checkSQLiteFileExists refuses to work on a SQLite file that does not exist,
// which SQLite would otherwise create empty: a mistyped path would look like a
// database without keys. Only migrate creates the file.
func (d *database) checkSQLiteFileExists() error {
	if d.dialect != sqlstore.SQLite || d.sqliteFile == "" {
		return nil
	}
	_, err := os.Stat(d.sqliteFile)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("SQLite database %s does not exist (run 'apikey migrate' to create it)", d.sqliteFile)
	}
	return nil
}
