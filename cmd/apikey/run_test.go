package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runInProcess calls run as main does, with buffers for streams.
func runInProcess(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// TestRunInProcess runs a short life of a key through run, in this process,
// so that the race detector sees the command's code.
func TestRunInProcess(t *testing.T) {
	t.Setenv("APIKEY_DSN", filepath.Join(t.TempDir(), "keys.db"))
	t.Setenv("APIKEY_TABLE", "")
	t.Setenv("APIKEY_PREFIX", "")
	t.Setenv("APIKEY_OWNER", "")
	r := runInProcess(t, "", "migrate")
	require.Equal(t, 0, r.code, r.String())
	r = runInProcess(t, "", "--owner", "default", "create", "--name", "admin", "--group", "apikeys:admin", "--created-by", "root")
	require.Equal(t, 0, r.code, r.String())
	assert.Regexp(t, plaintextPattern, r.stdout)
	plaintext := strings.TrimSpace(r.stdout)

	r = runInProcess(t, "", "list", "--json")
	require.Equal(t, 0, r.code, r.String())
	var keys []keyJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &keys))
	require.Len(t, keys, 1)
	assert.Equal(t, "root", keys[0].CreatedBy)

	r = runInProcess(t, "", "deactivate", plaintext)
	require.Equal(t, 0, r.code, r.String())
	assert.NotContains(t, r.stdout+r.stderr, plaintext, "the full key is never printed back")

	r = runInProcess(t, "admin\n", "delete", keys[0].Preview)
	require.Equal(t, 0, r.code, r.String())
	r = runInProcess(t, "", "show", keys[0].ID.String())
	assert.Equal(t, 1, r.code, r.String())
	assert.Equal(t, "apikey: key not found: "+keys[0].ID.String()+"\n", r.stderr)

	// A full key that is not in the store is named by its preview only.
	r = runInProcess(t, "", "show", plaintext)
	assert.Equal(t, 1, r.code, r.String())
	assert.Equal(t, "apikey: key not found: "+keys[0].Preview+" (given in full)\n", r.stderr)
	// A mistyped key is not echoed either.
	typo := plaintext[:len(plaintext)-1] + "x"
	if typo == plaintext {
		typo = plaintext[:len(plaintext)-1] + "y"
	}
	r = runInProcess(t, "", "show", typo)
	assert.Equal(t, 2, r.code, r.String())
	assert.NotContains(t, r.stderr, typo[10:])
}

// TestHelpDocumentsEveryFlag checks that each command's help names every
// flag the command defines, so that the hand-written help cannot fall behind.
func TestHelpDocumentsEveryFlag(t *testing.T) {
	for _, cmd := range commands {
		var help bytes.Buffer
		printCommandHelp(&help, cmd)
		fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
		(&cli{}).globalFlags(fs)
		cmd.setup(fs)
		fs.VisitAll(func(f *flag.Flag) {
			assert.Contains(t, help.String(), "--"+f.Name+" ", "help of %s documents --%s", cmd.name, f.Name)
		})
		assert.Contains(t, help.String(), "Usage: apikey "+cmd.synopsis)
	}
}

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		positional []string
		name       string
		yes        bool
	}{
		{args: []string{"k", "--name", "n"}, positional: []string{"k"}, name: "n"},
		{args: []string{"--name=n", "k"}, positional: []string{"k"}, name: "n"},
		{args: []string{"k", "--yes", "new name"}, positional: []string{"k", "new name"}, yes: true},
		{args: []string{"k", "--", "--yes", "-x"}, positional: []string{"k", "--yes", "-x"}},
		{args: []string{"--name", "--", "k"}, positional: []string{"k"}, name: "--"},
		{args: []string{"-", "k"}, positional: []string{"-", "k"}},
	} {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		name := fs.String("name", "", "")
		yes := fs.Bool("yes", false, "")
		positional, err := parseArgs(fs, tc.args)
		require.NoError(t, err, "%q", tc.args)
		assert.Equal(t, tc.positional, positional, "%q", tc.args)
		assert.Equal(t, tc.name, *name, "%q", tc.args)
		assert.Equal(t, tc.yes, *yes, "%q", tc.args)
	}
}

// TestStatus checks the STATUS column: an active key past its expiry shows
// as expired, since it authenticates nothing.
func TestStatus(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	for _, tc := range []struct {
		active  bool
		expires *time.Time
		want    string
	}{
		{true, nil, "active"},
		{true, &future, "active"},
		{true, &past, "expired"},
		{true, &now, "expired"},
		{false, nil, "inactive"},
		{false, &past, "inactive"},
	} {
		k := &apikey.Key{Active: tc.active, ExpiresAt: tc.expires}
		assert.Equal(t, tc.want, status(k, now), "active=%v expires=%v", tc.active, tc.expires)
	}
}

// TestWriteKey checks show's text form, with times in UTC.
func TestWriteKey(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	k := &apikey.Key{
		ID: uuid.MustParse("01a21b5b-6a6e-7035-a545-c9ab049ab47f"), Owner: "acme", Name: "CI deploy",
		Groups: []string{"deploy:write", "reports:read"}, Active: true, Preview: "ak_3Fq9…x7Ab",
		CreatedAt: created, CreatedBy: "alice", UpdatedAt: created,
	}
	var b bytes.Buffer
	require.NoError(t, writeKey(&b, k, created))
	assert.Equal(t, `ID:          01a21b5b-6a6e-7035-a545-c9ab049ab47f
Owner:       acme
Name:        CI deploy
Status:      active
Key:         ak_3Fq9…x7Ab
Groups:      deploy:write,reports:read
Created:     2026-01-02T03:04:05Z
Created by:  alice
Updated:     2026-01-02T03:04:05Z
Last used:   never
Expires:     never
`, b.String())
}
