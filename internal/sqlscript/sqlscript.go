// Package sqlscript splits the migration files of package sqlstore into
// statements: the one splitter that Migrate, Schema and the tests that
// apply migrations by hand all use.
package sqlscript

import "strings"

// Split splits a migration file into statements, each ending with a
// semicolon at the end of a line (which is dropped); comment lines and
// blank lines are dropped. A statement whose lines end without a
// semicolon (a trigger's body) continues to the next line that does.
func Split(text string) []string {
	var stmts []string
	var cur strings.Builder
	for line := range strings.Lines(text) {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		if strings.HasSuffix(trimmed, ";") {
			stmts = append(stmts, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		stmts = append(stmts, rest)
	}
	return stmts
}
