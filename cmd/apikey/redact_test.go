package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nearKeys returns every form of near-key argument built from key: the full
// key where a preview is expected, truncated keys, keys with garbage, keys
// with a typo.
func nearKeys(key string) map[string]string {
	us := strings.LastIndexByte(key, '_')
	typo := []byte(key)
	typo[us+20] ^= 0x20 // swap the case of a letter, or change a digit
	return map[string]string{
		"full key":                key,
		"full key as preview":     key + "…" + key[len(key)-4:],
		"full key, ASCII dots":    key[:us+5] + "..." + key[us+5:],
		"preview then key":        apikey.PreviewOf(key) + key,
		"truncated by one":        key[:len(key)-1],
		"truncated to 20":         key[:20],
		"truncated to 12":         key[:12],
		"truncated to 9":          key[:9],
		"without checksum":        key[:len(key)-6],
		"body only":               key[us+1:],
		"lookup ID only":          key[us+1 : us+13],
		"key plus garbage":        key + "x",
		"key plus punctuation":    key + "!",
		"key plus space and text": key + " oops",
		"garbage plus key":        "x" + key,
		"quoted key":              `"` + key + `"`,
		"key with a typo":         string(typo),
		"key with a line break":   key + "\n",
		"key twice":               key + key,
	}
}

// TestNearKeyArgumentsNeverEchoed gives every command every near-key form
// of a real key, in every position that takes an argument, and checks that
// no output holds more of the key than its preview.
func TestNearKeyArgumentsNeverEchoed(t *testing.T) {
	t.Setenv("APIKEY_DSN", filepath.Join(t.TempDir(), "keys.db"))
	t.Setenv("APIKEY_TABLE", "")
	t.Setenv("APIKEY_PREFIX", "")
	t.Setenv("APIKEY_OWNER", "default")
	r := runInProcess(t, "", "migrate")
	require.Equal(t, 0, r.code, r.String())
	r = runInProcess(t, "", "create", "--name", "admin", "--group", "apikeys:admin")
	require.Equal(t, 0, r.code, r.String())
	key := strings.TrimSpace(r.stdout)
	// Another key, so that the database never looks empty to the group
	// check, even once a run deleted the first.
	r = runInProcess(t, "", "create", "--name", "keeper", "--group", "apikeys:admin")
	require.Equal(t, 0, r.code, r.String())
	unknown := issueKey(t, keyConfig{"ak", 160})
	long := issueKey(t, keyConfig{"acme_live", 512})

	runs := 0
	for _, k := range []string{key, unknown, long} {
		for form, arg := range nearKeys(k) {
			for _, args := range [][]string{
				{"show", arg}, {"show", "--json", arg}, {"activate", arg}, {"deactivate", arg},
				{"rename", arg, "new name"}, {"rename", "--name", "n2", arg}, {"groups", arg, "--group", "apikeys:admin"},
				{"delete", "--yes", arg}, {"delete", arg},
				{"create", arg}, {"create", "--name", "n", "--group", arg}, {"create", "--name", "n", "--group", "g", "--expires", arg},
				{"list", "--status", arg}, {"list", "--group", arg}, {"list", "--limit", arg}, {"list", "--limit=" + arg},
				{arg}, {"help", arg}, {"--prefix", arg, "list"}, {"list", "--" + arg},
				{"scan", "--quiet", arg}, {"gitleaks-rule", "--prefix", arg}, {"gitleaks-rule", "--secret-bits", arg},
			} {
				r := runInProcess(t, "", args...)
				runs++
				out := r.stdout + r.stderr
				if args[0] == "gitleaks-rule" && validPrefix(arg) {
					// A truncated key whose characters all fit a prefix
					// (lowercase and digits): the rule asked for holds the
					// prefix asked for.
					out = r.stderr
				}
				assertNoKeyMaterial(t, out, k)
				if t.Failed() {
					t.Fatalf("%s: apikey %q:\n%s", form, args, r)
				}
				if args[0] == "deactivate" && r.code == 0 {
					runInProcess(t, "", "activate", key)
				}
			}
		}
	}
	t.Logf("%d runs", runs)

	// A full key given as a name is refused, not stored to be shown forever.
	for _, args := range [][]string{
		{"create", "--name", "prod " + key, "--group", "g"},
		{"create", "--name", "n", "--group", "g", "--created-by", key},
		{"rename", key, key},
		{"rename", key, "--name", "x" + key + "!"},
		{"create", "--name", "n", "--group", "g," + key},
		{"groups", key, "--group", key},
	} {
		r := runInProcess(t, "", args...)
		assert.Equal(t, 2, r.code, r.String())
		assert.Contains(t, r.stderr, "holds an API key")
		assertNoKeyMaterial(t, r.stdout+r.stderr, key)
	}
}

func TestMayEcho(t *testing.T) {
	for _, tc := range []struct {
		s    string
		echo bool
	}{
		{"not-a-key", true},
		{"ak_3Fq9…x7Ab", true},
		{"ak_3Fq9...x7Ab", true},
		{"01a22cfd-d03a-7c3e-abca-4ce8eb75075c", true},
		{"billing:read", true},
		{"ak_3Fq9A", false},
		{"3Fq9AbCdE", false},
		{"ak_3Fq9AbCdEfGh", false},
		{"", true},
		{"active", true},
	} {
		assert.Equal(t, tc.echo, mayEcho(tc.s), tc.s)
	}
}
