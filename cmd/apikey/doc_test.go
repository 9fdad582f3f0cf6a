package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// packageDoc returns the package comment of main.go, which pkg.go.dev shows.
func packageDoc(t *testing.T) string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	require.NoError(t, err)
	require.NotNil(t, f.Doc, "main.go has no package comment")
	return f.Doc.Text()
}

// docBlock returns the indented lines of the code block that follows the
// paragraph starting with intro.
func docBlock(t *testing.T, doc, intro string) []string {
	t.Helper()
	_, after, ok := strings.Cut(doc, intro)
	require.True(t, ok, "the package doc has no paragraph %q", intro)
	var lines []string
	started := false
	for _, line := range strings.Split(after, "\n")[1:] {
		switch {
		case strings.HasPrefix(line, "\t"):
			started = true
			lines = append(lines, strings.TrimPrefix(line, "\t"))
		case line == "" && !started:
		default:
			return lines
		}
	}
	return lines
}

// The package doc lists every command, and only commands that exist.
func TestPackageDocNamesEveryCommand(t *testing.T) {
	var documented []string
	for _, line := range docBlock(t, packageDoc(t), "The commands are:") {
		documented = append(documented, strings.Fields(line)[0])
	}
	want := []string{}
	for _, c := range commands {
		want = append(want, c.name)
	}
	want = append(want, "help")
	assert.Equal(t, want, documented, "the package doc's list of commands, in the order of help")
}

// shellWords splits a documented command line as a shell would for these
// simple lines: words, double-quoted words, and a final "> file" dropped.
func shellWords(line string) []string {
	if i := strings.Index(line, " > "); i >= 0 {
		line = line[:i]
	}
	var words []string
	var word strings.Builder
	quoted, inWord := false, false
	for _, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
			inWord = true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	return words
}

// Every invocation in the package doc runs, in the order given, against a
// new SQLite database; <key> stands for the last key created.
func TestPackageDocExamplesRun(t *testing.T) {
	doc := packageDoc(t)
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("APIKEY_DSN", filepath.Join(dir, "keys.db"))
	t.Setenv("APIKEY_TABLE", "")
	t.Setenv("APIKEY_PREFIX", "")
	t.Setenv("APIKEY_OWNER", "")

	examples := docBlock(t, doc, "Examples, in an order")
	require.NotEmpty(t, examples)
	ran := map[string]bool{}
	key := ""
	for _, line := range examples {
		words := shellWords(line)
		require.Equal(t, "apikey", words[0], line)
		args := words[1:]
		for i, a := range args {
			if a == "<key>" {
				require.NotEmpty(t, key, "%s: no key created before", line)
				args[i] = key
			}
		}
		r := runInProcess(t, "", args...)
		require.Equal(t, 0, r.code, "%s\n%s", line, r)
		for _, a := range args {
			if slices.ContainsFunc(commands, func(c *command) bool { return c.name == a }) {
				ran[a] = true
				if a == "create" {
					key = strings.TrimSpace(r.stdout)
				}
				break
			}
		}
	}
	for _, c := range commands {
		assert.True(t, ran[c.name], "the package doc has no example of %s", c.name)
	}

	// The bootstrap lines at the top of the doc are the first examples.
	for _, line := range docBlock(t, doc, "and bootstrap a database with") {
		if strings.HasPrefix(line, "apikey ") {
			assert.Contains(t, examples, line)
		}
	}
	_, err := os.Stat(filepath.Join(dir, "keys.db"))
	assert.NoError(t, err, "the examples used the temporary database")
}
