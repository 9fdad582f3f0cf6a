package apikey_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The library packages may import only the standard library and the chosen
// dependencies; SQL drivers, chromedp and chi belong to tests, examples and
// commands.
func TestLibraryDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}",
		".", "./memstore", "./sqlstore", "./storetest", "./admin").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := []string{
		"github.com/apikit/apikey",
		"github.com/google/uuid",
		"golang.org/x/crypto/",
		"golang.org/x/sys/",
		"github.com/stretchr/testify", // storetest is a test helper package
		"github.com/davecgh/go-spew", "github.com/pmezard/go-difflib", "go.yaml.in/yaml",
	}
	for _, pkg := range strings.Fields(string(out)) {
		ok := false
		for _, prefix := range allowed {
			if strings.HasPrefix(pkg, prefix) {
				ok = true
				break
			}
		}
		if !ok {
			t.Errorf("a library package depends on %s", pkg)
		}
	}
}
