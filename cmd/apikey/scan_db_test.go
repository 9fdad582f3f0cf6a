package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scanFinding is the JSON form of a finding with a database.
type scanFinding struct {
	location
	Status      string `json:"status"`
	KeyID       string `json:"key_id"`
	Name        string `json:"name"`
	Deactivated bool   `json:"deactivated"`
}

// TestScanWithDatabase plants a live key (twice), an inactive one and one
// the database does not hold, and checks what scan --dsn reports and what
// --deactivate does, on every database.
func TestScanWithDatabase(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *testDB) {
		d.migrate(t)
		live := d.create(t, "--name", "billing prod", "--group", "g")
		old := d.create(t, "--name", "old", "--group", "g")
		d.mustRun(t, "deactivate", old)
		stranger := issueKey(t, keyConfig{"ak", 160}) // another database's
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"),
			[]byte("LIVE="+live+"\nOLD="+old+"\nOTHER="+stranger+"\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "ci.yaml"), []byte("key: "+live+"\n"), 0o644))

		scan := func(args ...string) (result, map[string][]scanFinding) {
			r := d.run(t, append([]string{"scan", "--json"}, append(args, dir)...)...)
			assert.Equal(t, 1, r.code, r.String())
			var fs []scanFinding
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &fs), r.String())
			byKey := map[string][]scanFinding{}
			for _, f := range fs {
				byKey[f.Preview] = append(byKey[f.Preview], f)
			}
			assertNoKeyMaterial(t, r.stdout+r.stderr, live, old, stranger)
			return r, byKey
		}
		_, found := scan()
		require.Len(t, found[apikey.PreviewOf(live)], 2)
		for _, f := range found[apikey.PreviewOf(live)] {
			assert.Equal(t, "live", f.Status)
			assert.Equal(t, "billing prod", f.Name)
			assert.NotEmpty(t, f.KeyID)
			assert.False(t, f.Deactivated)
		}
		require.Len(t, found[apikey.PreviewOf(old)], 1)
		assert.Equal(t, "inactive", found[apikey.PreviewOf(old)][0].Status)
		require.Len(t, found[apikey.PreviewOf(stranger)], 1)
		assert.Equal(t, "unknown", found[apikey.PreviewOf(stranger)][0].Status)
		assert.Empty(t, found[apikey.PreviewOf(stranger)][0].KeyID)

		m := d.manager(t)
		k, err := m.Verify(context.Background(), live)
		require.NoError(t, err, "scan without --deactivate changes nothing")
		require.NoError(t, m.Flush(context.Background()))
		usedAt := d.showJSON(t, k.ID.String()).LastUsedAt
		require.NotNil(t, usedAt)

		r, found := scan("--deactivate")
		assert.Equal(t, 1, strings.Count(r.stderr, "Deactivated key "+apikey.PreviewOf(live)), r.stderr)
		assert.Contains(t, r.stderr, `, "billing prod"): found in`)
		assert.Contains(t, r.stderr, "found in "+filepath.Join(dir, ".env")+":1")
		assert.NotContains(t, r.stderr, "Deactivated key "+apikey.PreviewOf(old))
		for _, f := range found[apikey.PreviewOf(live)] {
			assert.Equal(t, "live", f.Status, "the status it was found in")
			assert.True(t, f.Deactivated)
		}
		_, err = m.Verify(context.Background(), live)
		assert.ErrorIs(t, err, apikey.ErrInactive)
		// The audit trail names the scan, and where it found the key.
		page, err := m.Events(context.Background(), apikey.EventOptions{KeyID: k.ID})
		require.NoError(t, err)
		last := page.Events[len(page.Events)-1]
		assert.Equal(t, apikey.EventDeactivated, last.Kind)
		assert.Equal(t, "apikey scan", last.ActorName)
		assert.Equal(t, "found in "+filepath.Join(dir, ".env")+":1", last.Reason)
		assert.Equal(t, "apikey (tester)", page.Events[0].ActorName, "created by the command as $USER")
		shown := d.showJSON(t, k.ID.String())
		assert.Equal(t, usedAt.UTC(), shown.LastUsedAt.UTC(), "scanning is not a use: the last-used time still tells the last real use")

		_, found = scan("--deactivate")
		assert.Equal(t, "inactive", found[apikey.PreviewOf(live)][0].Status)

		// Text form.
		r = d.run(t, "scan", "--quiet", dir)
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stdout, filepath.Join(dir, ".env")+":3:7: "+apikey.PreviewOf(stranger)+" unknown\n")
		assert.Contains(t, r.stdout, filepath.Join(dir, "ci.yaml")+":1:6: "+apikey.PreviewOf(live)+" inactive (key "+k.ID.String()+`, "billing prod")`)
	})
}

func TestScanUsage(t *testing.T) {
	t.Setenv("APIKEY_DSN", "")
	r := runInProcess(t, "", "scan", "--deactivate", t.TempDir())
	assert.Equal(t, 2, r.code, r.String())
	assert.Contains(t, r.stderr, "--deactivate needs the database")
	r = runInProcess(t, "", "scan", filepath.Join(t.TempDir(), "missing"))
	assert.Equal(t, 1, r.code, r.String())
	assert.Contains(t, r.stderr, "no such file or directory")
	assert.Contains(t, r.stderr, "the scan is incomplete")
}
