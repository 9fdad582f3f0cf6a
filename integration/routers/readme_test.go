package routers_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestREADMESnippetsCompile builds every complete program (a Go block that
// starts with "package main") of the HTTP layer's README sections, in this
// module, which requires the routers they import.
func TestREADMESnippetsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "README-issue10.md"))
	require.NoError(t, err)
	var programs []string
	for _, m := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		if strings.HasPrefix(m[1], "package main\n") {
			programs = append(programs, m[1])
		}
	}
	require.Len(t, programs, 6, "one program per router")
	for i, src := range programs {
		// Inside the module, so that it builds against its go.mod; the
		// leading underscore keeps the directory out of ./... patterns.
		dir, err := os.MkdirTemp(".", "_snippet")
		require.NoError(t, err)
		defer os.RemoveAll(dir)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644))
		out, err := exec.Command("go", "build", "-o", os.DevNull, "./"+dir).CombinedOutput()
		require.NoError(t, err, "program %d:\n%s\n%s", i+1, out, src)
		out, err = exec.Command("go", "vet", "./"+dir).CombinedOutput()
		require.NoError(t, err, "program %d:\n%s", i+1, out)
	}
}
