package apikey_test

import (
	"strings"
	"testing"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHashers(t *testing.T) {
	hmacHasher, err := apikey.NewHMACHasher("k1", []byte(strings.Repeat("s", 32)))
	require.NoError(t, err)
	cases := map[string]struct {
		h      apikey.Hasher
		prefix string
	}{
		"sha256":   {apikey.SHA256Hasher{}, "$sha256$"},
		"hmac":     {hmacHasher, "$hmac-sha256$k=k1$"},
		"argon2id": {apikey.Argon2idHasher{Memory: 1024, Time: 1}, "$argon2id$v=19$m=1024,t=1,p=1$"},
		"bcrypt":   {apikey.BcryptHasher{Cost: 4}, "$bcrypt-sha256$$2a$04$"},
	}
	const key = "ak_0123456789ABcdefghijklmnopqrstuvwxyzABCDEFGH"
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			encoded, err := tc.h.Hash(key)
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(encoded, tc.prefix), encoded)
			assert.NotContains(t, encoded, key)
			assert.False(t, tc.h.NeedsRehash(encoded))

			ok, err := tc.h.Verify(key, encoded)
			require.NoError(t, err)
			assert.True(t, ok)
			for _, wrong := range []string{key[:len(key)-1] + "I", key + "x", "", strings.ToUpper(key)} {
				ok, err = tc.h.Verify(wrong, encoded)
				require.NoError(t, err)
				assert.False(t, ok, "verified %q", wrong)
			}
			for _, corrupt := range []string{"", "$", encoded[:len(encoded)-3], "$sha1$abc", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"} {
				ok, err := tc.h.Verify(key, corrupt)
				assert.False(t, ok, "verified against %q", corrupt)
				if err == nil {
					assert.True(t, tc.h.NeedsRehash(corrupt) || strings.HasPrefix(corrupt, tc.prefix[:8]))
				}
			}
		})
	}
	// Every other hasher refuses what one writes, so the Manager finds the
	// right one by trying them in turn.
	for name, tc := range cases {
		encoded, err := tc.h.Hash(key)
		require.NoError(t, err)
		for other, oc := range cases {
			if other == name {
				continue
			}
			_, err := oc.h.Verify(key, encoded)
			assert.ErrorIs(t, err, apikey.ErrUnsupportedHash, "%s reading %s", other, name)
			assert.True(t, oc.h.NeedsRehash(encoded), "%s on %s", other, name)
		}
	}
}

func TestHasherParametersTriggerRehash(t *testing.T) {
	weak, err := apikey.Argon2idHasher{Memory: 1024, Time: 1}.Hash("k")
	require.NoError(t, err)
	assert.True(t, apikey.Argon2idHasher{Memory: 2048, Time: 1}.NeedsRehash(weak))
	cheap, err := apikey.BcryptHasher{Cost: 4}.Hash("k")
	require.NoError(t, err)
	assert.True(t, apikey.BcryptHasher{Cost: 5}.NeedsRehash(cheap))
	ok, err := apikey.BcryptHasher{Cost: 12}.Verify("k", cheap)
	require.NoError(t, err)
	assert.True(t, ok, "parameters are read from the encoded hash")
}

func TestNewHMACHasherRefusesWeakConfig(t *testing.T) {
	_, err := apikey.NewHMACHasher("k1", []byte("short"))
	assert.Error(t, err)
	_, err = apikey.NewHMACHasher("K$1", []byte(strings.Repeat("s", 32)))
	assert.Error(t, err)
	_, err = apikey.NewHMACHasher("", []byte(strings.Repeat("s", 32)))
	assert.Error(t, err)
}

// A stored hash claiming an absurd cost is not run: it would tie up the
// server.
func TestBcryptRefusesHugeCosts(t *testing.T) {
	planted := "$bcrypt-sha256$$2a$31$" + strings.Repeat("a", 53)
	ok, err := apikey.BcryptHasher{}.Verify("ak_key", planted)
	assert.False(t, ok)
	assert.ErrorIs(t, err, apikey.ErrUnsupportedHash)
	_, err = apikey.BcryptHasher{Cost: 17}.Hash("ak_key")
	assert.Error(t, err)
}
