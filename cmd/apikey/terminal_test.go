package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEscapeText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain name", "plain name"},
		{"Café 請求 🚀", "Café 請求 🚀"},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"two\nlines\r", `two\x0alines\x0d`},
		{"tab\there", `tab\x09here`},
		{"del\x7f", `del\x7f`},
		{"c1\u009bx", `c1\x9bx`},
		{"evil\u202egnp.exe", `evil\u202egnp.exe`},
		{"\u2066isolate\u2069", `\u2066isolate\u2069`},
		{"mark\u200e\u200f\u061c", `mark\u200e\u200f\u061c`},
		{"line\u2028sep", `line\u2028sep`},
		{"bad\xffutf8", `bad\xffutf8`},
		{`back\slash`, `back\\slash`},
		{`\x1b`, `\\x1b`},
	} {
		assert.Equal(t, c.want, escapeText(c.in), "%q", c.in)
	}
}

func TestDisplayWidth(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"abc", 3},
		{"請求書", 6},
		{"ｆｕｌｌ", 8}, // fullwidth Latin
		{"🚀", 2},
		{"e\u0301", 1}, // e and a combining acute accent
		{"ﾊﾝｶｸ", 4},    // halfwidth katakana
		{"Ünïcödé", 7},
	} {
		assert.Equal(t, c.want, displayWidth(c.in), "%q", c.in)
	}
	assert.Equal(t, "請求…", truncate("請求書の送信", 6), "a wide character never straddles the edge")
	assert.Equal(t, "請求書…", truncate("請求書の送信", 7))
	assert.Equal(t, "short", truncate("short", 5))
	assert.Equal(t, "rock…", truncate("rocket 🚀", 5))
}

// tableKey is a key for the table tests.
func tableKey(name string, groups ...string) *apikey.Key {
	at := time.Date(2026, 1, 31, 9, 30, 0, 0, time.UTC)
	return &apikey.Key{ID: uuid.MustParse("0190d6c2-0000-7000-8000-00000000000" + string(rune('0'+len(name)%10))),
		Owner: "acme", Name: name, Groups: groups, Active: true, Preview: "ak_3Fq9…x7Ab",
		CreatedAt: at, CreatedBy: "alice@example.com", UpdatedAt: at}
}

// TestTableFits80Columns: names of every script, long names and many
// groups still make rows of at most 80 columns, aligned by display width.
func TestTableFits80Columns(t *testing.T) {
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	keys := []*apikey.Key{
		tableKey("CI deploy", "deploy:write"),
		tableKey("請求書の同期ジョブ（本番環境）と月次レポートの自動送信", "billing:read", "billing:write"),
		tableKey("Rocket 🚀 launches 🚀🚀🚀 and more 🚀", "reports:read"),
		tableKey("A very long name for a key that some administrator thought was a description", "a:b", "c:d", "e:f", "g:h", "i:j", "k:l"),
		tableKey("Ünïcödé ç", "reports:read"),
	}
	var b bytes.Buffer
	require.NoError(t, writeTable(&b, keys, now, true, false))
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	require.Len(t, lines, len(keys)+1, b.String())
	assert.Regexp(t, `^KEY +NAME +STATUS +CREATED +LAST USED +GROUPS$`, lines[0], "one owner's keys need no OWNER column")
	statusCol := displayWidth(lines[0][:strings.Index(lines[0], "STATUS")])
	for _, line := range lines {
		assert.LessOrEqual(t, displayWidth(line), 80, "%q", line)
		assert.Equal(t, line, strings.TrimRight(line, " "), "no trailing spaces")
		// Every row's status starts in the STATUS column, counted in
		// display columns: wide characters do not shift the columns.
		prefix := []rune(line)
		cols := 0
		i := 0
		for ; i < len(prefix) && cols < statusCol; i++ {
			cols += runeWidth(prefix[i])
		}
		assert.Equal(t, statusCol, cols, "%q", line)
		assert.Regexp(t, `^(STATUS|active) `, string(prefix[i:]), "%q", line)
	}
	assert.Contains(t, lines[2], "…", "the long CJK name is cut")
	assert.Contains(t, lines[3], "🚀", "emoji survive")
	assert.Contains(t, lines[1], "CI deploy  ", "a short name is whole")
	assert.Contains(t, lines[1], "2026-01-31", "days")
	assert.Contains(t, lines[1], "never")
	assert.NotContains(t, b.String(), "0190d6c2", "the preview, not the UUID")

	// --wide: everything, with the owner for a list of every owner.
	b.Reset()
	require.NoError(t, writeTable(&b, keys, now, true, true))
	lines = strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	assert.Regexp(t, `^ID +OWNER +NAME +STATUS +KEY +CREATED +LAST USED +EXPIRES +CREATED BY +GROUPS$`, lines[0])
	for i, k := range keys {
		assert.Contains(t, lines[i+1], k.ID.String())
		assert.Contains(t, lines[i+1], k.Name, "whole")
		assert.Contains(t, lines[i+1], strings.Join(k.Groups, ","), "whole")
		assert.Contains(t, lines[i+1], "2026-01-31T09:30:00Z")
		assert.Contains(t, lines[i+1], "alice@example.com")
	}
	nameCol := displayWidth(lines[0][:strings.Index(lines[0], "NAME")])
	for _, line := range lines[1:] {
		assert.Equal(t, "acme", strings.Fields(line)[1])
		statusAt := strings.Index(line, "  active ")
		assert.Greater(t, statusAt, nameCol)
	}
	b.Reset()
	require.NoError(t, writeTable(&b, keys, now, false, true))
	assert.NotContains(t, b.String(), "OWNER")
}
