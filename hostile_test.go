package apikey_test

import (
	"context"
	"errors"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// withChecksum appends a correct checksum to s, so that a test can build
// strings that pass the checksum and must be refused for another reason.
func withChecksum(s string) string {
	v := crc32.Checksum([]byte(s), crc32.MakeTable(crc32.Castagnoli))
	var sum [6]byte
	for i := 5; i >= 0; i-- {
		sum[i] = base62[v%62]
		v /= 62
	}
	return s + string(sum[:])
}

func swapCase(s string, i int) string {
	b := []byte(s)
	switch c := b[i]; {
	case 'a' <= c && c <= 'z':
		b[i] = c - 32
	case 'A' <= c && c <= 'Z':
		b[i] = c + 32
	default:
		b[i] = 'x'
	}
	return string(b)
}

// hostileKeys returns strings that must all be refused as ErrInvalidKey
// without a Store call, built around the genuine key plaintext.
func hostileKeys(k *apikey.Key, plaintext string) map[string]string {
	body := strings.TrimPrefix(plaintext, "acme_live_")
	unchecked := plaintext[:len(plaintext)-6]
	return map[string]string{
		"empty":                        "",
		"10 KB":                        strings.Repeat("A", 10<<10),
		"10 KB after the key":          plaintext + strings.Repeat("A", 10<<10),
		"NUL inside":                   plaintext[:20] + "\x00" + plaintext[20:],
		"NUL at the end":               plaintext + "\x00",
		"CR LF at the end":             plaintext + "\r\n",
		"CR LF header injection":       plaintext + "\r\nX-Admin: 1",
		"leading space":                " " + plaintext,
		"trailing space":               plaintext + " ",
		"tab inside":                   plaintext[:10] + "\t" + plaintext[10:],
		"invalid UTF-8":                "\xff\xfe" + plaintext,
		"invalid UTF-8 inside":         plaintext[:15] + "\xc3\x28" + plaintext[15:],
		"zero-width space inside":      plaintext[:12] + "\u200b" + plaintext[12:],
		"zero-width joiner at end":     plaintext + "\u200d",
		"right-to-left override":       "\u202e" + plaintext,
		"homoglyph prefix (Cyrillic)":  strings.Replace(plaintext, "a", "\u0430", 1),
		"full-width prefix":            "ｓｋ_ｌｉｖｅ_" + body,
		"full-width digit in body":     plaintext[:14] + "１" + plaintext[15:],
		"wrong checksum":               swapCase(plaintext, len(plaintext)-1),
		"one character short":          plaintext[:len(plaintext)-1],
		"one character long":           plaintext + "A",
		"case changed in secret":       swapCase(plaintext, 30),
		"case changed prefix":          withChecksum("ACME_LIVE_" + unchecked[len("acme_live_"):]),
		"whole key upper case":         strings.ToUpper(plaintext),
		"another vendor's prefix":      withChecksum("ghp_" + unchecked[len("acme_live_"):]),
		"test prefix for live key":     withChecksum("acme_test_" + unchecked[len("acme_live_"):]),
		"no prefix":                    body,
		"prefix only":                  "acme_live_",
		"underscore only":              "_",
		"doubled underscore":           withChecksum("acme_live__" + unchecked[len("acme_live_"):]),
		"secret too short":             withChecksum(unchecked[:len("acme_live_")+12+10]),
		"base64 characters":            withChecksum(unchecked[:30] + "+/" + unchecked[32:]),
		"padding appended":             plaintext + "==",
		"percent-encoded":              strings.Replace(plaintext, "_", "%5F", -1),
		"bearer inside":                "Bearer " + plaintext,
		"key twice":                    plaintext + plaintext,
		"the preview":                  k.Preview,
		"the preview without ellipsis": strings.Replace(k.Preview, "…", "", 1),
		"the stored hash":              k.Hash,
		"the lookup ID":                k.LookupID,
		"the ID":                       k.ID.String(),
		"emoji":                        "🔑",
		"null":                         "null",
		"SQL injection":                "acme_live_' OR '1'='1",
	}
}

func TestHostileStringsNeverReachTheStore(t *testing.T) {
	store := newCountingStore()
	m := newManager(t, store, apikey.WithPrefix("acme_live"))
	k, plaintext := issue(t, m, "genuine", "read")
	ctx := context.Background()

	// The genuine key works, so the refusals below are about the strings.
	_, err := m.Verify(ctx, plaintext)
	require.NoError(t, err)

	cases := hostileKeys(k, plaintext)
	require.GreaterOrEqual(t, len(cases), 30)
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			before := store.calls.Load()
			_, perr := apikey.ParseKey(s)
			if name != "test prefix for live key" && name != "another vendor's prefix" {
				assert.ErrorIs(t, perr, apikey.ErrInvalidKey, "ParseKey")
			}
			got, err := m.Verify(ctx, s)
			assert.Nil(t, got)
			assert.ErrorIs(t, err, apikey.ErrInvalidKey)
			assert.Equal(t, before, store.calls.Load(), "the string reached the store")
			if err != nil && len(s) > 4 {
				assert.NotContains(t, err.Error(), s, "the error echoes the input")
			}
		})
	}
}

func TestWellFormedUnknownKeyIsInvalid(t *testing.T) {
	store := newCountingStore()
	m := newManager(t, store)
	_, plaintext := issue(t, m, "genuine", "read")
	// Same format, same prefix, correct checksum, but a lookup ID no key has.
	forged := withChecksum("ak_" + strings.Repeat("Z", 12) + plaintext[15:len(plaintext)-6])
	before := store.calls.Load()
	_, err := m.Verify(context.Background(), forged)
	assert.ErrorIs(t, err, apikey.ErrInvalidKey)
	assert.Equal(t, before+1, store.calls.Load())

	// The genuine lookup ID with another secret.
	forged = withChecksum(plaintext[:15] + strings.Repeat("Q", len(plaintext)-21))
	_, err = m.Verify(context.Background(), forged)
	assert.ErrorIs(t, err, apikey.ErrInvalidKey)
	assert.False(t, errors.Is(err, apikey.ErrStoreFailure))
}

// FuzzParseKey checks that no input panics, that accepted input is a key
// whose parts join back into it, and that anything accepted has a valid
// checksum (a random mutation of a key is refused).
func FuzzParseKey(f *testing.F) {
	m, _ := apikey.New(newCountingStore(), apikey.WithLastUsedFlushInterval(-1))
	k, plaintext, _ := m.Issue(context.Background(), apikey.IssueRequest{Name: "seed", Groups: []string{"a"}, CreatedBy: "fuzz"})
	for _, s := range hostileKeys(k, plaintext) {
		f.Add(s)
	}
	f.Add(plaintext)
	f.Fuzz(func(t *testing.T, s string) {
		parts, err := apikey.ParseKey(s)
		if err != nil {
			if !errors.Is(err, apikey.ErrInvalidKey) {
				t.Fatalf("error %v does not wrap ErrInvalidKey", err)
			}
			return
		}
		joined := parts.Prefix + "_" + parts.LookupID + parts.Secret + parts.Checksum
		if joined != s {
			t.Fatalf("parts do not join back into the input")
		}
		if withChecksum(s[:len(s)-6]) != s {
			t.Fatalf("accepted a string with a wrong checksum")
		}
	})
}

// FuzzVerify checks that Verify never panics, never succeeds for anything
// but the genuine key, and refuses malformed input without a store call.
func FuzzVerify(f *testing.F) {
	store := newCountingStore()
	m, _ := apikey.New(store, apikey.WithLastUsedFlushInterval(-1))
	k, plaintext, _ := m.Issue(context.Background(), apikey.IssueRequest{Name: "seed", Groups: []string{"a"}, CreatedBy: "fuzz"})
	for _, s := range hostileKeys(k, plaintext) {
		f.Add(s)
	}
	f.Add(plaintext)
	f.Fuzz(func(t *testing.T, s string) {
		before := store.calls.Load()
		got, err := m.Verify(context.Background(), s)
		if err == nil {
			if s != plaintext || got.ID != k.ID {
				t.Fatalf("Verify accepted a string that is not the key")
			}
			return
		}
		if !errors.Is(err, apikey.ErrInvalidKey) {
			t.Fatalf("Verify: %v", err)
		}
		if _, perr := apikey.ParseKey(s); perr != nil && store.calls.Load() != before {
			t.Fatalf("a malformed string reached the store")
		}
	})
}
