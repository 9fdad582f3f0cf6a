package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEvents changes keys with the command and reads the audit trail back
// with 'apikey events', as a table and as JSON, by key (a deleted one
// too), owner, time and limit, on every database.
func TestEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *testDB) {
		d.migrate(t)
		plaintext := d.create(t, "--name", "ci", "--group", "deploy:write", "--created-by", "alice")
		k := d.listJSON(t)[0]
		d.mustRun(t, "rename", k.ID.String(), `ci\ prod`)
		d.mustRun(t, "deactivate", k.Preview)
		other := d.create(t, "--owner", "globex", "--name", "globex ci", "--group", "deploy:write")
		d.mustRun(t, "delete", "--yes", k.ID.String())

		r := d.mustRun(t, "events", "--oldest")
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		require.Len(t, lines, 6, r.stdout)
		assert.Equal(t, []string{"AT", "OWNER", "KEY", "BY", "CHANGE", "REASON"}, strings.Fields(lines[0]))
		assert.Contains(t, lines[1], "apikey (alice)", "create names --created-by")
		assert.Contains(t, lines[1], `issued: name "ci", groups deploy:write, expires never`)
		assert.Contains(t, lines[2], "apikey (tester)", "other commands name $USER")
		assert.Contains(t, lines[2], `renamed: "ci" → "ci\\ prod"`, "escaped as list escapes: a backslash doubled")
		assert.Contains(t, lines[3], "deactivated")
		assert.Contains(t, lines[4], "globex")
		assert.Contains(t, lines[5], `deleted: name "ci\\ prod"`)
		for _, key := range []string{plaintext, other} {
			assert.NotContains(t, r.stdout, key)
			assert.NotContains(t, r.stdout, key[strings.IndexByte(key, '_')+1:][:8], "no part of a key's body beyond the preview")
		}

		// A deleted key's history, by ID, as JSON.
		r = d.mustRun(t, "events", "--oldest", "--json", "--key", k.ID.String())
		var events []apikey.Event
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &events), r.stdout)
		require.Len(t, events, 4)
		kinds := []apikey.EventKind{events[0].Kind, events[1].Kind, events[2].Kind, events[3].Kind}
		assert.Equal(t, []apikey.EventKind{apikey.EventIssued, apikey.EventRenamed, apikey.EventDeactivated, apikey.EventDeleted}, kinds)
		assert.Equal(t, "ci", events[1].Old.Name)
		assert.Equal(t, `ci\ prod`, events[1].New.Name, "JSON holds the value as stored")
		assert.NotContains(t, r.stdout, "hash")
		assert.NotContains(t, r.stdout, "lookup")
		assert.NotContains(t, r.stdout, plaintext)

		// By owner: globex's only; the default owner's: no globex event.
		r = d.mustRun(t, "--owner", "globex", "events")
		lines = strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		require.Len(t, lines, 2, r.stdout)
		assert.Equal(t, []string{"AT", "KEY", "BY", "CHANGE", "REASON"}, strings.Fields(lines[0]), "no OWNER column with --owner")
		assert.Contains(t, lines[1], `"globex ci"`)
		r = d.mustRun(t, "events", "--owner", apikey.DefaultOwner, "--json")
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &events))
		assert.Len(t, events, 4)
		assert.NotContains(t, r.stdout, "globex")
		r = d.mustRun(t, "events", "--owner", "globex", "--key", k.ID.String())
		assert.Contains(t, r.stdout, "(no events)", "another owner's key has no history for --owner")
		r = d.run(t, "events", "--owner", "globex", "--key", k.Preview)
		assert.Equal(t, 1, r.code, r.String())

		// Limit and since.
		r = d.mustRun(t, "events", "--oldest", "--json", "--limit", "2")
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &events))
		require.Len(t, events, 2)
		assert.Equal(t, apikey.EventRenamed, events[1].Kind, "the oldest first")
		r = d.mustRun(t, "events", "--json", "--limit", "2")
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &events))
		require.Len(t, events, 2)
		assert.Equal(t, []apikey.EventKind{apikey.EventDeleted, apikey.EventIssued}, []apikey.EventKind{events[0].Kind, events[1].Kind}, "the newest first by default")
		r = d.mustRun(t, "events", "--json", "--kind", "renamed")
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &events))
		require.Len(t, events, 1, "the kind filter")
		assert.Equal(t, apikey.EventRenamed, events[0].Kind)
		r = d.mustRun(t, "events", "--json", "--owner", apikey.DefaultOwner)
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &events))
		for _, e := range events {
			assert.Zero(t, e.Position, "no store-wide position with --owner")
		}
		r = d.mustRun(t, "events", "--json", "--since", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		assert.Equal(t, "[]\n", r.stdout)
		r = d.mustRun(t, "events", "--json", "--since", "1h")
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &events))
		assert.Len(t, events, 5)

		for _, args := range [][]string{
			{"events", "--since", "yesterday"}, {"events", "--limit", "-1"}, {"events", "extra"},
		} {
			r = d.run(t, args...)
			assert.Equal(t, 2, r.code, "%q: %s", args, r)
		}

		// A change by a server's administrator shows under their name.
		m := d.manager(t)
		ks, err := m.List(context.Background(), apikey.ListOptions{})
		require.NoError(t, err)
		require.Len(t, ks.Keys, 1)
		ctx := apikey.NewActorContext(context.Background(), apikey.Actor{ID: "0190c0de-0000-7000-8000-000000000001", Name: "Globex admin", Preview: "ak_Glob…x7Ab", Owner: "globex", Groups: []string{"deploy:write"}})
		require.NoError(t, m.Rename(ctx, ks.Keys[0].ID, "globex deploy"))
		r = d.mustRun(t, "--owner", "globex", "events", "--key", ks.Keys[0].ID.String())
		assert.Contains(t, r.stdout, "Globex admin (ak_Glob…x7Ab)", "the preview beside the name")
		assert.Contains(t, r.stdout, `renamed: "globex ci" → "globex deploy"`)
		r = d.mustRun(t, "--owner", "globex", "events", "--json", "--actor", "0190c0de-0000-7000-8000-000000000001")
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &events))
		require.Len(t, events, 1, "the actor filter")
		assert.Equal(t, "0190c0de-0000-7000-8000-000000000001", events[0].ActorID)
	})
}
