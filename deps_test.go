package apikey_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The library packages may import only the standard library and the chosen
// dependencies; SQL drivers, chromedp and routers belong to the nested
// modules of tests, examples and commands.
func TestLibraryDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}",
		".", "./memstore", "./sqlstore", "./storetest", "./admin", "./secretscan").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := []string{"github.com/apikit/apikey", "github.com/google/uuid", "golang.org/x/crypto/", "golang.org/x/sys/"}
	for _, pkg := range strings.Fields(string(out)) {
		if !hasAnyPrefix(pkg, allowed) {
			t.Errorf("a library package depends on %s", pkg)
		}
	}
}

// TestConsumerModuleGraph is what a Go developer sees who imports the
// library: a new module that imports every library package and runs go mod
// tidy lists only the library, x/crypto, uuid and what those need, and its
// module graph holds no driver, browser or router whose version the library
// could raise.
func TestConsumerModuleGraph(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go mod tidy")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/consumer\n\ngo 1.26.0\n\nrequire github.com/apikit/apikey v1.0.0\n\n"+
		"replace github.com/apikit/apikey => "+root+"\n")
	write("main.go", `package main

import (
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/admin"
	"github.com/apikit/apikey/memstore"
	"github.com/apikit/apikey/secretscan"
	"github.com/apikit/apikey/sqlstore"
	"github.com/apikit/apikey/storetest"
)

func main() {
	m, _ := apikey.New(memstore.New())
	_, _ = admin.New(m)
	_, _ = secretscan.NewHandler(m, &secretscan.GitHubKeys{})
	_ = sqlstore.Postgres
	_ = storetest.Run
	_ = testing.Short
}
`)
	goCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	goCmd("mod", "tidy")
	required := goCmd("list", "-m", "-f", "{{if not .Main}}{{.Path}}{{end}}", "all")
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the consumer's go.mod after go mod tidy:\n%s", gomod)

	// go.mod: the library, its two dependencies, and x/sys, which x/crypto
	// needs.
	allowed := []string{"github.com/apikit/apikey", "golang.org/x/crypto", "github.com/google/uuid", "golang.org/x/sys"}
	for _, line := range strings.Split(string(gomod), "\n") {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(fields) < 2 || !strings.Contains(fields[0], ".") || strings.HasPrefix(line, "module") || strings.HasPrefix(line, "replace") {
			continue
		}
		if !hasAnyPrefix(fields[0], allowed) {
			t.Errorf("the consumer's go.mod requires %s", fields[0])
		}
	}
	// The module graph: never a driver, a browser or a router.
	for _, forbidden := range []string{"github.com/jackc/", "github.com/go-sql-driver/", "modernc.org/", "github.com/chromedp/", "github.com/go-chi/"} {
		if strings.Contains(required, forbidden) {
			t.Errorf("the consumer's module graph holds %s:\n%s", forbidden, required)
		}
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
