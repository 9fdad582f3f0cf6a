package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scan prints file paths from the scanned tree raw: a file name in an
// untrusted repository can put terminal escapes and newlines on the
// operator's terminal and forge or hide output lines.
func TestScanEscapesPaths(t *testing.T) {
	key := issueKey(t, keyConfig{"ak", 160})
	dir := t.TempDir()
	name := "a\x1b[2K\r\nfake.go:1:1: nothing to see\x1b[8m.env"
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("K="+key+"\n"), 0o644))
	r := runInProcess(t, "", "scan", "--quiet", dir)
	assert.Equal(t, 1, r.code, r.String())
	t.Logf("stdout: %q", r.stdout)
	assert.NotContains(t, r.stdout, "\x1b", "escape sequence from a file name reached stdout")
	assert.Equal(t, 1, strings.Count(r.stdout, "\n"), "a file name forged an extra output line")
}

// with --owner, scan --dsn reports another owner's key (ID and name)
// and --deactivate deactivates it, although "with --owner every command sees
// only that owner's keys".
func TestScanHonoursOwner(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *testDB) {
		d.migrate(t)
		globex := d.create(t, "--owner", "globex", "--name", "globex secret project", "--group", "g")
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte("K="+globex+"\n"), 0o644))

		r := d.run(t, "--owner", "acme", "scan", "--deactivate", dir)
		t.Logf("stdout: %s\nstderr: %s", r.stdout, r.stderr)
		assert.NotContains(t, r.stdout+r.stderr, "globex secret project", "another owner's key name shown under --owner acme")
		_, err := d.manager(t).Verify(context.Background(), globex)
		assert.NoError(t, err, "scan --owner acme --deactivate deactivated a key of globex")
		assert.True(t, err == nil || !strings.Contains(err.Error(), "inactive"))
		_ = apikey.ErrInactive
	})
}
