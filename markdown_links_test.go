package apikey_test

import (
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// markdownFiles returns the Markdown files of the repository (every
// module), skipping hidden and underscore directories.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(name, ".md") {
			files = append(files, path)
		}
		return nil
	})
	require.NoError(t, err)
	require.Contains(t, files, "README.md")
	return files
}

var (
	fence        = regexp.MustCompile("(?ms)^ {0,3}(```|~~~).*?^ {0,3}(```|~~~)[ \t]*$")
	codeSpan     = regexp.MustCompile("`+[^`]*`+")
	inlineLink   = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	refLinkDef   = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)`)
	htmlLink     = regexp.MustCompile(`(?i)\b(?:href|src)\s*=\s*"([^"]*)"`)
	atxHeading   = regexp.MustCompile(`(?m)^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$`)
	linkInHeader = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	scheme       = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// withoutCode blanks fenced blocks and code spans, where brackets are not
// links.
func withoutCode(text string) string {
	text = fence.ReplaceAllStringFunc(text, func(s string) string { return strings.Repeat("\n", strings.Count(s, "\n")) })
	return codeSpan.ReplaceAllString(text, "")
}

// anchors returns the heading anchors GitHub makes for a Markdown text:
// lower case; letters, digits, spaces, '-' and '_' kept, spaces turned into
// '-', the rest dropped; a repeated anchor gets -1, -2, ...
func anchors(text string) map[string]bool {
	text = fence.ReplaceAllString(text, "")
	seen := map[string]int{}
	out := map[string]bool{}
	for _, m := range atxHeading.FindAllStringSubmatch(text, -1) {
		heading := linkInHeader.ReplaceAllString(m[1], "$1")
		var b strings.Builder
		for _, r := range strings.ToLower(heading) {
			switch {
			case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		slug := b.String()
		if n := seen[slug]; n > 0 {
			out[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out
}

func TestAnchors(t *testing.T) {
	got := anchors("# A key leaked\n## `apikey scan`\n### Owners: one tab, per organization\n## Notes\n## Notes\n```\n# not a heading\n```\n## [Link](x.md) text\n")
	assert.Equal(t, map[string]bool{"a-key-leaked": true, "apikey-scan": true, "owners-one-tab-per-organization": true,
		"notes": true, "notes-1": true, "link-text": true}, got)
}

// Every relative link of every Markdown file resolves: the file or
// directory exists, and an anchor into a Markdown file names one of its
// headings.
func TestMarkdownLinksResolve(t *testing.T) {
	if _, err := os.Stat(filepath.Join("examples", "go.mod")); err != nil {
		// A module zip (go test all in a module that requires this one)
		// holds no nested module, which the links point into.
		t.Skip("not a repository checkout: the nested modules are absent")
	}
	texts := map[string]string{}
	for _, file := range markdownFiles(t) {
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		texts[file] = string(b)
	}
	checked := 0
	for file, text := range texts {
		prose := withoutCode(text)
		var targets []string
		for _, re := range []*regexp.Regexp{inlineLink, refLinkDef, htmlLink} {
			for _, m := range re.FindAllStringSubmatch(prose, -1) {
				targets = append(targets, m[1])
			}
		}
		for _, target := range targets {
			if scheme.MatchString(target) || strings.HasPrefix(target, "//") {
				continue // absolute: not checked offline
			}
			checked++
			path, anchor, _ := strings.Cut(target, "#")
			if p, err := url.PathUnescape(path); err == nil {
				path = p
			}
			dest := file
			if path != "" {
				if strings.HasPrefix(path, "/") {
					dest = filepath.Clean(strings.TrimPrefix(path, "/"))
				} else {
					dest = filepath.Join(filepath.Dir(file), path)
				}
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s: link %q: %s does not exist", file, target, dest)
					continue
				}
			}
			if anchor == "" || !strings.HasSuffix(dest, ".md") {
				continue
			}
			destText, ok := texts[filepath.Clean(dest)]
			if !ok {
				b, err := os.ReadFile(dest)
				require.NoError(t, err)
				destText = string(b)
			}
			if !anchors(destText)[anchor] {
				t.Errorf("%s: link %q: %s has no heading with anchor #%s", file, target, dest, anchor)
			}
		}
	}
	assert.Greater(t, checked, 20, "the test found the relative links")
}
