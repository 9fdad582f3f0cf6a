package sqlstore_test

import (
	"database/sql"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/apikit/apikey/sqlstore"
	"github.com/stretchr/testify/require"
)

// The README prints the schema for people who manage it by hand; it must be
// the schema Migrate applies.
func TestREADMEShowsTheSchema(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	normalize := func(s string) string {
		s = regexp.MustCompile(`--[^\n]*`).ReplaceAllString(s, "")
		return strings.Join(strings.Fields(s), " ")
	}
	doc := normalize(string(readme))
	for _, dialect := range []sqlstore.Dialect{sqlstore.Postgres, sqlstore.MySQL, sqlstore.SQLite} {
		// New only validates its arguments; no connection is made.
		s, err := sqlstore.New(new(sql.DB), dialect)
		require.NoError(t, err)
		schema, err := s.Schema()
		require.NoError(t, err)
		for _, stmt := range strings.Split(schema, ";\n") {
			if stmt = normalize(stmt); stmt != "" {
				require.Contains(t, doc, stmt+";", "%v: the README lacks this statement", dialect)
			}
		}
	}
}
