package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apikit/apikey/sqlstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// output is the stdout of run: its lines are sent on a channel as they are
// written, and kept.
type output struct {
	mu    sync.Mutex
	text  bytes.Buffer
	part  []byte
	lines chan string
}

func newOutput() *output { return &output{lines: make(chan string, 1000)} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.text.Write(p)
	o.part = append(o.part, p...)
	for {
		i := bytes.IndexByte(o.part, '\n')
		if i < 0 {
			break
		}
		select {
		case o.lines <- string(o.part[:i]):
		default: // nobody reads that far
		}
		o.part = o.part[i+1:]
	}
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.text.String()
}

// server is an example server started by a test.
type server struct {
	base     string // http://127.0.0.1:port
	adminKey string // the bootstrap key, if this start issued one
	out      *output
}

var (
	adminPageLine = regexp.MustCompile(`^Admin page: (http://127\.0\.0\.1:\d+)/admin/$`)
	keyLine       = regexp.MustCompile(`^    (demo_[0-9A-Za-z]+)$`)
)

// startServer runs the example server on a free loopback port with the
// SQLite file db, until the test ends; it then checks that run returns nil.
func startServer(t *testing.T, db string, extra ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := newOutput()
	done := make(chan error, 1)
	args := append([]string{"-addr", "127.0.0.1:0", "-db", db}, extra...)
	go func() { done <- run(ctx, args, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "run")
		case <-time.After(15 * time.Second):
			t.Error("the server did not shut down within 15 s")
		}
	})

	s := &server{out: out}
	timeout := time.After(30 * time.Second)
	for s.base == "" {
		select {
		case line := <-out.lines:
			if m := keyLine.FindStringSubmatch(line); m != nil {
				s.adminKey = m[1]
			}
			if m := adminPageLine.FindStringSubmatch(line); m != nil {
				s.base = m[1]
			}
		case err := <-done:
			done <- err
			t.Fatalf("run returned before serving: %v\noutput:\n%s", err, out)
		case <-timeout:
			t.Fatalf("the server did not start within 30 s; output:\n%s", out)
		}
	}
	return s
}

// get sends a request with a key, if any, and returns the status and body.
func (s *server) call(t *testing.T, method, path, key string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, nil)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

func TestServer(t *testing.T) {
	db := filepath.Join(t.TempDir(), "keys.db")
	s := startServer(t, db)
	require.NotEmpty(t, s.adminKey, "the first start prints a bootstrap key; output:\n%s", s.out)
	assert.Contains(t, s.out.String(), "it will not be shown again")

	// The page and its assets load without a key; the admin API does not.
	for _, path := range []string{"/admin/", "/admin/assets/app.js", "/admin/assets/app.css"} {
		status, _ := s.call(t, "GET", path, "")
		assert.Equal(t, http.StatusOK, status, path)
	}
	status, _ := s.call(t, "GET", "/admin/api/keys", "")
	assert.Equal(t, http.StatusUnauthorized, status)
	status, body := s.call(t, "GET", "/admin/api/keys", s.adminKey)
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `"name":"Bootstrap admin"`)
	assert.Contains(t, body, `"created_by":"examples/server"`)
	status, body = s.call(t, "GET", "/admin/api/groups", s.adminKey)
	assert.Equal(t, http.StatusOK, status)
	for _, g := range groups {
		assert.Contains(t, body, `"name":"`+g.Name+`"`)
	}

	// The demo API: each route needs its group; the bootstrap key holds
	// them all.
	for _, route := range []string{"GET /api/reports", "GET /api/invoices", "POST /api/invoices", "GET /api/whoami"} {
		method, path, _ := strings.Cut(route, " ")
		status, _ := s.call(t, method, path, s.adminKey)
		assert.Less(t, status, 300, route)
		status, _ = s.call(t, method, path, "")
		assert.Equal(t, http.StatusUnauthorized, status, route)
	}
	status, _ = s.call(t, "GET", "/", "")
	assert.Equal(t, http.StatusOK, status, "redirected to the admin page")
}

func TestServerBootstrapsOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "keys.db")
	first := startServer(t, db)
	require.NotEmpty(t, first.adminKey)

	second := startServer(t, db)
	assert.Empty(t, second.adminKey, "an admin key exists: no new one; output:\n%s", second.out)
	status, _ := second.call(t, "GET", "/admin/api/me", first.adminKey)
	assert.Equal(t, http.StatusOK, status, "the first key works on the second server")
}

func TestServerRefusesBadFlags(t *testing.T) {
	out := newOutput()
	assert.Error(t, run(context.Background(), []string{"-nope"}, out))
	assert.Error(t, run(context.Background(), []string{"-db", "mysql://root@/"}, out))
	assert.Error(t, run(context.Background(), []string{"-addr", "256.0.0.1:1", "-db", filepath.Join(t.TempDir(), "k.db")}, out))
}

func TestDataSource(t *testing.T) {
	cases := []struct {
		dsn, driver string
		dialect     sqlstore.Dialect
		source      string
	}{
		{"apikeys.db", "sqlite", sqlstore.SQLite, "file:apikeys.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"},
		{"/var/lib/app/keys.db", "sqlite", sqlstore.SQLite, "file:/var/lib/app/keys.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"},
		{"sqlite://keys.db", "sqlite", sqlstore.SQLite, "file:keys.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"},
		{"file:keys.db?mode=ro", "sqlite", sqlstore.SQLite, "file:keys.db?mode=ro"},
		{"postgres://u:p@127.0.0.1:5432/app?sslmode=disable", "pgx", sqlstore.Postgres, "postgres://u:p@127.0.0.1:5432/app?sslmode=disable"},
		{"postgresql://127.0.0.1/app", "pgx", sqlstore.Postgres, "postgresql://127.0.0.1/app"},
		{"mysql://root@127.0.0.1/app", "mysql", sqlstore.MySQL, "root@tcp(127.0.0.1:3306)/app"},
		{"mysql://u:p%40ss@db.internal:3307/app?timeout=5s", "mysql", sqlstore.MySQL, "u:p@ss@tcp(db.internal:3307)/app?timeout=5s"},
	}
	for _, c := range cases {
		driver, dialect, source, err := dataSource(c.dsn)
		require.NoError(t, err, c.dsn)
		assert.Equal(t, c.driver, driver, c.dsn)
		assert.Equal(t, c.dialect, dialect, c.dsn)
		assert.Equal(t, c.source, source, c.dsn)
	}
	for _, bad := range []string{"", "mysql://root@127.0.0.1/", "mysql://root@/app", "mysql://127.0.0.1/app?timeout=soon"} {
		_, _, _, err := dataSource(bad)
		assert.Error(t, err, bad)
	}
	_, _, _, err := dataSource("mysql://root:s3cret@127.0.0.1/app?timeout=soon")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret")
}
