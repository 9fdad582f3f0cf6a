package apikey_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README's quick start must compile and do what it says.
func TestREADMEQuickStartRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Quick start.*?```go\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("no Go block under ## Quick start")
	}
	// Inside the module, so that it imports this version of the library;
	// the leading underscore keeps the directory out of ./... patterns.
	dir, err := os.MkdirTemp(".", "_readme")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	main := filepath.Join(dir, "main.go")
	if err := os.WriteFile(main, m[1], 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "run", main).CombinedOutput()
	if err != nil {
		t.Fatalf("go run: %v\n%s", err, out)
	}
	for _, want := range []string{"store this now, it cannot be shown again: ak_", "preview: ak_", "CI deploy <nil>"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// The README is a door, not the house: a newcomer reads it in ten minutes.
func TestREADMEIsShort(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	lines := strings.Count(string(readme), "\n")
	assert.LessOrEqual(t, lines, 450, "README.md has %d lines; move reference material to doc.go, docs/ or examples/", lines)
}

// sentinels returns the exported Err* variables of package apikey, read
// from its source.
func sentinels(t *testing.T) []string {
	t.Helper()
	pkgs, err := parser.ParseDir(token.NewFileSet(), ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	require.NoError(t, err)
	pkg, ok := pkgs["apikey"]
	require.True(t, ok, "package apikey not found")
	var names []string
	for _, f := range pkg.Files {
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.VAR {
				continue
			}
			for _, spec := range gen.Specs {
				for _, name := range spec.(*ast.ValueSpec).Names {
					if strings.HasPrefix(name.Name, "Err") && name.IsExported() {
						names = append(names, name.Name)
					}
				}
			}
		}
	}
	slices.Sort(names)
	return names
}

// The README's list of errors is the list of sentinels, no more, no less.
func TestREADMEListsEverySentinel(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?s)\n### Errors\n(.*?)\n#`).FindSubmatch(readme)
	require.NotNil(t, m, "README.md has no ### Errors section")
	var documented []string
	for _, name := range regexp.MustCompile("`(Err[A-Za-z0-9]+)`").FindAllSubmatch(m[1], -1) {
		documented = append(documented, string(name[1]))
	}
	slices.Sort(documented)
	want := sentinels(t)
	require.NotEmpty(t, want)
	unique := slices.Compact(slices.Clone(documented))
	assert.Equal(t, want, unique, "README ### Errors against the Err* variables of package apikey")
	assert.Len(t, documented, len(unique), "an error listed twice")
}
