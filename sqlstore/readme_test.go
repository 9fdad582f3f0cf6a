package sqlstore_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apikit/apikey/sqlstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README points those who manage the schema by hand to Schema() and to
// the migrations of each dialect, and names every migration, so that a new
// one cannot be left out of its notes on upgrades.
func TestREADMEPointsToTheSchema(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	doc := string(readme)
	assert.True(t, strings.Contains(doc, "store.Schema()"), "the README names Schema()")
	assert.LessOrEqual(t, strings.Count(doc, "\n"), 150, "sqlstore/README.md is at most 150 lines")
	for dialect, dir := range map[sqlstore.Dialect]string{sqlstore.Postgres: "postgres", sqlstore.MySQL: "mysql", sqlstore.SQLite: "sqlite"} {
		assert.True(t, strings.Contains(doc, "](migrations/"+dir+"/)"), "the README links the %s migrations", dir)
		files, err := filepath.Glob(filepath.Join("migrations", dir, "*.sql"))
		require.NoError(t, err)
		require.NotEmpty(t, files)
		for _, f := range files {
			assert.True(t, strings.Contains(doc, "`"+filepath.Base(f)+"`"), "the README's upgrade notes name %s", f)
		}
		// New only validates its arguments; no connection is made.
		s, err := sqlstore.New(new(sql.DB), dialect)
		require.NoError(t, err)
		schema, err := s.Schema()
		require.NoError(t, err)
		assert.True(t, strings.Contains(schema, "apikeys_events"), "%v: Schema gives the whole schema, the last migration included", dialect)
	}
}
