package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRollAndPrune rolls a key with the CLI, checks that both keys work
// during the grace period, and prunes.
func TestRollAndPrune(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *testDB) {
		d.migrate(t)
		oldText := d.create(t, "--name", "ci", "--group", "deploy:write", "--expires", "30d")
		old := d.listJSON(t)[0]

		r := d.run(t, "roll", old.ID.String())
		assert.Equal(t, 2, r.code, "--grace is required: %s", r)
		r = d.run(t, "roll", old.ID.String(), "--grace", "-1h")
		assert.Equal(t, 2, r.code, r.String())

		r = d.mustRun(t, "roll", old.Preview, "--grace", "24h")
		newText := strings.TrimSpace(r.stdout)
		assert.Contains(t, r.stderr, "Store the key now")
		m := d.manager(t)
		ctx := context.Background()
		for _, text := range []string{oldText, newText} {
			_, err := m.Verify(ctx, text)
			require.NoError(t, err, "both keys work during the grace period")
		}
		keys := d.listJSON(t)
		require.Len(t, keys, 2)
		succ := keys[1]
		assert.Equal(t, old.ID, succ.RolledFrom)
		assert.True(t, old.ExpiresAt.Equal(*succ.ExpiresAt), "the successor keeps the old key's expiry")

		r = d.mustRun(t, "list", "--wide")
		assert.Contains(t, r.stdout, "EXPIRES")
		assert.Contains(t, r.stdout, "(grace)")
		r = d.mustRun(t, "show", old.ID.String())
		assert.Contains(t, r.stdout, "Rolled to:")
		assert.Contains(t, r.stdout, succ.ID.String())

		r = d.run(t, "roll", old.ID.String(), "--grace", "1h")
		assert.Equal(t, 1, r.code, r.String())
		assert.Contains(t, r.stderr, "already rolled")

		// A leaked key: no grace.
		r = d.mustRun(t, "roll", succ.ID.String(), "--grace", "0s")
		_, err := m.Verify(ctx, newText)
		assert.ErrorIs(t, err, apikey.ErrExpired)
		// list says why it stopped working, and --wide what replaced it.
		wide := d.mustRun(t, "list", "--wide").stdout
		assert.Regexp(t, `(?m)^`+succ.ID.String()+` .* rolled to [0-9a-f-]{36} `, wide)
		assert.Regexp(t, `(?m) rolled `, d.mustRun(t, "list").stdout)
		active := d.mustRun(t, "list", "--status", "active", "--wide").stdout
		assert.NotContains(t, active, succ.ID.String(), "a key rolled with no grace is not active")

		r = d.mustRun(t, "prune", "--dry-run", "--older-than", "0s")
		assert.Equal(t, 1, strings.Count(r.stdout, "Would delete key "), r.String())
		assert.Contains(t, r.stdout, succ.ID.String())
		assert.Len(t, d.listJSON(t), 3, "the dry run deleted nothing")
		r = d.mustRun(t, "prune")
		assert.Empty(t, r.stdout, "nothing stopped 30 days ago")
		r = d.mustRun(t, "prune", "--older-than", "0s", "--batch", "1")
		assert.Equal(t, 1, strings.Count(r.stdout, "Deleted key "), r.String())
		assert.Len(t, d.listJSON(t), 2)
		assert.Equal(t, 2, d.run(t, "prune", "--batch", "0").code)
	})
}

// TestExpiresOutOfRange: the --expires values that no key may have exit
// with status 1 and store nothing, and a huge number of days never
// overflows into a valid time.
func TestExpiresOutOfRange(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *testDB) {
		d.migrate(t)
		for _, expires := range []string{
			"0001-01-01T00:00:00Z",
			"9999-12-31T23:30:00-01:00",
			"9999-12-31T23:59:59.9999999Z",
			"4000000d",
			"9223372036854775807d",
			"99999999999999999999999d",
			"-1d",
		} {
			r := d.run(t, "create", "--name", "k", "--group", "g", "--expires", expires)
			assert.Equal(t, 1, r.code, "%s: %s", expires, r)
			assert.Contains(t, r.stderr, "invalid expiry", expires)
			assert.Empty(t, r.stdout)
		}
		assert.Empty(t, d.listJSON(t), "nothing was created")
		d.create(t, "--name", "k", "--group", "g", "--expires", "9999-12-31T23:59:59.999999Z")
		d.create(t, "--name", "k2", "--group", "g", "--expires", "2900000d")
		keys := d.listJSON(t)
		require.Len(t, keys, 2)
		assert.Equal(t, 9999, keys[0].ExpiresAt.Year())
		assert.Greater(t, keys[1].ExpiresAt.Year(), 9000)
		assert.True(t, keys[1].ExpiresAt.After(time.Now()))
		d.mustRun(t, "list", "--wide")
	})
}
