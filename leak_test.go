package apikey_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeyBodyLength(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		bits   int
	}{
		{"ak", 128}, {"ak", 160}, {"acme", 256},
		{"acme_live", 384}, {"x", 512}, {"p123456789abcdef", 512},
	} {
		m, err := apikey.New(memstore.New(), apikey.WithPrefix(tc.prefix), apikey.WithSecretBits(tc.bits))
		require.NoError(t, err)
		_, plaintext := issue(t, m, "k", "g")
		m.Close()
		n, err := apikey.KeyBodyLength(tc.bits)
		require.NoError(t, err)
		assert.Equal(t, len(plaintext)-len(tc.prefix)-1, n, "%+v", tc)
		assert.LessOrEqual(t, len(plaintext), 256, "%+v", tc)
	}
	n, err := apikey.KeyBodyLength(160)
	require.NoError(t, err)
	assert.Equal(t, 49, n, "the default body length is documented")
	n, err = apikey.KeyBodyLength(128)
	require.NoError(t, err)
	assert.Equal(t, apikey.MinKeyBodyLength, n)
	for _, bits := range []int{0, 127, 513} {
		_, err := apikey.KeyBodyLength(bits)
		assert.Error(t, err, bits)
	}
}

func TestIdentify(t *testing.T) {
	ctx := context.Background()
	store := newCountingStore()
	m, err := apikey.New(store, apikey.WithLastUsedFlushInterval(-1))
	require.NoError(t, err)
	defer m.Close()
	k, plaintext := issue(t, m, "k", "g")

	got, err := m.Identify(ctx, plaintext)
	require.NoError(t, err)
	assert.Equal(t, k.ID, got.ID)

	// Identifying is not using: no last-used time, even after a flush.
	require.NoError(t, m.Flush(ctx))
	got, err = m.Get(ctx, k.ID)
	require.NoError(t, err)
	assert.Nil(t, got.LastUsedAt)

	// Inactive keys are identified too: a leak of a revoked key is news.
	require.NoError(t, m.Deactivate(ctx, k.ID))
	got, err = m.Identify(ctx, plaintext)
	require.NoError(t, err)
	assert.False(t, got.Active)

	// Keys of another prefix in the same store: the hash decides.
	other, err := apikey.New(store, apikey.WithPrefix("acme_live"), apikey.WithSecretBits(512), apikey.WithLastUsedFlushInterval(-1))
	require.NoError(t, err)
	defer other.Close()
	k2, plaintext2 := issue(t, other, "k", "g")
	got, err = m.Identify(ctx, plaintext2)
	require.NoError(t, err)
	assert.Equal(t, k2.ID, got.ID)

	parts, err := apikey.ParseKey(plaintext)
	require.NoError(t, err)
	forgedSecret := withChecksum("ak_" + parts.LookupID + strings.Repeat("A", len(parts.Secret)))
	forgedPrefix := withChecksum("zz_" + plaintext[3:len(plaintext)-6])
	unknown := withChecksum("ak_" + strings.Repeat("B", 12) + parts.Secret)
	for name, s := range map[string]string{
		"forged secret":       forgedSecret,
		"forged prefix":       forgedPrefix,
		"unknown lookup ID":   unknown,
		"wrong checksum":      plaintext[:len(plaintext)-1] + "!",
		"truncated":           plaintext[:30],
		"preview":             k.Preview,
		"empty":               "",
		"key with whitespace": " " + plaintext,
	} {
		_, err := apikey.ParseKey(s)
		if name == "forged secret" || name == "forged prefix" || name == "unknown lookup ID" {
			require.NoError(t, err, "%s is well formed", name)
		}
		got, err := m.Identify(ctx, s)
		assert.ErrorIs(t, err, apikey.ErrInvalidKey, name)
		assert.Nil(t, got, name)
		if err != nil && len(s) > 8 {
			assert.NotContains(t, err.Error(), s[3:8], name)
		}
	}

	store.failing.Store(true)
	_, err = m.Identify(ctx, plaintext)
	assert.ErrorIs(t, err, apikey.ErrStoreFailure)
	store.failing.Store(false)

	require.NoError(t, m.Close())
	_, err = m.Identify(ctx, plaintext)
	assert.ErrorIs(t, err, apikey.ErrClosed)
}

// TestFindKeys plants keys of several prefixes and sizes in the contexts
// where leaks happen and checks that FindKeys finds exactly them.
func TestFindKeys(t *testing.T) {
	var keys []string
	for _, c := range []struct {
		prefix string
		bits   int
	}{{"ak", 160}, {"acme", 160}, {"acme_live", 256}, {"ak", 512}, {"p123456789abcdef", 128}} {
		m, err := apikey.New(memstore.New(), apikey.WithPrefix(c.prefix), apikey.WithSecretBits(c.bits))
		require.NoError(t, err)
		_, plaintext := issue(t, m, "k", "g")
		m.Close()
		keys = append(keys, plaintext)
	}
	for _, key := range keys {
		for _, tc := range []struct {
			layout string
			found  bool
		}{
			{"%s", true},
			{"API_KEY=%s\n", true},
			{"export MY_TOKEN_%s", true}, // glued with an underscore
			{"x%s", true},                // glued with a letter
			{`{"k":"%s"}`, true},
			{"key: '%s' # comment", true},
			{"https://api.example.com/?key=%s&x=1", true},
			{"Authorization: Bearer %s\r\n", true},
			{"%s_suffix", true},
			{"a,%[1]s,%[1]s,b", true},
			{"%sX", false}, // followed by base62: another, longer token
			{"%s0", false},
		} {
			text := fmt.Sprintf(tc.layout, key)
			var found []string
			apikey.FindKeys([]byte(text), func(start, end int) { found = append(found, text[start:end]) })
			want := strings.Count(text, key)
			if !tc.found {
				assert.Empty(t, found, tc.layout)
				continue
			}
			require.Len(t, found, want, "%s in %q", key[:8], tc.layout)
			for _, f := range found {
				assert.Equal(t, key, f)
			}
			redacted := apikey.RedactKeys(text)
			assert.NotContains(t, redacted, key[len(key)-20:], tc.layout)
			assert.Equal(t, want, strings.Count(redacted, apikey.PreviewOf(key)))
		}
	}
	// Near misses: a changed character, a truncation, a preview.
	key := keys[0]
	for _, s := range []string{
		key[:len(key)-1] + "0", key[:len(key)-1], key[:20] + "x" + key[21:], apikey.PreviewOf(key),
		"ak_" + strings.Repeat("0", 49), "snake_case_identifier_with_a_veryveryveryveryveryveryverylongname_tail",
	} {
		if s == key {
			continue
		}
		apikey.FindKeys([]byte(s), func(start, end int) { t.Errorf("found %q in a near miss", s[start:end]) })
		assert.Equal(t, s, apikey.RedactKeys(s))
	}
	assert.Equal(t, "", apikey.PreviewOf(key[1:]))
}

// FuzzFindKeys checks that FindKeys reports only well-formed keys, in order,
// within bounds, and never panics.
func FuzzFindKeys(f *testing.F) {
	f.Add([]byte("ak_0123456789ABcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"))
	f.Add([]byte(withChecksum("ak_0123456789ABcdefghijklmnopqrstuvwxyzABCDEFGHIJK") + "\n_"))
	f.Fuzz(func(t *testing.T, text []byte) {
		last := 0
		apikey.FindKeys(text, func(start, end int) {
			if start < last || end <= start || end > len(text) {
				t.Fatalf("bad range %d..%d after %d", start, end, last)
			}
			if _, err := apikey.ParseKey(string(text[start:end])); err != nil {
				t.Fatalf("reported %q: %v", text[start:end], err)
			}
			last = end
		})
	})
}

// Replace any key in a text by its preview before logging or showing it.
func ExampleRedactKeys() {
	m, _ := apikey.New(memstore.New())
	defer m.Close()
	k, plaintext, _ := m.Issue(context.Background(), apikey.IssueRequest{Name: "ci", Groups: []string{"deploy"}, CreatedBy: "alice"})

	line := "request failed with X-API-Key: " + plaintext
	redacted := apikey.RedactKeys(line)
	fmt.Println(strings.Contains(redacted, plaintext), redacted == "request failed with X-API-Key: "+k.Preview)
	// Output: false true
}

// Identify names a leaked key without using it, then Deactivate revokes it.
func ExampleManager_Identify() {
	ctx := context.Background()
	m, _ := apikey.New(memstore.New())
	defer m.Close()
	issued, plaintext, _ := m.Issue(ctx, apikey.IssueRequest{Name: "partner", Groups: []string{"read"}, CreatedBy: "bob"})

	found, err := m.Identify(ctx, plaintext) // as found by a scanner
	fmt.Println(found.ID == issued.ID, err)
	_ = m.Deactivate(ctx, found.ID)

	_, err = m.Identify(ctx, plaintext[:len(plaintext)-1]+"x")
	fmt.Println(errors.Is(err, apikey.ErrInvalidKey))
	// Output:
	// true <nil>
	// true
}
