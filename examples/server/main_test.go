package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

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
	base      string            // http://127.0.0.1:port
	adminKey  string            // acme's administrator key, if this start issued one
	adminKeys map[string]string // each organization's key that this start issued
	hadAdmin  bool              // this start found acme's administrator key and issued none
	out       *output
}

var (
	adminPageLine = regexp.MustCompile(`^Admin page: (http://127\.0\.0\.1:\d+)/admin/$`)
	orgLine       = regexp.MustCompile(`^Organization ([^ :]+): (no administrator key yet|an active administrator key)`)
	keyLine       = regexp.MustCompile(`^    (ak_[0-9A-Za-z]+)$`)
)

// startServer runs the example server on a free loopback port with the
// SQLite file db, until the test ends; it then checks that run returns nil.
func startServer(t *testing.T, db string, extra ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := newOutput()
	done := make(chan error, 1)
	args := append([]string{"-addr", "127.0.0.1:0", "-dsn", db}, extra...)
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

	s := &server{out: out, adminKeys: map[string]string{}}
	timeout := time.After(30 * time.Second)
	// The server prints its address, then (once bound), per organization,
	// either a new administrator key or that one exists, then "Ready.".
	for ready, org := false, ""; !ready; {
		select {
		case line := <-out.lines:
			if m := orgLine.FindStringSubmatch(line); m != nil {
				org = m[1]
				if org == "acme" && m[2] != "no administrator key yet" {
					s.hadAdmin = true
				}
			}
			if m := keyLine.FindStringSubmatch(line); m != nil {
				s.adminKeys[org] = m[1]
			}
			if m := adminPageLine.FindStringSubmatch(line); m != nil {
				s.base = m[1]
			}
			ready = line == "Ready."
		case err := <-done:
			done <- err
			t.Fatalf("run returned before serving: %v\noutput:\n%s", err, out)
		case <-timeout:
			t.Fatalf("the server did not start within 30 s; output:\n%s", out)
		}
	}
	s.adminKey = s.adminKeys["acme"]
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
	assert.Contains(t, body, `"name":"Administrator"`)
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
	assert.True(t, second.hadAdmin)
	assert.Contains(t, second.out.String(), "To make another: go run ../cmd/apikey --dsn '"+db+"' --owner acme create --name admin --group apikeys:admin")
	status, _ := second.call(t, "GET", "/admin/api/me", first.adminKey)
	assert.Equal(t, http.StatusOK, status, "the first key works on the second server")
}

func TestServerRefusesBadFlags(t *testing.T) {
	out := newOutput()
	assert.Error(t, run(context.Background(), []string{"-nope"}, out))
	assert.Error(t, run(context.Background(), []string{"-dsn", "mysql://root@/"}, out))
	assert.Error(t, run(context.Background(), []string{"-addr", "256.0.0.1:1", "-dsn", filepath.Join(t.TempDir(), "k.db")}, out))
}

func TestServerHelp(t *testing.T) {
	out := newOutput()
	require.NoError(t, run(context.Background(), []string{"-h"}, out), "-h is not an error")
	for _, flag := range []string{"-addr", "-dsn", "-prefix", "-last-used-interval"} {
		assert.Contains(t, out.String(), flag)
	}
}

// TestServerHelpHidesThePassword checks that -h prints $APIKEY_DSN once,
// redacted: the default of -dsn is not the flag package's to print.
func TestServerHelpHidesThePassword(t *testing.T) {
	for env, want := range map[string]string{
		"postgres://app:TopSecret@db:5432/app":  "(default $APIKEY_DSN: postgres://app:xxxxx@db:5432/app)",
		"app:TopSecret@tcp(db:3306)/app":        "(default $APIKEY_DSN: app:xxxxx@tcp(db:3306)/app?parseTime=true)",
		"host=db user=app password=TopSecret":   "(default $APIKEY_DSN, which is not usable: ",
		"postgres://app:Top/Secret@db:5432/app": "(default $APIKEY_DSN, which is not usable: ",
		"":                                      "(default $APIKEY_DSN if set, else apikeys.db)",
	} {
		t.Run(env, func(t *testing.T) {
			t.Setenv("APIKEY_DSN", env)
			out := newOutput()
			require.NoError(t, run(context.Background(), []string{"-h"}, out))
			help := out.String()
			assert.Contains(t, help, want)
			assert.Equal(t, 1, strings.Count(help, "(default $APIKEY_DSN"), "the default once")
			for _, secret := range []string{"TopSecret", "Top", "Secret"} {
				assert.NotContains(t, help, secret)
			}
		})
	}
}

// TestServerIssuesNoKeyBeforeItListens starts the server on a port that is
// taken: it fails, and the key it would have printed was never issued.
func TestServerIssuesNoKeyBeforeItListens(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	db := filepath.Join(t.TempDir(), "keys.db")
	out := newOutput()
	require.Error(t, run(context.Background(), []string{"-addr", taken.Addr().String(), "-dsn", db}, out))
	assert.NotContains(t, out.String(), "ak_")

	s := startServer(t, db)
	require.NotEmpty(t, s.adminKey)
	status, body := s.call(t, "GET", "/admin/api/keys", s.adminKey)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, 1, strings.Count(body, `"name":"Administrator"`), "one administrator key: %s", body)
}

// TestKeyFromTheCommandWorksOnTheServer does what the README says: a key made
// with the apikey command on the server's database gets 200 from a demo
// route, without any prefix setting.
func TestKeyFromTheCommandWorksOnTheServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the apikey command")
	}
	bin := filepath.Join(t.TempDir(), "apikey")
	build := exec.Command("go", "build", "-C", filepath.Join("..", "..", "cmd", "apikey"), "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	db := filepath.Join(t.TempDir(), "keys.db")
	s := startServer(t, db)
	cmd := exec.Command(bin, "--dsn", db, "--owner", "acme", "create", "--name", "ci", "--group", "reports:read")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	require.NoError(t, err, "apikey create: %s", stderr.String())
	key := strings.TrimSpace(string(stdout))

	status, body := s.call(t, "GET", "/api/reports", key)
	assert.Equal(t, http.StatusOK, status, body)
	status, _ = s.call(t, "POST", "/api/invoices", key)
	assert.Equal(t, http.StatusForbidden, status, "the key holds reports:read only")
}

// TestServerOrganizations: each organization's administrator sees and
// manages only its own keys.
func TestServerOrganizations(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "keys.db"))
	acme, globex := s.adminKeys["acme"], s.adminKeys["globex"]
	require.NotEmpty(t, acme)
	require.NotEmpty(t, globex)

	status, body := s.call(t, "GET", "/admin/api/me", globex)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `"owner":"globex"`)
	status, body = s.call(t, "GET", "/admin/api/keys", acme)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, 1, strings.Count(body, `"owner":"acme"`), body)
	assert.NotContains(t, body, "globex")
	var list struct {
		Keys []struct{ ID string } `json:"keys"`
	}
	_, body = s.call(t, "GET", "/admin/api/keys", globex)
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Len(t, list.Keys, 1)
	status, _ = s.call(t, "GET", "/admin/api/keys/"+list.Keys[0].ID, acme)
	assert.Equal(t, http.StatusNotFound, status, "acme's administrator does not see globex's key")
	status, body = s.call(t, "GET", "/api/whoami", globex)
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `"organization":"globex"`)
	_, body = s.call(t, "GET", "/api/invoices", globex)
	assert.Contains(t, body, "Customer of globex")
	assert.NotContains(t, body, "acme", "a key sees its own organization's data")
}
