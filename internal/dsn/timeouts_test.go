package dsn

import (
	"context"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPostgresTimeouts checks that a pgx URL gets connect_timeout=3 when it
// names none, and keeps the one it names.
func TestPostgresTimeouts(t *testing.T) {
	t.Setenv("PGCONNECT_TIMEOUT", "")
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://app:s3cret@db:5432/app", "connect_timeout=3"},
		{"postgres://app:s3cret@db:5432/app?sslmode=disable", "connect_timeout=3"},
		{"postgres://app:s3cret@db:5432/app?connect_timeout=10", "connect_timeout=10"},
		{"postgres://app:s3cret@db:5432/app?connect_timeout=0&sslmode=disable", "connect_timeout=0"},
		{"postgres://app@db/app?password=s3cret", "connect_timeout=3"},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			d, err := Parse(tc.dsn)
			require.NoError(t, err)
			u, err := url.Parse(d.dsn)
			require.NoError(t, err)
			seconds := strings.TrimPrefix(tc.want, "connect_timeout=")
			assert.Equal(t, []string{seconds}, u.Query()["connect_timeout"], d.Scrub(d.dsn))
			want, err := time.ParseDuration(seconds + "s")
			require.NoError(t, err)
			assert.Equal(t, want, d.ConnectTimeout())
			assert.NotContains(t, d.Redacted(), "s3cret")
			assert.NotContains(t, d.Redacted(), "connect_timeout=3", "the redacted DSN is the operator's")
		})
	}
}

// TestPostgresTimeoutFromEnvironment checks that PGCONNECT_TIMEOUT, which
// pgx reads, is the user's value too.
func TestPostgresTimeoutFromEnvironment(t *testing.T) {
	t.Setenv("PGCONNECT_TIMEOUT", "7")
	d, err := Parse("postgres://app:s3cret@db:5432/app")
	require.NoError(t, err)
	assert.NotContains(t, d.dsn, "connect_timeout")
	assert.Zero(t, d.ConnectTimeout(), "pgx's to apply")
}

// TestMySQLTimeouts checks that a MySQL DSN, in either form, gets the
// timeouts it does not name, keeps those it names (0 for none included),
// and prints none of its password.
func TestMySQLTimeouts(t *testing.T) {
	for _, tc := range []struct {
		dsn                   string
		dial, read, write     time.Duration
		wantParams, notParams []string
	}{
		{dsn: "root:s3cret@tcp(127.0.0.1:3306)/test", dial: ConnectTimeout, read: MySQLIOTimeout, write: MySQLIOTimeout,
			wantParams: []string{"timeout=3s", "readTimeout=30s", "writeTimeout=30s"}},
		{dsn: "mysql://root:s3cret@db/test", dial: ConnectTimeout, read: MySQLIOTimeout, write: MySQLIOTimeout},
		{dsn: "root:s3cret@tcp(db:3306)/test?timeout=10s&readTimeout=2s", dial: 10 * time.Second, read: 2 * time.Second,
			write: MySQLIOTimeout},
		{dsn: "mysql://root:s3cret@db/test?writeTimeout=1m", dial: ConnectTimeout, read: MySQLIOTimeout, write: time.Minute},
		{dsn: "root:s3cret@tcp(db:3306)/test?timeout=0&readTimeout=0s&writeTimeout=0", notParams: []string{"timeout="}},
		// A "?" and a "/" in the password are not taken for parameters.
		{dsn: "root:s3/c?timeout=9s@tcp(db:3306)/test", dial: ConnectTimeout, read: MySQLIOTimeout, write: MySQLIOTimeout},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			d, err := Parse(tc.dsn)
			require.NoError(t, err)
			cfg := d.mysqlConfig
			require.NotNil(t, cfg)
			assert.Equal(t, tc.dial, cfg.Timeout, "timeout")
			assert.Equal(t, tc.dial, d.ConnectTimeout())
			assert.Equal(t, tc.read, cfg.ReadTimeout, "readTimeout")
			assert.Equal(t, tc.write, cfg.WriteTimeout, "writeTimeout")
			for _, p := range tc.wantParams {
				assert.Contains(t, d.dsn, p)
			}
			for _, p := range tc.notParams {
				assert.NotContains(t, d.dsn, p)
			}
			assert.NotContains(t, d.Redacted(), "s3")
			assert.NotContains(t, d.Redacted(), "readTimeout=30s", "the redacted DSN is the operator's")
		})
	}
}

// silentServer accepts connections and never answers, as a hung database
// server does; it closes them when the test ends.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestConnectionAttemptsEnd checks that a connection attempt on a server
// that accepts and then stays silent ends with an error, even with a context
// that never ends, as database/sql gives the connections it opens in the
// background. Without a bound, it would wait forever; for MySQL, the driver's
// timeout bounds only the dial, and the bound of the whole attempt is Open's.
func TestConnectionAttemptsEnd(t *testing.T) {
	addr := silentServer(t)
	for _, dsn := range []string{
		"postgres://app:s3cret@" + addr + "/app?sslmode=disable",
		"app:s3cret@tcp(" + addr + ")/app",
		"app:s3cret@tcp(" + addr + ")/app?readTimeout=0&timeout=1s", // the bound is Open's, not readTimeout's
	} {
		t.Run(dsn, func(t *testing.T) {
			t.Parallel()
			d, err := Parse(dsn)
			require.NoError(t, err)
			db, err := d.Open()
			require.NoError(t, err)
			defer db.Close()
			pinged := make(chan error, 1)
			go func() { pinged <- db.PingContext(context.Background()) }()
			select {
			case err := <-pinged:
				require.Error(t, err, "a silent server cannot answer a ping")
				assert.NotContains(t, err.Error(), "s3cret")
			case <-time.After(30 * time.Second):
				t.Fatal("the connection attempt on a silent server has not ended in 30 s: it is unbounded")
			}
		})
	}
}
