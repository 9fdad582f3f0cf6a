package dsn

import (
	"context"
	"database/sql/driver"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// The timeouts a DSN gets when it names none. database/sql opens
// connections in the background with a context that never ends, and
// neither driver bounds a connection attempt by default: after a failover
// behind one address, attempts stuck on the hung server would hold every
// slot of the pool forever, and no request would get a connection again.
const (
	// ConnectTimeout bounds a whole connection attempt (dial, TLS,
	// handshake, authentication): pgx's connect_timeout, and MySQL's
	// timeout, which the driver applies to the dial only and Open applies
	// to the whole attempt. It is the Manager's verification deadline, so
	// that an attempt on a dead server lasts no longer than the request
	// that started it would wait.
	ConnectTimeout = 3 * time.Second

	// MySQLIOTimeout is MySQL's readTimeout and writeTimeout: the bound on
	// one read or write of a call whose context has no deadline (a command
	// of the CLI, a request of the admin API, Migrate). The verification
	// path does not depend on it (the Manager's deadline ends its calls, and
	// the driver then closes the connection); it must exceed the longest
	// legitimate wait for one packet, such as Migrate waiting for another
	// process's migration or building an index of a large table, and 30 s
	// is the example server's WriteTimeout, beyond which no client gets the
	// answer anyway.
	MySQLIOTimeout = 30 * time.Second
)

// addPostgresTimeouts adds connect_timeout=3 to the pgx URL,
// unless the URL names connect_timeout (whatever its value, 0 for none) or
// PGCONNECT_TIMEOUT, which pgx reads too, is set.
//
// pgx has no read timeout: a query on a connection that has gone silent
// waits until its context ends. On the verification path the Manager's
// deadline (apikey.WithVerifyDeadline) ends it; pgx then marks the
// connection closed, so database/sql frees its slot at once, and closes the
// socket in the background after sending a cancel request over a new one
// (at most 15 s later).
func (d *Database) addPostgresTimeouts(query url.Values) {
	if query.Has("connect_timeout") {
		if s, err := strconv.Atoi(query.Get("connect_timeout")); err == nil && s > 0 {
			d.connectTimeout = time.Duration(s) * time.Second
		}
		return
	}
	if os.Getenv("PGCONNECT_TIMEOUT") != "" {
		return
	}
	sep := "?"
	if strings.Contains(d.dsn, "?") {
		sep = "&"
	}
	d.dsn += sep + "connect_timeout=" + strconv.Itoa(int(ConnectTimeout/time.Second))
	d.connectTimeout = ConnectTimeout
}

// ConnectTimeout is how long a connection attempt may last, as the DSN
// says or Parse set it; 0 if it is not known to be bounded.
func (d *Database) ConnectTimeout() time.Duration { return d.connectTimeout }

// addMySQLTimeouts sets the timeouts that the go-sql-driver/mysql DSN s
// does not name (timeout, readTimeout, writeTimeout); a value it names,
// 0 for none included, is kept.
func addMySQLTimeouts(s string, cfg *mysql.Config) {
	named := mysqlParams(s)
	if !named["timeout"] {
		cfg.Timeout = ConnectTimeout
	}
	if !named["readTimeout"] {
		cfg.ReadTimeout = MySQLIOTimeout
	}
	if !named["writeTimeout"] {
		cfg.WriteTimeout = MySQLIOTimeout
	}
}

// mysqlParams returns the names of the parameters of a go-sql-driver/mysql
// DSN, found where the driver finds them: after the first "?" that follows
// the last "/" (a password may hold either).
func mysqlParams(s string) map[string]bool {
	named := map[string]bool{}
	rest := s[strings.LastIndex(s, "/")+1:]
	_, params, ok := strings.Cut(rest, "?")
	if !ok {
		return named
	}
	for _, pair := range strings.Split(params, "&") {
		key, _, _ := strings.Cut(pair, "=")
		named[key] = true
	}
	return named
}

// boundedConnector bounds every connection attempt of a driver.Connector
// by timeout, as pgx's connect_timeout does: go-sql-driver/mysql's timeout
// covers only the dial, and each read of the handshake may otherwise wait
// readTimeout, or forever. The driver watches the context until Connect
// returns, and closes the connection when it ends.
type boundedConnector struct {
	driver.Connector
	timeout time.Duration
}

func (c boundedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.Connector.Connect(ctx)
}
