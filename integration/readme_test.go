// Package integration holds the tests that need SQL drivers, routers or the
// documentation of the whole repository; it is a module of its own so that
// the library module depends on none of them.
package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// TestDocumentationSnippetsCompile compiles every Go snippet of the READMEs
// and of docs/*.md in this module, which has the drivers and routers the
// snippets import. A snippet that declares a test is compiled as a test
// file. The router programs are not snippets: they are programs under
// examples/routers, with tests of their own.
func TestDocumentationSnippetsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles programs")
	}
	docs, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	readmes := []string{"../README.md", "../sqlstore/README.md"}
	for _, doc := range docs {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		if goBlock.Match(text) {
			readmes = append(readmes, doc)
		}
	}
	if len(readmes) < 4 {
		t.Fatalf("found only %v: the docs with Go snippets moved?", readmes)
	}
	for _, readme := range readmes {
		text, err := os.ReadFile(readme)
		if err != nil {
			t.Fatal(err)
		}
		blocks := goBlock.FindAllSubmatch(text, -1)
		if len(blocks) == 0 {
			t.Fatalf("%s has no Go snippet", readme)
		}
		for i, block := range blocks {
			t.Run(fmt.Sprintf("%s/%d", strings.TrimPrefix(readme, "../"), i+1), func(t *testing.T) {
				// Inside the module, so that it uses this version of the
				// library; the underscore keeps the directory out of ...
				// patterns.
				dir, err := os.MkdirTemp(".", "_snippet")
				if err != nil {
					t.Fatal(err)
				}
				defer os.RemoveAll(dir)
				name := "main.go"
				if regexp.MustCompile(`(?m)^func Test`).Match(block[1]) {
					name = "snippet_test.go"
				}
				if err := os.WriteFile(filepath.Join(dir, name), block[1], 0o644); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command("go", "vet", "./"+filepath.Base(dir))
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("snippet %d of %s does not compile: %v\n%s\n%s", i+1, readme, err, out, block[1])
				}
			})
		}
	}
}
