package main

import (
	"context"
	"strings"
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLimits checks the command's copies of the library's limits against
// what the library does.
func TestLimits(t *testing.T) {
	_, err := apikey.New(memstore.New(), apikey.WithPrefix(strings.Repeat("a", maxPrefixLength)))
	assert.NoError(t, err, "the longest prefix")
	_, err = apikey.New(memstore.New(), apikey.WithPrefix(strings.Repeat("a", maxPrefixLength+1)))
	assert.Error(t, err, "one character more")

	_, err = apikey.New(memstore.New(), apikey.WithSecretBits(minSecretBits))
	assert.NoError(t, err, "the smallest secret")
	_, err = apikey.New(memstore.New(), apikey.WithSecretBits(minSecretBits-1))
	assert.Error(t, err, "one bit less")

	m, err := apikey.New(memstore.New())
	require.NoError(t, err)
	defer m.Close()
	_, plaintext, err := m.Issue(context.Background(), apikey.IssueRequest{Name: "k", Groups: []string{"g"}, CreatedBy: "t"})
	require.NoError(t, err)
	body, err := apikey.KeyBodyLength(defaultSecretBits)
	require.NoError(t, err)
	assert.Equal(t, len(apikey.DefaultPrefix)+1+body, len(plaintext), "a default key has the default secret size")

	_, err = apikey.ParseKey(strings.Repeat("a", maxKeyLength+1))
	assert.ErrorIs(t, err, apikey.ErrInvalidKey)
}
