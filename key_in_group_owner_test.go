package apikey_test

import (
	"context"
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A full key is refused as a group or an owner too, for trusted callers:
// both are stored with the key, printed by Key's Format, listed, written
// in events, usage rows and limiter counter names.
func TestFullKeyRefusedAsGroupOrOwner(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, memstore.New())
	k, plaintext := issue(t, m, "leaky", "g")

	_, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "n", Groups: []string{plaintext}, CreatedBy: "ops"})
	require.ErrorIs(t, err, apikey.ErrInvalidGroup, "a key as a group")
	assert.NotContains(t, err.Error(), plaintext, "the error never quotes the key")
	assert.ErrorIs(t, m.SetGroups(ctx, k.ID, []string{"g", plaintext}), apikey.ErrInvalidGroup)
	err = apikey.ValidateGroup(plaintext + "!")
	require.ErrorIs(t, err, apikey.ErrInvalidGroup, "a key in a group of invalid characters")
	assert.NotContains(t, err.Error(), plaintext, "the reason does not quote it")
	_, _, err = m.Issue(ctx, apikey.IssueRequest{Name: "n", Groups: []string{"g"}, CreatedBy: "ops", Owner: plaintext})
	require.ErrorIs(t, err, apikey.ErrInvalidOwner, "a key as an owner")
	assert.NotContains(t, err.Error(), plaintext)

	_, err = m.List(ctx, apikey.ListOptions{Owner: plaintext})
	assert.ErrorIs(t, err, apikey.ErrInvalidOwner)
	got, err := m.Get(ctx, k.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"g"}, got.Groups, "the refused change changed nothing")
}
