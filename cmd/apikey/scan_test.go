package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keyConfig is a prefix and secret size keys are issued with.
type keyConfig struct {
	prefix string
	bits   int
}

// plantConfigs are the key formats the scan tests plant: the default, a
// custom prefix, a prefix with an underscore, a 512-bit secret, and the
// longest prefix with the smallest secret.
var plantConfigs = []keyConfig{
	{"ak", 160}, {"acme", 160}, {"acme_live", 256}, {"ak", 512}, {"p123456789abcdef", 128},
}

// issueKey issues a key of c with the library, as an application would.
func issueKey(t *testing.T, c keyConfig) string {
	t.Helper()
	m, err := apikey.New(memstore.New(), apikey.WithPrefix(c.prefix), apikey.WithSecretBits(c.bits), apikey.WithLastUsedFlushInterval(-1))
	require.NoError(t, err)
	defer m.Close()
	_, plaintext, err := m.Issue(context.Background(), apikey.IssueRequest{Name: "k", Groups: []string{"g"}, CreatedBy: "t"})
	require.NoError(t, err)
	return plaintext
}

// location is where a key is: what scan must report.
type location struct {
	Path    string `json:"path"`
	Commit  string `json:"commit,omitempty"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Preview string `json:"preview"`
}

// locate returns every place of key in content, as scan reports it.
func locate(path, content, key string) []location {
	var out []location
	for off := 0; ; {
		i := strings.Index(content[off:], key)
		if i < 0 {
			return out
		}
		at := off + i
		line := strings.Count(content[:at], "\n") + 1
		col := at - (strings.LastIndexByte(content[:at], '\n') + 1) + 1
		out = append(out, location{Path: path, Line: line, Column: col, Preview: apikey.PreviewOf(key)})
		off = at + len(key)
	}
}

// minified returns a single-line file of about 1 MB of JavaScript-like text
// with the keys at places that straddle the scanner's windows.
func minified(keys []string) string {
	filler := "var a_b=function(c){return c.d_e+1},f=\"x_y\";"
	var b strings.Builder
	offsets := []int{100, scanWindow - 300, scanWindow - 20, scanWindow + 3, 2*scanWindow - 256, 3*scanWindow - 1, 4*scanWindow - 400}
	next := 0
	for _, off := range offsets {
		for b.Len() < off {
			b.WriteString(filler)
		}
		b.WriteString(`k="` + keys[next%len(keys)] + `";`)
		next++
	}
	b.WriteString(filler)
	return b.String()
}

// plantedTree writes files of several kinds holding keys, and returns the
// directory, the contents of the text files by path, and where scan must
// find the keys.
func plantedTree(t *testing.T, keys []string) (string, map[string]string, []location) {
	dir := t.TempDir()
	var env, yaml, gosrc, js, glued strings.Builder
	env.WriteString("# settings\nDEBUG=1\n")
	yaml.WriteString("service:\n  url: https://api.example.com\n")
	gosrc.WriteString("package main\n\nimport \"os\"\n\n")
	var creds []map[string]string
	for i, key := range keys {
		fmt.Fprintf(&env, "API_KEY_%d=%s\n", i, key)
		fmt.Fprintf(&yaml, "  token_%d: \"%s\"  # rotate me\n", i, key)
		fmt.Fprintf(&gosrc, "const key%d = %q // TODO: move to the environment\n", i, key)
		creds = append(creds, map[string]string{"name": fmt.Sprint(i), "key": key})
		fmt.Fprintf(&glued, "MY_TOKEN_%s\tx%s,Bearer %s\r\nhttps://api.example.com/v1?key=%s&page=2\n", key, key, key, key)
	}
	gosrc.WriteString("\nfunc main() { os.Exit(0) }\n")
	jsonBytes, err := json.MarshalIndent(map[string]any{"credentials": creds}, "", "  ")
	require.NoError(t, err)
	js.WriteString(minified(keys))

	texts := map[string]string{
		".env":                  env.String(),
		"deploy/config.yaml":    yaml.String(),
		"cmd/server/main.go":    gosrc.String(),
		"fixtures/data.json":    string(jsonBytes),
		"web/static/app.min.js": js.String(),
		"notes/glued.txt":       glued.String(),
		"notes/no_newline.txt":  keys[0],
		"notes/near_misses.txt": nearMisses(keys),
		"notes/empty.txt":       "",
	}
	var want []location
	for name, content := range texts {
		path := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
		for _, key := range keys {
			if name != "notes/near_misses.txt" {
				want = append(want, locate(path, content, key)...)
			}
		}
	}
	// Not scanned: a binary file, a .git directory (without --git), and a
	// symbolic link (its target is scanned once, as itself).
	require.NoError(t, os.WriteFile(filepath.Join(dir, "blob.bin"), []byte("\x7fELF\x00\x00\x01 "+keys[0]+"\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "repo", ".git"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "repo", ".git", "config"), []byte("url = https://x:"+keys[1]+"@example.com\n"), 0o644))
	require.NoError(t, os.Symlink(filepath.Join(dir, ".env"), filepath.Join(dir, "link.env")))
	sortLocations(want)
	return dir, texts, want
}

// nearMisses holds strings that look like keys but are not: a changed
// character, a truncation, a key glued to more base62 characters, previews.
func nearMisses(keys []string) string {
	var b strings.Builder
	for _, k := range keys {
		last := k[len(k)-1]
		swapped := byte('0')
		if last == '0' {
			swapped = '1'
		}
		fmt.Fprintf(&b, "%s\n%s\n%sX\n%s\n%s\n", k[:len(k)-1]+string(swapped), k[:len(k)-1], k, apikey.PreviewOf(k), strings.Replace(k, "_", "-", 1))
	}
	return b.String()
}

func sortLocations(l []location) {
	sort.Slice(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

func plantKeys(t *testing.T) []string {
	var keys []string
	for _, c := range plantConfigs {
		keys = append(keys, issueKey(t, c))
	}
	return keys
}

// assertNoKeyMaterial checks that out holds no more of any key than its
// preview: no run of the key longer than the preview's beginning
// ("<prefix>_" and 4 characters).
func assertNoKeyMaterial(t *testing.T, out string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		n := strings.LastIndexByte(k, '_') + 1 + 4 + 1
		for i := 0; i+n <= len(k); i++ {
			if strings.Contains(out, k[i:i+n]) {
				t.Errorf("the output holds %d characters of a key (from offset %d), more than its preview:\n%s", n, i, out)
				return
			}
		}
	}
}

func scanJSON(t *testing.T, r result) []location {
	t.Helper()
	var got []location
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), r.String())
	sortLocations(got)
	return got
}

// TestScanFindsPlantedKeys plants keys of every format in files of every
// kind and checks that scan finds each, where it is, and nothing else.
func TestScanFindsPlantedKeys(t *testing.T) {
	t.Setenv("APIKEY_DSN", "")
	keys := plantKeys(t)
	dir, _, want := plantedTree(t, keys)

	r := runInProcess(t, "", "scan", "--json", dir)
	assert.Equal(t, 1, r.code, r.stderr)
	got := scanJSON(t, r)
	assert.Equal(t, want, got)
	assert.Contains(t, r.stderr, "skipped 1 binary files")
	assert.Contains(t, r.stderr, fmt.Sprintf("found %d keys", len(want)))
	assertNoKeyMaterial(t, r.stdout+r.stderr, keys...)

	// The text form: path:line:column: preview, one per line.
	r = runInProcess(t, "", "scan", "--quiet", dir)
	assert.Equal(t, 1, r.code)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	require.Len(t, lines, len(want))
	for _, w := range want {
		assert.Contains(t, r.stdout, fmt.Sprintf("%s:%d:%d: %s\n", w.Path, w.Line, w.Column, w.Preview))
	}
	assert.Equal(t, fmt.Sprintf("apikey: scan: found %d keys\n", len(want)), r.stderr)
	assertNoKeyMaterial(t, r.stdout+r.stderr, keys...)

	// A single file, and a tree without keys.
	r = runInProcess(t, "", "scan", "--json", filepath.Join(dir, ".env"))
	assert.Equal(t, 1, r.code)
	assert.Len(t, scanJSON(t, r), len(keys))
	clean := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(clean, "a.txt"), []byte(nearMisses(keys)), 0o644))
	r = runInProcess(t, "", "scan", "--json", clean)
	assert.Equal(t, 0, r.code, r.String())
	assert.Equal(t, "[]\n", r.stdout)

	// --git also scans the plain files of .git.
	r = runInProcess(t, "", "scan", "--json", "--git", filepath.Join(dir, "repo"))
	assert.Equal(t, 1, r.code, r.String())
	found := scanJSON(t, r)
	require.Len(t, found, 1)
	assert.Equal(t, filepath.Join(dir, "repo", ".git", "config"), found[0].Path)
}

// TestGitleaksRuleMatchesThePlants checks the regular expression of the
// gitleaks rule, for every format, against the same plants as scan: it
// matches each key exactly, with enough entropy, and nothing in the near
// misses. The rule file the project ships is the rule for the defaults.
func TestGitleaksRuleMatchesThePlants(t *testing.T) {
	keys := plantKeys(t)
	_, texts, _ := plantedTree(t, keys)
	regexLine := regexp.MustCompile(`(?m)^regex = '''(.*)'''$`)
	for i, c := range plantConfigs {
		var rule bytes.Buffer
		require.NoError(t, gitleaksRule(&rule, c.prefix, c.bits))
		m := regexLine.FindStringSubmatch(rule.String())
		require.NotNil(t, m, rule.String())
		re := regexp.MustCompile(m[1]) // RE2, as gitleaks uses
		for name, content := range texts {
			var matched []string
			for _, sm := range re.FindAllStringSubmatch(content, -1) {
				matched = append(matched, sm[1])
			}
			if name == "notes/near_misses.txt" {
				// A pattern cannot check the checksum: of the near misses,
				// it matches the key with a changed last character (which
				// scan refuses), and nothing else.
				require.Len(t, matched, 1, "%s/%d in %s", c.prefix, c.bits, name)
				assert.NotEqual(t, keys[i], matched[0])
				assert.Equal(t, keys[i][:len(keys[i])-1], matched[0][:len(matched[0])-1])
				continue
			}
			assert.Len(t, matched, strings.Count(content, keys[i]), "%s/%d in %s", c.prefix, c.bits, name)
			for _, s := range matched {
				assert.Equal(t, keys[i], s)
				assert.GreaterOrEqual(t, shannonEntropy(s), 3.5, "the rule's entropy threshold")
			}
		}
	}

	var defaults bytes.Buffer
	defaults.WriteString(gitleaksHeader)
	require.NoError(t, gitleaksRule(&defaults, apikey.DefaultPrefix, defaultSecretBits))
	shipped, err := os.ReadFile("../../docs/gitleaks.toml")
	require.NoError(t, err)
	assert.Equal(t, defaults.String(), string(shipped), "docs/gitleaks.toml is the output of 'apikey gitleaks-rule --config'")
	assert.Contains(t, string(shipped), `ak_[0-9A-Za-z]{49}`)

	r := runInProcess(t, "", "gitleaks-rule", "--prefix", "acme_live", "--secret-bits", "512")
	require.Equal(t, 0, r.code, r.String())
	assert.Contains(t, r.stdout, `regex = '''(acme_live_[0-9A-Za-z]{108})(?:[^0-9A-Za-z]|$)'''`)
	for _, bad := range [][]string{{"--secret-bits", "100"}, {"--prefix", "Bad"}, {"--secret-bits", "1024"}} {
		r := runInProcess(t, "", append([]string{"gitleaks-rule"}, bad...)...)
		assert.Equal(t, 2, r.code, "%v: %s", bad, r)
		assert.Empty(t, r.stdout)
	}
}

// shannonEntropy is the entropy in bits per character that gitleaks
// compares with a rule's entropy.
func shannonEntropy(s string) float64 {
	counts := map[rune]int{}
	for _, r := range s {
		counts[r]++
	}
	var h float64
	for _, n := range counts {
		p := float64(n) / float64(len(s))
		h -= p * math.Log2(p)
	}
	return h
}

// TestScanGitHistory commits a key and removes it in the next commit: only
// --git finds it, naming the commit that added it, the path and the line.
func TestScanGitHistory(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	t.Setenv("APIKEY_DSN", "")
	keys := plantKeys(t)
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "config dir"), 0o755))
	secrets := filepath.Join(dir, "config dir", "secrets.env")
	require.NoError(t, os.WriteFile(secrets, []byte("A=1\nB=2\nAPI_KEY="+keys[0]+"\n"), 0o644))
	minifiedPath := filepath.Join(dir, "app.min.js")
	require.NoError(t, os.WriteFile(minifiedPath, []byte(minified(keys[3:4])), 0o644))
	git("add", ".")
	git("commit", "-q", "-m", "add config")
	added := git("rev-parse", "HEAD")
	require.NoError(t, os.WriteFile(secrets, []byte("A=1\nB=2\nAPI_KEY=${API_KEY}\n"), 0o644))
	require.NoError(t, os.Remove(minifiedPath))
	git("commit", "-q", "-am", "remove the key")
	git("checkout", "-q", "-b", "other")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "other.go"), []byte("package x\n\n// "+keys[2]+"\n"), 0o644))
	git("add", ".")
	git("commit", "-q", "-m", "on a branch")
	onBranch := git("rev-parse", "HEAD")
	git("checkout", "-q", "-")

	r := runInProcess(t, "", "scan", "--json", dir)
	assert.Equal(t, 0, r.code, "the working tree holds no key: %s", r)

	r = runInProcess(t, "", "scan", "--json", "--git", dir)
	assert.Equal(t, 1, r.code, r.String())
	got := scanJSON(t, r)
	want := []location{
		{Path: "config dir/secrets.env", Commit: added, Line: 3, Column: 9, Preview: apikey.PreviewOf(keys[0])},
		{Path: "other.go", Commit: onBranch, Line: 3, Column: 4, Preview: apikey.PreviewOf(keys[2])},
	}
	for _, l := range locate("app.min.js", minified(keys[3:4]), keys[3]) {
		l.Commit = added
		want = append(want, l)
	}
	sortLocations(want)
	// Findings in .git's plain files (logs) are not at issue here.
	var history []location
	for _, l := range got {
		if l.Commit != "" {
			history = append(history, l)
		}
	}
	assert.Equal(t, want, history)
	assertNoKeyMaterial(t, r.stdout+r.stderr, keys...)
	for _, f := range []string{added + ":config dir/secrets.env:3:9: "} {
		r := runInProcess(t, "", "scan", "--git", "--quiet", dir)
		assert.Contains(t, r.stdout, f)
	}
}

// TestKeyStreamWindows feeds a stream larger than several windows, with keys
// around every window boundary, in pieces of random sizes, and checks that
// keyStream finds what apikey.FindKeys finds in the whole text, with the
// right lines and columns.
func TestKeyStreamWindows(t *testing.T) {
	keys := plantKeys(t)
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for w := 1; w <= 4; w++ {
		for d := -300; d <= 40; d += 17 {
			for b.Len() < w*scanWindow+d {
				if rng.IntN(40) == 0 {
					b.WriteByte('\n')
				} else {
					b.WriteString("ab_c ")
				}
			}
			b.WriteString(keys[rng.IntN(len(keys))])
			b.WriteByte(" \n,_\""[rng.IntN(5)])
		}
	}
	text := b.String()
	var want []location
	apikey.FindKeys([]byte(text), func(start, end int) {
		line := strings.Count(text[:start], "\n") + 1
		col := start - (strings.LastIndexByte(text[:start], '\n') + 1) + 1
		want = append(want, location{Line: line, Column: col, Preview: text[start:end]})
	})
	require.Greater(t, len(want), 50)
	for _, piece := range []int{1 << 20, scanWindow, 4096, 1000, 7} {
		var got []location
		s := newKeyStream()
		s.reset(1, func(m match) { got = append(got, location{Line: m.line, Column: m.column, Preview: m.key}) })
		for rest := text; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(piece))
			s.Write([]byte(rest[:n]))
			rest = rest[n:]
		}
		s.end()
		assert.Equal(t, want, got, "pieces of up to %d bytes", piece)
	}
}

// TestScanFindsNothingInRealCode scans the project's own tree and the Go
// module cache (real code: hundreds of megabytes, tokens, test vectors,
// base64) with the built command: neither holds a key of this library, so
// any finding would be a false positive.
func TestScanFindsNothingInRealCode(t *testing.T) {
	if testing.Short() {
		t.Skip("scans the module cache")
	}
	r := runBinary(t, nil, "scan", "--json", "../..")
	assert.Equal(t, 0, r.code, r.String())
	assert.Equal(t, "[]\n", r.stdout)
	t.Logf("project tree: %s", r.stderr)

	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	require.NoError(t, err)
	cache := strings.TrimSpace(string(out))
	if _, err := os.Stat(cache); err != nil {
		t.Skipf("no module cache at %q", cache)
	}
	r = runBinary(t, nil, "scan", "--json", cache)
	assert.Equal(t, 0, r.code, r.String())
	assert.Equal(t, "[]\n", r.stdout, "false positives in the module cache")
	t.Logf("module cache %s: %s", cache, r.stderr)
	var files int
	_, err = fmt.Sscanf(r.stderr, "Scanned %d files", &files)
	require.NoError(t, err, r.stderr)
	assert.Greater(t, files, 100, "the corpus is real code")
}

// TestScanGitStashAndReflog: --git finds a key that only a stash holds (a
// change to a tracked file, a staged one, an untracked file under stash
// -u) or only the reflog (a commit undone by reset --hard).
func TestScanGitStashAndReflog(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	t.Setenv("APIKEY_DSN", "")
	keys := plantKeys(t)
	require.GreaterOrEqual(t, len(keys), 4)
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
		return strings.TrimSpace(string(out))
	}
	write := func(name, text string) {
		t.Helper()
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	git("init", "-q")
	write("app.env", "A=1\n")
	git("add", ".")
	git("commit", "-q", "-m", "start")

	write("app.env", "A=1\nKEY="+keys[0]+"\n") // a tracked change, stashed
	git("stash", "-q")
	write("app.env", "A=1\nKEY="+keys[1]+"\n") // a staged change, stashed
	git("add", "app.env")
	git("stash", "-q")
	write("new.env", "KEY="+keys[2]+"\n") // an untracked file, stashed with -u
	git("stash", "-q", "-u")
	write("app.env", "A=1\nKEY="+keys[3]+"\n") // committed, then reset away
	git("commit", "-q", "-am", "oops")
	git("reset", "-q", "--hard", "HEAD~1")
	// Only the stash and the reflog hold the keys now; .git's plain files
	// are not scanned by --git's history, so they are left aside below.

	r := runInProcess(t, "", "scan", "--json", "--git", dir)
	assert.Equal(t, 1, r.code, r.String())
	found := map[string]bool{}
	for _, l := range scanJSON(t, r) {
		if l.Commit != "" {
			found[l.Preview] = true
		}
	}
	for i, k := range keys[:4] {
		assert.True(t, found[apikey.PreviewOf(k)], "key %d found in the history", i)
	}
	assertNoKeyMaterial(t, r.stdout+r.stderr, keys...)
}
