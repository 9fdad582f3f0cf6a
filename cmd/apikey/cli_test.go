package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/sqlstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keyJSON is the JSON form of a key that list --json and show --json print.
type keyJSON struct {
	ID         uuid.UUID  `json:"id"`
	Name       string     `json:"name"`
	Groups     []string   `json:"groups"`
	Active     bool       `json:"active"`
	Preview    string     `json:"preview"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
	UpdatedAt  time.Time  `json:"updated_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RolledFrom uuid.UUID  `json:"rolled_from"`
	RolledTo   uuid.UUID  `json:"rolled_to"`
}

func (d *testDB) listJSON(t *testing.T, args ...string) []keyJSON {
	t.Helper()
	r := d.mustRun(t, append([]string{"list", "--json"}, args...)...)
	assertNoSecrets(t, r.stdout)
	var keys []keyJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &keys), r.stdout)
	return keys
}

func (d *testDB) showJSON(t *testing.T, ref string) keyJSON {
	t.Helper()
	r := d.mustRun(t, "show", "--json", ref)
	assertNoSecrets(t, r.stdout)
	var k keyJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &k), r.stdout)
	return k
}

// assertNoSecrets checks that JSON output holds no hash nor lookup ID.
func assertNoSecrets(t *testing.T, out string) {
	t.Helper()
	assert.NotContains(t, out, `"hash"`)
	assert.NotContains(t, out, `$sha256$`)
	assert.NotContains(t, strings.ToLower(out), `lookup`)
}

var plaintextPattern = regexp.MustCompile(`^ak_[0-9A-Za-z]{40,}\n$`)

// TestLifecycle walks one key through its whole life with the command, and
// checks with the library, as a server would, that the key works.
func TestLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		r := d.mustRun(t, "migrate")
		assert.Contains(t, r.stdout, d.table+"_schema_migrations")
		d.mustRun(t, "migrate") // twice is fine

		// create: the plaintext alone on stdout, the rest on stderr.
		r = d.mustRun(t, "create", "--name", "CI deploy", "--group", "deploy:write", "--group", "reports:read",
			"--expires", "720h", "--created-by", "alice@example.com")
		require.Regexp(t, plaintextPattern, r.stdout)
		plaintext := strings.TrimSuffix(r.stdout, "\n")
		assert.Contains(t, r.stderr, "cannot be shown again")
		assert.NotContains(t, r.stderr, plaintext)

		m := d.manager(t)
		verified, err := m.Verify(ctx, plaintext)
		require.NoError(t, err, "the created key verifies")
		assert.Equal(t, "CI deploy", verified.Name)
		assert.Contains(t, r.stderr, verified.ID.String(), "stderr names the ID")
		assert.Contains(t, r.stderr, verified.Preview, "stderr shows the preview")
		id, preview := verified.ID.String(), verified.Preview

		// A second key, created by default by $USER.
		other := d.create(t, "--name", "admin", "--group", "apikeys:admin", "--new-group")

		// list --json, parsed back.
		keys := d.listJSON(t)
		require.Len(t, keys, 2)
		k := keys[0]
		assert.Equal(t, verified.ID, k.ID)
		assert.Equal(t, "CI deploy", k.Name)
		assert.Equal(t, []string{"deploy:write", "reports:read"}, k.Groups)
		assert.True(t, k.Active)
		assert.Equal(t, preview, k.Preview)
		assert.Equal(t, "alice@example.com", k.CreatedBy)
		assert.WithinDuration(t, time.Now(), k.CreatedAt, time.Minute)
		require.NotNil(t, k.ExpiresAt)
		assert.WithinDuration(t, time.Now().Add(720*time.Hour), *k.ExpiresAt, time.Minute)
		assert.Equal(t, "tester", keys[1].CreatedBy, "--created-by defaults to $USER")
		assert.Nil(t, k.LastUsedAt, "flush has not run: never used")

		// list --wide: every column, the header, and a row per key.
		r = d.mustRun(t, "list", "--wide")
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		require.Len(t, lines, 3, r.stdout)
		assert.Regexp(t, `^ID +OWNER +NAME +STATUS +KEY +CREATED +LAST USED +EXPIRES +CREATED BY +GROUPS$`, lines[0])
		assert.Regexp(t, `^`+id+` +default +CI deploy +active +`+regexp.QuoteMeta(preview)+` +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +never +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +alice@example.com +deploy:write,reports:read$`, lines[1])
		assert.Equal(t, strings.Index(lines[0], "NAME"), strings.Index(lines[1], "CI deploy"), "columns are aligned")

		// Last used shows once a server has flushed a use.
		require.NoError(t, m.Flush(ctx))
		r = d.mustRun(t, "list", "--group", "deploy:write")
		assert.NotContains(t, r.stdout, "never")
		assert.NotNil(t, d.showJSON(t, id).LastUsedAt)

		// show by ID, by preview (both spellings) and by the full key.
		r = d.mustRun(t, "show", id)
		assert.Regexp(t, `(?m)^ID: +`+id+`$`, r.stdout)
		assert.Regexp(t, `(?m)^Name: +CI deploy$`, r.stdout)
		assert.Regexp(t, `(?m)^Key: +`+regexp.QuoteMeta(preview)+`$`, r.stdout)
		assert.NotContains(t, r.stdout, plaintext)
		assert.Equal(t, verified.ID, d.showJSON(t, preview).ID)
		assert.Equal(t, verified.ID, d.showJSON(t, strings.Replace(preview, "…", "...", 1)).ID)
		assert.Equal(t, verified.ID, d.showJSON(t, plaintext).ID)

		// rename, positional and with --name.
		r = d.mustRun(t, "rename", id, "deploy bot")
		assert.Contains(t, r.stdout, `"deploy bot"`)
		assert.Equal(t, "deploy bot", d.showJSON(t, id).Name)
		d.mustRun(t, "rename", preview, "--name", "<b>deploy</b> 'bot'; DROP TABLE x")
		assert.Equal(t, "<b>deploy</b> 'bot'; DROP TABLE x", d.showJSON(t, id).Name)

		// groups replaces the groups.
		d.mustRun(t, "groups", id, "--group", "reports:read", "--group", "billing:read,billing:write", "--new-group")
		assert.Equal(t, []string{"billing:read", "billing:write", "reports:read"}, d.showJSON(t, id).Groups)
		assert.Len(t, d.listJSON(t, "--group", "billing:write"), 1)
		assert.Empty(t, d.listJSON(t, "--group", "deploy:write"))

		// deactivate: the server refuses the key.
		r = d.mustRun(t, "deactivate", id)
		assert.Contains(t, r.stdout, "Deactivated")
		_, err = m.Verify(ctx, plaintext)
		assert.ErrorIs(t, err, apikey.ErrInactive)
		assert.False(t, d.showJSON(t, id).Active)
		inactive := d.listJSON(t, "--status", "inactive")
		require.Len(t, inactive, 1)
		assert.Equal(t, verified.ID, inactive[0].ID)
		assert.Len(t, d.listJSON(t, "--status", "active"), 1)
		assert.Regexp(t, `(?m)^`+id+` .* inactive `, d.mustRun(t, "list", "--wide").stdout)

		// activate: it works again.
		d.mustRun(t, "activate", preview)
		_, err = m.Verify(ctx, plaintext)
		assert.NoError(t, err)

		// delete --yes: gone for the command and for the server.
		r = d.mustRun(t, "delete", id, "--yes")
		assert.Contains(t, r.stdout, "Deleted")
		r = d.run(t, "show", id)
		assert.Equal(t, 1, r.code, r.String())
		assert.Equal(t, "apikey: key not found: "+id+"\n", r.stderr)
		_, err = m.Verify(ctx, plaintext)
		assert.ErrorIs(t, err, apikey.ErrInvalidKey)

		// The other key is untouched.
		_, err = m.Verify(ctx, other)
		assert.NoError(t, err)
		assert.Len(t, d.listJSON(t), 1)
	})
}

// TestListPagesThroughEverything creates more keys than fit in the largest
// page and checks that list prints them all, and that --limit caps them.
func TestListPagesThroughEverything(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *testDB) {
		d.migrate(t)
		m := d.manager(t)
		n := apikey.MaxListLimit + 7
		for i := range n {
			_, _, err := m.Issue(context.Background(), apikey.IssueRequest{
				Name: fmt.Sprintf("key %03d", i), Groups: []string{"g"}, CreatedBy: "test",
			})
			require.NoError(t, err)
		}
		keys := d.listJSON(t)
		require.Len(t, keys, n)
		seen := make(map[uuid.UUID]bool)
		for i, k := range keys {
			assert.Equal(t, fmt.Sprintf("key %03d", i), k.Name, "creation order")
			seen[k.ID] = true
		}
		assert.Len(t, seen, n, "no key twice")
		assert.Len(t, d.listJSON(t, "--limit", "3"), 3)
		assert.Len(t, d.listJSON(t, "--limit", fmt.Sprint(apikey.MaxListLimit+2)), apikey.MaxListLimit+2)
		r := d.mustRun(t, "list")
		assert.Equal(t, n+1, strings.Count(r.stdout, "\n"), "a header and a line per key")
	})
}

// TestAmbiguousPreview addresses a key by a preview that two keys share.
func TestAmbiguousPreview(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *testDB) {
		d.migrate(t)
		store := d.store(t)
		now := time.Now().UTC().Truncate(time.Microsecond)
		var ids []string
		for _, lookupID := range []string{"SameAAAAAAAA", "SameBBBBBBBB"} {
			k := &apikey.Key{
				ID: uuid.Must(uuid.NewV7()), Owner: apikey.DefaultOwner, Name: "twin", Groups: []string{"g"}, Active: true,
				Preview: "ak_Same…x7Ab", LookupID: lookupID, Hash: "$sha256$unused",
				CreatedAt: now, CreatedBy: "test", UpdatedAt: now,
			}
			require.NoError(t, store.Create(context.Background(), creation(k), k, 0))
			ids = append(ids, k.ID.String())
		}
		for _, ref := range []string{"ak_Same…x7Ab", "ak_Same...x7Ab"} {
			r := d.run(t, "deactivate", ref)
			assert.Equal(t, 1, r.code, r.String())
			assert.Contains(t, r.stderr, "ambiguous")
			assert.Contains(t, r.stderr, ids[0])
			assert.Contains(t, r.stderr, ids[1])
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line")
		}
		for _, k := range d.listJSON(t) {
			assert.True(t, k.Active, "nothing was deactivated")
		}
	})
}

func TestUnknownKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *testDB) {
		d.migrate(t)
		d.create(t, "--name", "k", "--group", "g")
		unknown := uuid.Must(uuid.NewV7()).String()
		for _, cmd := range [][]string{
			{"show", unknown}, {"activate", unknown}, {"deactivate", unknown},
			{"rename", unknown, "x"}, {"groups", unknown, "--group", "g"}, {"delete", "--yes", unknown},
		} {
			r := d.run(t, cmd...)
			assert.Equal(t, 1, r.code, "%v\n%s", cmd, r)
			assert.Equal(t, "apikey: key not found: "+unknown+"\n", r.stderr, "%v", cmd)
			assert.Empty(t, r.stdout)
		}
		r := d.run(t, "show", "ak_Zzzz…Zzzz")
		assert.Equal(t, 1, r.code, r.String())
		assert.Equal(t, "apikey: key not found: ak_Zzzz…Zzzz\n", r.stderr)
		r = d.run(t, "show", "not-a-key")
		assert.Equal(t, 2, r.code, r.String())
		assert.Contains(t, r.stderr, "is not a key ID (UUID), a preview")
	})
}

// TestDeleteConfirmation checks that delete without --yes deletes only when
// the key's name is typed.
func TestDeleteConfirmation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *testDB) {
		d.migrate(t)
		d.create(t, "--name", "prod backend", "--group", "g")
		id := d.listJSON(t)[0].ID.String()

		r := d.runWithInput(t, nil, "delete", id) // stdin closed
		assert.Equal(t, 1, r.code, r.String())
		assert.Contains(t, r.stderr, "Type its name to confirm")
		assert.Contains(t, r.stderr, "apikey: delete refused: no confirmation")
		assert.Empty(t, r.stdout)
		d.mustRun(t, "show", id)

		r = d.runWithInput(t, strings.NewReader("prod\n"), "delete", id)
		assert.Equal(t, 1, r.code, r.String())
		assert.Contains(t, r.stderr, "apikey: delete refused: what was typed is not the key's name")
		d.mustRun(t, "show", id)

		r = d.runWithInput(t, strings.NewReader("yes\n"), "delete", id)
		assert.Equal(t, 1, r.code, r.String())
		d.mustRun(t, "show", id)

		r = d.runWithInput(t, strings.NewReader("prod backend\r\n"), "delete", id)
		assert.Equal(t, 0, r.code, r.String())
		assert.Equal(t, 1, d.run(t, "show", id).code, "deleted")
	})
}

// TestInvalidInput checks that invalid names and groups are refused with the
// library's message and exit status 1, and change nothing.
func TestInvalidInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *testDB) {
		d.migrate(t)
		r := d.run(t, "create", "--name", "k", "--group", "bad group!")
		assert.Equal(t, 1, r.code, r.String())
		assert.Equal(t, `apikey: invalid group: "bad group!" may contain only A-Z, a-z, 0-9, '_', ':', '.' and '-'`+"\n", r.stderr)
		assert.Empty(t, r.stdout, "no key printed")

		r = d.run(t, "create", "--name", "   ", "--group", "g")
		assert.Equal(t, 1, r.code, r.String())
		assert.Equal(t, "apikey: invalid name: must not be blank\n", r.stderr)

		r = d.run(t, "create", "--name", "k", "--group", "g", "--created-by", "a\x1bb")
		assert.Equal(t, 1, r.code, r.String())
		assert.Contains(t, r.stderr, "apikey: --created-by: invalid name: contains control character")

		r = d.run(t, "create", "--name", "k", "--group", "g", "--expires", "2001-01-01T00:00:00Z")
		assert.Equal(t, 1, r.code, r.String())
		assert.Equal(t, "apikey: --expires 2001-01-01T00:00:00Z: invalid expiry: must be in the future\n", r.stderr)
		assert.Empty(t, d.listJSON(t), "nothing was created")

		d.create(t, "--name", "k", "--group", "g")
		id := d.listJSON(t)[0].ID.String()
		r = d.run(t, "groups", id, "--group", "g", "--group", "ünïcode")
		assert.Equal(t, 1, r.code, r.String())
		assert.Contains(t, r.stderr, "apikey: invalid group: ")
		r = d.run(t, "rename", id, "line\nbreak")
		assert.Equal(t, 1, r.code, r.String())
		assert.Contains(t, r.stderr, "apikey: invalid name: contains control character U+000A")
		r = d.run(t, "list", "--group", "a b")
		assert.Equal(t, 1, r.code, r.String())
		assert.Contains(t, r.stderr, "apikey: invalid group: ")
		k := d.showJSON(t, id)
		assert.Equal(t, "k", k.Name)
		assert.Equal(t, []string{"g"}, k.Groups)
	})
}

// TestNotMigrated runs a command on a database without the tables.
func TestNotMigrated(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *testDB) {
		if d.dialect == sqlstore.SQLite {
			require.NoError(t, os.WriteFile(d.sqlitePath, nil, 0o600)) // an empty database
		}
		r := d.run(t, "list")
		assert.Equal(t, 1, r.code, r.String())
		assert.Contains(t, r.stderr, "has 'apikey migrate' been run for --table "+d.table)
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line")
	})
}

// TestMySQLDriverDSN gives the command the DSN in go-sql-driver/mysql's own
// form.
func TestMySQLDriverDSN(t *testing.T) {
	dsn := os.Getenv("APIKEY_TEST_MYSQL_DSN")
	if dsn == "" {
		missing(t, "APIKEY_TEST_MYSQL_DSN is not set: set it to a go-sql-driver/mysql DSN such as root@tcp(127.0.0.1:3306)/test to run this test")
	}
	forEachBackend(t, func(t *testing.T, d *testDB) {
		if d.dialect != sqlstore.MySQL {
			t.Skip("MySQL only")
		}
		d.dsn = dsn
		d.migrate(t)
		d.create(t, "--name", "k", "--group", "g")
		assert.Len(t, d.listJSON(t), 1)
	})
}

// TestUnreachableDatabase checks that a database that cannot be reached is
// named by its host, and that its password is never printed.
func TestUnreachableDatabase(t *testing.T) {
	const password = "s3cretPassw0rd"
	for _, dsn := range []string{
		"postgres://admin:" + password + "@127.0.0.1:1/keys?sslmode=disable",
		"postgresql://admin@127.0.0.1:1/keys?password=" + password,
		"mysql://admin:" + password + "@127.0.0.1:1/keys",
		"admin:" + password + "@tcp(127.0.0.1:1)/keys",
	} {
		t.Run(strings.SplitN(dsn, ":", 2)[0], func(t *testing.T) {
			t.Parallel()
			r := runBinary(t, nil, "list", "--dsn", dsn)
			assert.Equal(t, 1, r.code, r.String())
			assert.Contains(t, r.stderr, "cannot connect to")
			assert.Contains(t, r.stderr, "127.0.0.1:1")
			assert.NotContains(t, r.stderr+r.stdout, password)
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %s", r.stderr)
		})
	}
	t.Run("environment", func(t *testing.T) {
		t.Parallel()
		r := runBinaryEnv(t, []string{"APIKEY_DSN=mysql://root:" + password + "@127.0.0.1:1/x"}, nil, "show", uuid.NewString())
		assert.Equal(t, 1, r.code, r.String())
		assert.Contains(t, r.stderr, "cannot connect to MySQL at 127.0.0.1:1")
		assert.NotContains(t, r.stderr, password)
	})
	t.Run("no answer", func(t *testing.T) {
		t.Parallel()
		// A server that accepts connections and never answers.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		start := time.Now()
		r := runBinary(t, nil, "list", "--dsn", "postgres://admin:"+password+"@"+l.Addr().String()+"/keys?sslmode=disable")
		assert.Equal(t, 1, r.code, r.String())
		assert.Contains(t, r.stderr, "cannot connect to PostgreSQL at "+l.Addr().String()+": no answer within 3s") // connect_timeout=3
		assert.NotContains(t, r.stderr, password)
		assert.Less(t, time.Since(start), 15*time.Second)
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		missing := filepath.Join(t.TempDir(), "no", "such", "dir", "keys.db")
		r := runBinary(t, nil, "list", "--dsn", missing)
		assert.Equal(t, 1, r.code, r.String())
		assert.Contains(t, r.stderr, missing)
		assert.Contains(t, r.stderr, "does not exist")
		r = runBinary(t, nil, "migrate", "--dsn", "sqlite://"+missing)
		assert.Equal(t, 1, r.code, r.String())
		assert.Contains(t, r.stderr, "cannot open SQLite database "+missing)
		_, err := os.Stat(missing)
		assert.ErrorIs(t, err, os.ErrNotExist)
	})
}

// TestPasswordNeverPrinted gives the command DSNs whose password it once
// printed, in part or in full: net/url errors that quote what precedes a
// "/", "#" or "?" in the password as a port, URLs that parse with the rest
// of the password in the host, path, query or fragment, percent-encoded
// passwords (both forms), and key=value strings that were taken for SQLite
// paths and created as files. Each runs with --dsn and with APIKEY_DSN, for
// migrate (which may create a SQLite file) and list, in an empty working
// directory that must stay empty.
func TestPasswordNeverPrinted(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dsn     string
		secrets []string // what no output may contain
		code    int
	}{
		// The reproductions of the report: the part before "/" was quoted
		// as a port.
		{name: "postgres slash in password", dsn: "postgres://postgres:s3cr/etPW@127.0.0.1:5432/test",
			secrets: []string{"s3cr", "etPW"}, code: exitUsage},
		{name: "mysql slash in password", dsn: "mysql://root:pa/ssWORD@127.0.0.1:3306/test",
			secrets: []string{`":pa"`, "pa/ss", "ssWORD"}, code: exitUsage},
		{name: "postgres hash in password", dsn: "postgres://admin:pa#ssWORD@127.0.0.1:1/test",
			secrets: []string{`":pa"`, "ssWORD"}, code: exitUsage},
		{name: "postgres question mark in password", dsn: "postgres://admin:pa?ssWORD@127.0.0.1:1/test",
			secrets: []string{`":pa"`, "ssWORD"}, code: exitUsage},
		{name: "postgres bad escape in password", dsn: "postgres://admin:p%zzssWORD@127.0.0.1:1/test",
			secrets: []string{"%zz", "ssWORD"}, code: exitUsage},

		// URLs that parse, with the password astray: the part before "/"
		// as the port, the rest in the path (and the database name).
		{name: "postgres numeric password part before slash", dsn: "postgres://admin:98/76ssWORD@127.0.0.1:1/test",
			secrets: []string{":98", "76ssWORD"}, code: exitUsage},
		{name: "mysql numeric password part before slash", dsn: "mysql://root:98/76ssWORD@127.0.0.1:1/test",
			secrets: []string{":98", "76ssWORD"}, code: exitUsage},
		{name: "postgres numeric password part before hash", dsn: "postgres://admin:98#76ssWORD@127.0.0.1:1/test",
			secrets: []string{":98", "76ssWORD"}, code: exitUsage},
		// pgx ends the user information at the first "@" and would print
		// the rest as a host name.
		{name: "postgres at sign in password", dsn: "postgres://admin:p@ssWORD@127.0.0.1:1/test",
			secrets: []string{"ssWORD"}, code: exitUsage},
		// pgx quotes a query parameter without "=".
		{name: "postgres ampersand in query password", dsn: "postgres://admin@127.0.0.1:1/test?password=pa&ssWORD",
			secrets: []string{"ssWORD"}, code: exitUsage},

		// Percent-encoded passwords: neither the decoded nor the written
		// form is printed when the database is unreachable.
		{name: "postgres percent-encoded password", dsn: "postgres://postgres:p%2Fss@127.0.0.1:1/test",
			secrets: []string{"p/ss", "p%2Fss", "p%2fss"}, code: exitFailure},
		{name: "postgres lower-case percent-encoding", dsn: "postgres://postgres:p%2fss@127.0.0.1:1/test",
			secrets: []string{"p/ss", "p%2Fss", "p%2fss"}, code: exitFailure},
		{name: "postgres percent-encoded query password", dsn: "postgres://postgres@127.0.0.1:1/test?sslmode=disable&password=p%2fs+s",
			secrets: []string{"p/s+s", "p/s s", "p%2fs+s", "p%2Fs%2Bs"}, code: exitFailure},
		{name: "mysql percent-encoded password", dsn: "mysql://root:p%2Fss@127.0.0.1:1/test",
			secrets: []string{"p/ss", "p%2Fss"}, code: exitFailure},

		// Not URLs: they were taken for SQLite paths, printed, and created.
		{name: "libpq key=value", dsn: "host=127.0.0.1 user=postgres password=TopSecret dbname=test",
			secrets: []string{"TopSecret"}, code: exitUsage},
		{name: "libpq key=value with slash", dsn: "user=postgres password=TopSe/cret42 host=/run/postgresql",
			secrets: []string{"TopSe", "cret42"}, code: exitUsage},
		{name: "libpq key=value after sqlite:", dsn: "sqlite:host=127.0.0.1 password=TopSecret",
			secrets: []string{"TopSecret"}, code: exitUsage},
		{name: "libpq key=value with ://", dsn: "host=127.0.0.1 password=tops3cr://et42",
			secrets: []string{"tops3cr", "et42"}, code: exitUsage},
		{name: "user:password@host without scheme", dsn: "admin:s3cretPW@127.0.0.1:5432/test",
			secrets: []string{"s3cretPW"}, code: exitUsage},
		{name: "postgres: without slashes", dsn: "postgres:/admin:s3cretPW@127.0.0.1:5432/test",
			secrets: []string{"s3cretPW"}, code: exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, command := range []string{"migrate", "list"} {
				for _, viaEnv := range []bool{false, true} {
					dir := t.TempDir()
					var r result
					if viaEnv {
						r = runBinaryIn(t, dir, []string{"APIKEY_DSN=" + tc.dsn}, nil, command)
					} else {
						r = runBinaryIn(t, dir, nil, nil, "--dsn", tc.dsn, command)
					}
					what := fmt.Sprintf("%s (APIKEY_DSN: %v)", command, viaEnv)
					assert.Equal(t, tc.code, r.code, "%s\n%s", what, r)
					assert.True(t, strings.HasPrefix(r.stderr, "apikey: "), "%s: %s", what, r.stderr)
					for _, secret := range tc.secrets {
						assert.NotContains(t, r.stdout, secret, what)
						assert.NotContains(t, r.stderr, secret, what)
					}
					entries, err := os.ReadDir(dir)
					require.NoError(t, err)
					assert.Empty(t, entries, "%s created files in the working directory", what)
				}
			}
		})
	}
}

// TestSQLiteFileIsNotCreatedByMistake: only migrate creates a SQLite file, so
// that a mistyped path is not taken for an empty database.
func TestSQLiteFileIsNotCreatedByMistake(t *testing.T) {
	path := filepath.Join(t.TempDir(), "typo.db")
	r := runBinary(t, nil, "--dsn", path, "--owner", "default", "create", "--name", "k", "--group", "g")
	assert.Equal(t, 1, r.code, r.String())
	assert.Contains(t, r.stderr, "run 'apikey migrate' to create it")
	assert.NoFileExists(t, path)

	r = runBinary(t, nil, "--dsn", "sqlite://"+path, "migrate")
	require.Equal(t, 0, r.code, r.String())
	assert.FileExists(t, path)
	r = runBinary(t, nil, "--dsn", "file:"+path, "list")
	require.Equal(t, 0, r.code, r.String())
}

// TestUsageErrors checks that command-line mistakes exit with status 2 and
// touch no database.
func TestUsageErrors(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "keys.db")
	r := runBinary(t, nil, "--dsn", dsn, "migrate")
	require.Equal(t, 0, r.code, r.String())
	id := uuid.NewString()
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"--bogus", "list"},
		{"list", "--bogus"},
		{"list", "--status", "revoked"},
		{"list", "--limit", "-1"},
		{"list", "--limit", "many"},
		{"list", "extra"},
		{"migrate", "extra"},
		{"create", "--group", "g"},
		{"create", "--name", "k"},
		{"create", "k", "--group", "g"},
		{"create", "--name", "k", "--group", "g", "--expires", "tomorrow"},
		{"show"},
		{"show", id, id},
		{"show", "--json=maybe", id},
		{"activate"},
		{"deactivate"},
		{"rename", id},
		{"rename", id, "a", "--name", "b"},
		{"rename", id, "a", "b"},
		{"groups", id},
		{"delete"},
		{"delete", "--yes=perhaps", id},
		{"help", "frobnicate"},
		{"--table", "Bad-Name", "list"},
		{"--prefix", "NOT_VALID", "list"},
		{"--dsn", "redis://localhost:6379", "list"},
		{"--dsn", "", "list"},
		{"--dsn", "postgres://u:pw@host:port/db", "list"},
		{"--dsn", "tcp(127.0.0.1:3306", "list"},
	} {
		if len(args) == 0 || args[0] != "--dsn" {
			args = append([]string{"--dsn", dsn}, args...)
		}
		r := runBinary(t, nil, args...)
		assert.Equal(t, 2, r.code, "%q\n%s", args, r)
		assert.Empty(t, r.stdout, "%q", args)
		assert.True(t, strings.HasPrefix(r.stderr, "apikey: "), "%q: %s", args, r.stderr)
		assert.Contains(t, r.stderr, "Run 'apikey help", "%q", args)
		assert.NotContains(t, r.stderr, "goroutine", "no stack trace")
	}
	r = runBinary(t, nil, "--dsn", "postgres://u:pw@host:port/db", "list")
	assert.NotContains(t, r.stderr, "pw")
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"help", "list"}, {"list", "-h"}, {"delete", "--help"}} {
		r := runBinary(t, nil, args...)
		assert.Equal(t, 0, r.code, "%q\n%s", args, r)
		assert.Contains(t, r.stdout, "Usage", "%q", args)
		assert.Empty(t, r.stderr, "%q", args)
	}
	r := runBinary(t, nil, "help")
	for _, cmd := range commands {
		assert.Contains(t, r.stdout, "\n  "+cmd.short+" ", "help lists %s", cmd.name)
	}
}

// TestEnvironment configures the command with APIKEY_DSN, APIKEY_TABLE,
// APIKEY_PREFIX and APIKEY_OWNER instead of flags; flags win over the
// environment.
func TestEnvironment(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "keys.db")
	env := []string{"APIKEY_DSN=" + dsn, "APIKEY_TABLE=live_keys", "APIKEY_PREFIX=acme_live", "APIKEY_OWNER=acme"}
	r := runBinaryEnv(t, env, nil, "migrate")
	require.Equal(t, 0, r.code, r.String())
	assert.Contains(t, r.stdout, "live_keys_schema_migrations")
	r = runBinaryEnv(t, env, nil, "create", "--name", "k", "--group", "g")
	require.Equal(t, 0, r.code, r.String())
	assert.Regexp(t, `^acme_live_[0-9A-Za-z]{40,}\n$`, r.stdout)
	r = runBinaryEnv(t, env, nil, "create", "--prefix", "acme_test", "--name", "k", "--group", "g")
	require.Equal(t, 0, r.code, r.String())
	assert.Regexp(t, `^acme_test_`, r.stdout)
	r = runBinaryEnv(t, env, nil, "list", "--json")
	require.Equal(t, 0, r.code, r.String())
	assert.Equal(t, 2, strings.Count(r.stdout, `"preview"`))
	r = runBinaryEnv(t, env, nil, "list", "--table", "apikeys")
	assert.Equal(t, 1, r.code, "no such table: %s", r)
}

// TestCreateRefusesUnknownGroups: once a database has keys, a group that no
// key holds is taken for a typo unless --new-group says otherwise; create
// and groups alike.
func TestCreateRefusesUnknownGroups(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *testDB) {
		d.migrate(t)
		id := d.create(t, "--name", "first", "--group", "billing:write") // an empty database takes any group
		r := d.run(t, "create", "--name", "typo", "--group", "billing:wirte")
		assert.Equal(t, 2, r.code, r.String())
		assert.Contains(t, r.stderr, `no key holds the group "billing:wirte" yet`)
		assert.Empty(t, r.stdout, "no key was printed")
		assert.Equal(t, 1, strings.Count(d.mustRun(t, "list").stdout, "\n")-1, "no key was created")

		d.create(t, "--name", "same", "--group", "billing:write")
		d.create(t, "--name", "new", "--group", "reports:read", "--new-group")

		r = d.run(t, "groups", id, "--group", "reports:raed")
		assert.Equal(t, 2, r.code, r.String())
		assert.Equal(t, []string{"billing:write"}, d.showJSON(t, id).Groups, "groups unchanged")
		d.mustRun(t, "groups", id, "--group", "reports:read")
	})
}

// TestOwners: create needs --owner; with --owner every command sees only
// that owner's keys (another owner's is not found, as a missing key), and
// without it list shows every owner's, with an OWNER column (in the
// 80-column table too).
func TestOwners(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *testDB) {
		d.migrate(t)
		r := runBinary(t, nil, "--dsn", d.dsn, "--table", d.table, "create", "--name", "k", "--group", "g")
		assert.Equal(t, 2, r.code, r.String())
		assert.Contains(t, r.stderr, "--owner is required")
		assert.Empty(t, r.stdout)
		r = d.run(t, "--owner", "bad owner", "list")
		assert.Equal(t, 2, r.code, r.String())
		assert.Contains(t, r.stderr, "--owner: invalid owner")

		acme := d.create(t, "--owner", "acme", "--name", "acme ci", "--group", "g")
		globex := d.create(t, "--owner", "globex", "--name", "globex ci", "--group", "g")
		acmeID := d.showJSON(t, acme).ID.String()
		globexID := d.showJSON(t, globex).ID.String()

		r = d.mustRun(t, "--owner", "acme", "list")
		assert.Contains(t, r.stdout, "acme ci")
		assert.NotContains(t, r.stdout, "globex")
		assert.NotContains(t, r.stdout, "OWNER", "one owner's list needs no owner column")
		r = d.mustRun(t, "list")
		assert.Regexp(t, `(?m)^KEY +OWNER +NAME`, r.stdout, "several owners' list shows whose each key is")
		assert.Regexp(t, `(?m) acme +acme ci `, r.stdout)
		assert.Regexp(t, `(?m) globex +globex ci `, r.stdout)
		r = d.mustRun(t, "list", "--wide")
		assert.Regexp(t, `(?m)^ID +OWNER +NAME`, r.stdout)
		assert.Regexp(t, `(?m)^`+acmeID+` +acme +acme ci`, r.stdout)
		assert.Regexp(t, `(?m)^`+globexID+` +globex +globex ci`, r.stdout)

		for _, ref := range []string{globexID, globex} {
			for _, args := range [][]string{{"show", ref}, {"deactivate", ref}, {"rename", ref, "taken"}, {"groups", ref, "--group", "g"}, {"delete", "--yes", ref}} {
				r := d.run(t, append([]string{"--owner", "acme"}, args...)...)
				assert.Equal(t, 1, r.code, "%v: %s", args, r)
				assert.Contains(t, r.stderr, "key not found", "%v", args)
				assert.NotContains(t, r.stderr, "globex ci", "%v: nothing of the other owner's key", args)
			}
		}
		k := d.showJSON(t, globexID)
		assert.Equal(t, "globex ci", k.Name, "unchanged")
		assert.True(t, k.Active, "unchanged")
		d.mustRun(t, "--owner", "acme", "deactivate", acmeID)
	})
}

// TestListEscapesAndFits: a row written straight into the database by
// another program, with terminal escape sequences, a newline and a bidi
// override in its name and creator, reaches the terminal escaped; names in
// CJK and emoji keep the 80-column table aligned.
func TestListEscapesAndFits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *testDB) {
		d.migrate(t)
		d.create(t, "--owner", "default", "--name", "請求書の同期ジョブ（本番環境）と月次レポート", "--group", "billing:write", "--new-group")
		d.create(t, "--owner", "default", "--name", "Rocket 🚀🚀 launches", "--group", "reports:read", "--new-group")
		hostile := "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\nfake row\u202eevil"
		now := time.Now().UTC().Truncate(time.Microsecond)
		k := &apikey.Key{
			ID: uuid.Must(uuid.NewV7()), Owner: apikey.DefaultOwner, Name: hostile, Groups: []string{"g\x1b[0m"}, Active: true,
			Preview: "ak_Evil…x7Ab", LookupID: "EvilAAAAAAAA", Hash: "$sha256$unused",
			CreatedAt: now, CreatedBy: "mallory\x1b[8m", UpdatedAt: now,
		}
		require.NoError(t, d.store(t).Create(context.Background(), creation(k), k, 0))

		for _, args := range [][]string{{"list"}, {"list", "--wide"}, {"show", k.ID.String()}} {
			out := d.mustRun(t, args...).stdout
			assert.NotContains(t, out, "\x1b", "%v: no escape character reaches the terminal", args)
			assert.NotContains(t, out, "\u202e", "%v: no bidi override", args)
			assert.NotContains(t, out, "\x07", "%v", args)
			assert.Contains(t, out, `\x1b`, "%v: shown escaped", args)
		}
		wide := d.mustRun(t, "list", "--wide").stdout
		assert.Contains(t, wide, `\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x0afake row\u202eevil`)
		assert.Contains(t, wide, `mallory\x1b[8m`)
		assert.Contains(t, wide, `g\x1b[0m`)
		assert.Equal(t, 4, strings.Count(wide, "\n"), "a header and one line per key: the newline is escaped")

		list := d.mustRun(t, "list").stdout
		lines := strings.Split(strings.TrimSuffix(list, "\n"), "\n")
		require.Len(t, lines, 4, list)
		status := displayWidth(lines[0][:strings.Index(lines[0], "STATUS")])
		for _, line := range lines {
			assert.LessOrEqual(t, displayWidth(line), 80, "%q", line)
			// Cut the line at the STATUS column, counted in display
			// columns: the status is there on every row.
			cols, i := 0, 0
			runes := []rune(line)
			for ; cols < status; i++ {
				cols += runeWidth(runes[i])
			}
			assert.Regexp(t, `^(STATUS|active) `, string(runes[i:]), "%q", line)
		}
		assert.Contains(t, list, "請求書の同期", "CJK names are shown")
		assert.Contains(t, list, "…", "and cut to fit")
		assert.Contains(t, list, "🚀")
	})
}
