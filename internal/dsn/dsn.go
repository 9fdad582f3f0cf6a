// Package dsn turns the DSN an operator gives the apikey command or the
// example server into an open *sql.DB and the sqlstore dialect, and names
// the database in messages without ever giving its password away.
//
// A PostgreSQL or MySQL DSN that names no timeouts gets the setup that
// lets the pool recover after a failover (see "Shared database" in package
// sqlstore): connect_timeout=3 for pgx; timeout=3s, bounding the whole
// connection attempt, and readTimeout=30s and writeTimeout=30s for MySQL.
// A timeout the DSN names, 0 included, is kept.
//
// It is internal and has a module of its own, because it imports the SQL
// drivers: the library modules must not.
package dsn

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/apikit/apikey/sqlstore"
	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Database is a parsed DSN: how to open it, and how to name it in messages
// without giving its password away.
type Database struct {
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

	// connectTimeout bounds a connection attempt; 0 if unknown or none.
	connectTimeout time.Duration

	// sqliteFile is the file a SQLite DSN names, "" if it names none (an
	// in-memory database).
	sqliteFile string
}

// DialectName is the dialect as people write it.
func (d *Database) DialectName() string {
	switch d.dialect {
	case sqlstore.Postgres:
		return "PostgreSQL"
	case sqlstore.MySQL:
		return "MySQL"
	default:
		return "SQLite"
	}
}

// Parse works out the dialect and the driver's DSN from what the operator
// gave --dsn. Its errors never contain any part of the DSN, which may hold a
// password: they are printed before the password is known, so that nothing
// could scrub it.
func Parse(s string) (*Database, error) {
	scheme, _, hasScheme := strings.Cut(s, "://")
	scheme = strings.ToLower(scheme)
	switch {
	case s == "":
		return nil, errorf("no database: set --dsn or the environment variable APIKEY_DSN")
	case hasScheme && (scheme == "postgres" || scheme == "postgresql"):
		return parsePostgresURL(s)
	case hasScheme && scheme == "mysql":
		return parseMySQLURL(s)
	case isMySQLDriverDSN(s):
		return parseMySQLDriverDSN(s)
	case isKeywordDSN(s):
		// Taken for a SQLite path, it would be echoed in messages, password
		// and all, and migrate would create a file of that name.
		return nil, errorf("--dsn looks like a key=value connection string, which the command does not take: " +
			"for PostgreSQL, give a postgres:// URL such as postgres://user:pass@host:5432/db")
	case strings.HasPrefix(strings.ToLower(s), "sqlite:"):
		return parseSQLite(s[len("sqlite:"):], true)
	case strings.HasPrefix(s, "file:"):
		return parseSQLite(s, false)
	case hasScheme && isURLScheme(scheme):
		return nil, errorf("unsupported --dsn scheme %q: use postgres://, mysql://, sqlite:// or a file path", scheme)
	case hasScheme && !strings.ContainsAny(scheme, `/\`):
		return nil, errorf("--dsn has an invalid URL scheme: use postgres://, mysql://, sqlite:// or a file path")
	case looksLikeServerDSN(s):
		return nil, errorf("--dsn looks like user:password@host without a URL scheme: " +
			"use postgres://user:pass@host:5432/db, mysql://user:pass@host:3306/db or user:pass@tcp(host:3306)/db")
	default:
		return parseSQLite(s, false)
	}
}

// isURLScheme reports whether s has the syntax of a URL scheme (RFC 3986:
// a letter, then letters, digits, "+", "-" or "."), which cannot hold a
// password and so may be quoted in a message.
func isURLScheme(s string) bool {
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// isKeywordDSN reports whether s looks like a libpq key=value connection
// string (host=db user=app password=secret dbname=app): an "=" before the
// first "/" or "?", a password=, or a key= after a blank. SQLite paths have
// none of these, and their query parameters come after the "?".
func isKeywordDSN(s string) bool {
	head := s
	if i := strings.IndexAny(s, "/?"); i >= 0 {
		head = s[:i]
	}
	return strings.Contains(head, "=") ||
		strings.Contains(strings.ToLower(s), "password=") ||
		keywordAfterBlank.MatchString(s)
}

var keywordAfterBlank = regexp.MustCompile(`\s[A-Za-z_][A-Za-z0-9_]*\s*=`)

// looksLikeServerDSN reports whether s, which is neither a URL nor a
// go-sql-driver/mysql DSN, still has the shape of one: postgres:/... or
// mysql:... without "//", or user:password@... without a scheme. Taken for a
// SQLite path, it would be echoed in messages with its password.
func looksLikeServerDSN(s string) bool {
	lower := strings.ToLower(s)
	for _, scheme := range []string{"postgres:", "postgresql:", "mysql:"} {
		if strings.HasPrefix(lower, scheme) {
			return true
		}
	}
	at := strings.LastIndex(s, "@")
	if at < 0 {
		return false
	}
	userinfo := s[:at]
	if len(userinfo) >= 3 && userinfo[1] == ':' && (userinfo[2] == '\\' || userinfo[2] == '/') {
		userinfo = userinfo[2:] // a Windows drive, C:\ or C:/
	}
	return strings.Contains(userinfo, ":")
}

// parsePostgresURL takes a postgres:// or postgresql:// URL as pgx does.
func parsePostgresURL(s string) (*Database, error) {
	u, err := parseURL(s)
	if err != nil {
		return nil, err
	}
	if auth, _ := splitAuthority(s); strings.Count(auth, "@") > 1 {
		// pgx, like libpq, ends the user information at the first "@",
		// net/url at the last: they would disagree on the host, and pgx
		// would print the rest of the password as a host name.
		return nil, errorf("--dsn is not a valid URL: it has more than one '@' before the host " +
			"(percent-encode an '@' in the password as %%40)")
	}
	if err := checkPostgresQuery(u.RawQuery); err != nil {
		return nil, err
	}
	// pgx recognises only a lower-case scheme.
	d := &Database{dialect: sqlstore.Postgres, driver: "pgx", dsn: u.Scheme + s[len(u.Scheme):]}
	q := u.Query()
	d.addPostgresTimeouts(q)
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
		d.addSecret(rawPassword(s))
		r.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	for _, pair := range strings.Split(u.RawQuery, "&") {
		rawKey, raw, _ := strings.Cut(pair, "=")
		key, _ := url.QueryUnescape(rawKey)
		if key != "password" && key != "sslpassword" {
			continue
		}
		// pgx decodes as a path does ("+" stays "+"), net/url's query
		// functions as a form does ("+" is a blank): scrub every reading.
		d.addSecret(raw)
		if v, err := url.PathUnescape(raw); err == nil {
			d.addSecret(v)
		}
		if v, err := url.QueryUnescape(raw); err == nil {
			d.addSecret(v)
		}
		q.Set(key, "xxxxx")
		r.RawQuery = q.Encode()
	}
	d.redacted = r.String()
	return d, nil
}

// checkPostgresQuery refuses a query string that pgx would quote in its
// error, or that net/url would read otherwise than pgx: a parameter without
// "=" (pgx quotes it: from "password=pa&ss" it would print "ss"), or a bad
// percent-encoding.
func checkPostgresQuery(rawQuery string) error {
	if rawQuery == "" {
		return nil
	}
	for _, pair := range strings.Split(rawQuery, "&") {
		if !strings.Contains(pair, "=") {
			return errorf("--dsn is not a valid URL: a query parameter has no '=' " +
				"(percent-encode '&' in a password as %%26, '=' as %%3D)")
		}
	}
	if _, err := url.ParseQuery(rawQuery); err != nil {
		return errorf("--dsn is not a valid URL: its query string is malformed " +
			"(percent-encode '%%' in a password as %%25, '&' as %%26, ';' as %%3B)")
	}
	return nil
}

// parseMySQLURL maps mysql://user:pass@host:port/db?params to the
// configuration of go-sql-driver/mysql, as the driver's own DSN
// user:pass@tcp(host:port)/db?params would give it.
func parseMySQLURL(s string) (*Database, error) {
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
		d.addSecret(rawPassword(s))
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
// consistent), and no driver logging outside the command's one-line errors;
// and the timeouts it does not name (see addMySQLTimeouts), which the
// redacted form leaves out.
func parseMySQLDriverDSN(s string) (*Database, error) {
	cfg, err := mysql.ParseDSN(s)
	if err != nil {
		// Some of the driver's errors quote a parameter or the database
		// name; scrub what reads as the password, in case it strayed there.
		d := &Database{}
		if at := strings.LastIndex(s, "@"); at >= 0 {
			if _, pw, ok := strings.Cut(s[:at], ":"); ok {
				d.addSecret(pw)
			}
		}
		return nil, errorf("--dsn is not a valid MySQL DSN: %s", d.Scrub(err.Error()))
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.Logger = &mysql.NopLogger{}
	d := &Database{dialect: sqlstore.MySQL, driver: "mysql", mysqlConfig: cfg, where: cfg.Addr}
	d.addSecret(cfg.Passwd)
	r := cfg.Clone()
	if r.Passwd != "" {
		r.Passwd = "xxxxx"
	}
	d.redacted = r.FormatDSN()
	addMySQLTimeouts(s, cfg)
	d.connectTimeout = cfg.Timeout
	d.dsn = cfg.FormatDSN()
	return d, nil
}

// parseSQLite takes a file path or a file: URI, or what follows "sqlite:" in
// sqlite://path (stripURLSlashes), and asks SQLite to wait for a busy
// database rather than fail at once, unless the DSN says otherwise.
func parseSQLite(s string, stripURLSlashes bool) (*Database, error) {
	if stripURLSlashes {
		// sqlite://data/keys.db is the relative path data/keys.db,
		// sqlite:///var/lib/keys.db the absolute /var/lib/keys.db.
		s = strings.TrimPrefix(s, "//")
	}
	name, query, _ := strings.Cut(s, "?")
	if name == "" {
		return nil, errorf("--dsn names no SQLite file")
	}
	d := &Database{dialect: sqlstore.SQLite, driver: "sqlite"}
	d.sqliteFile = sqliteFile(name)
	if strings.Contains(d.sqliteFile, "=") || keywordAfterBlank.MatchString(d.sqliteFile) {
		// Whatever isKeywordDSN let through, a file is not created, nor its
		// name printed, if it looks like settings.
		return nil, errorf("--dsn names a SQLite file with '=' in its path, which looks like a key=value " +
			"connection string: for PostgreSQL, give a postgres:// URL such as postgres://user:pass@host:5432/db")
	}
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

// parseURL is url.Parse with errors that quote no part of the URL. net/url's
// own quote the password when it holds a "/", "?" or "#": the URL's
// authority ends there, and what precedes it is taken for a port (invalid
// port ":s3cr" after host). Some such URLs even parse, with the rest of the
// password in the path, query or fragment, which parseURL refuses too.
func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		var escErr url.EscapeError
		if errors.As(err, &escErr) {
			return nil, errorf("--dsn is not a valid URL: a '%%' is not followed by two hexadecimal digits " +
				"(percent-encode '%%' in a password as %%25)")
		}
		return nil, errorf("--dsn is not a valid URL (check that special characters in the password are percent-encoded)")
	}
	if _, rest := splitAuthority(s); strings.Contains(rest, "@") {
		// postgres://app:12/34@db/app parses as host app:12, path /34@db/app.
		return nil, errorf("--dsn is not a valid URL: it has an '@' after the host " +
			"(percent-encode '/' in a password as %%2F, '?' as %%3F, '#' as %%23, '@' as %%40)")
	}
	if strings.Contains(s, "#") {
		// A DSN has no fragment: this one is likely the end of a password.
		return nil, errorf("--dsn is not a valid URL: it has a '#' (percent-encode '#' in a password as %%23)")
	}
	return u, nil
}

// splitAuthority splits URL s, as written, into its authority
// ([userinfo@]host[:port], what follows "://" up to the first "/", "?" or
// "#") and the rest (path, query and fragment).
func splitAuthority(s string) (authority, rest string) {
	_, after, _ := strings.Cut(s, "://")
	if i := strings.IndexAny(after, "/?#"); i >= 0 {
		return after[:i], after[i:]
	}
	return after, ""
}

// rawPassword returns the password of URL s as written, percent-encoding
// and all (p%2fss), "" if it has none.
func rawPassword(s string) string {
	a, _ := splitAuthority(s)
	at := strings.LastIndex(a, "@")
	if at < 0 {
		return ""
	}
	_, pw, _ := strings.Cut(a[:at], ":")
	return pw
}

// addSecret records a password so that it is scrubbed from messages, in the
// forms it may take there.
func (d *Database) addSecret(pw string) {
	if pw == "" {
		return
	}
	for _, s := range []string{pw, url.QueryEscape(pw), url.PathEscape(pw), url.UserPassword("", pw).String()[1:]} {
		if s != "" && !slices.Contains(d.secrets, s) {
			d.secrets = append(d.secrets, s)
		}
	}
	// Longest first, so that no form is left half-scrubbed by a shorter
	// one it contains.
	slices.SortStableFunc(d.secrets, func(a, b string) int { return len(b) - len(a) })
}

// Scrub replaces every occurrence of the database's password in msg.
func (d *Database) Scrub(msg string) string {
	if d == nil {
		return msg
	}
	for _, s := range d.secrets {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return msg
}

// ScrubbingWriter returns a writer that writes to w with d's password
// scrubbed: the library logs driver errors through it. slog writes a record
// with one Write, so a password is never split across two.
func (d *Database) ScrubbingWriter(w io.Writer) io.Writer {
	return scrubbedWriter{w: w, d: d}
}

// Dialect is the sqlstore dialect of the database.
func (d *Database) Dialect() sqlstore.Dialect { return d.dialect }

// Where names the server (host:port) or the SQLite file: safe to print.
func (d *Database) Where() string { return d.where }

// Redacted is the DSN with its password replaced by "xxxxx": safe to print.
func (d *Database) Redacted() string { return d.redacted }

// Error is the error Parse returns: the DSN cannot be used as written. Its
// text never contains any part of the DSN that could be a password.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

func errorf(format string, args ...any) error {
	return &Error{msg: fmt.Sprintf(format, args...)}
}

type scrubbedWriter struct {
	w io.Writer
	d *Database
}

func (s scrubbedWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(s.w, s.d.Scrub(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// MaxOpenConns is the size of the pool Open sets with
// sqlstore.ConfigurePool: database/sql keeps only 2 idle connections by
// default, so a service under concurrent load opens and closes connections
// all the time; a bounded pool also keeps one service from taking all of a
// shared server's max_connections.
const MaxOpenConns = sqlstore.DefaultPoolSize

// Open returns a handle on the database with sqlstore.ConfigurePool's pool,
// every connection attempt bounded by the DSN's connect timeout
// (ConnectTimeout unless it names one); it does not connect yet. An
// in-memory SQLite database gets one connection, since each connection
// would otherwise see a database of its own.
func (d *Database) Open() (*sql.DB, error) {
	db, err := d.open()
	if err != nil {
		return nil, err
	}
	sqlstore.ConfigurePool(db, MaxOpenConns)
	if d.dialect == sqlstore.SQLite && d.sqliteFile == "" {
		db.SetMaxOpenConns(1)
	}
	return db, nil
}

func (d *Database) open() (*sql.DB, error) {
	if d.mysqlConfig != nil {
		connector, err := mysql.NewConnector(d.mysqlConfig)
		if err != nil {
			return nil, fmt.Errorf("cannot use the MySQL DSN: %w", err)
		}
		if t := d.mysqlConfig.Timeout; t > 0 {
			connector = boundedConnector{Connector: connector, timeout: t}
		}
		return sql.OpenDB(connector), nil
	}
	db, err := sql.Open(d.driver, d.dsn)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s database at %s: %w", d.DialectName(), d.where, err)
	}
	return db, nil
}

// CheckSQLiteFileExists refuses to work on a SQLite file that does not exist,
// which SQLite would otherwise create empty: a mistyped path would look like a
// database without keys. Only migrate creates the file.
func (d *Database) CheckSQLiteFileExists() error {
	if d.dialect != sqlstore.SQLite || d.sqliteFile == "" {
		return nil
	}
	_, err := os.Stat(d.sqliteFile)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("SQLite database %s does not exist (run 'apikey migrate' to create it)", d.sqliteFile)
	}
	return nil
}
