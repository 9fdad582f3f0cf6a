package apikey_test

import (
	"context"
	"errors"
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A full key is refused in every stored text a caller chooses (name,
// created-by, metadata values), for trusted callers too; its preview is
// not a key. A reason that quotes a key is redacted, never refused.
func TestFullKeyRefusedInStoredText(t *testing.T) {
	ctx := context.Background()
	m, err := apikey.New(memstore.New())
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	k, plaintext, err := m.Issue(ctx, apikey.IssueRequest{Name: "leaky", Groups: []string{"g"}, CreatedBy: "ops"})
	require.NoError(t, err)

	field := func(err error) string {
		var v *apikey.ValidationError
		if errors.As(err, &v) {
			return v.Field
		}
		return ""
	}
	_, _, err = m.Issue(ctx, apikey.IssueRequest{Name: "copy of " + plaintext, Groups: []string{"g"}, CreatedBy: "ops"})
	assert.ErrorIs(t, err, apikey.ErrInvalidName, "a key in the name")
	assert.Equal(t, "Name", field(err))
	_, _, err = m.Issue(ctx, apikey.IssueRequest{Name: "n", Groups: []string{"g"}, CreatedBy: plaintext})
	assert.ErrorIs(t, err, apikey.ErrInvalidName, "a key in created-by")
	assert.Equal(t, "CreatedBy", field(err))
	_, _, err = m.Issue(ctx, apikey.IssueRequest{Name: "n", Groups: []string{"g"}, CreatedBy: "ops", Metadata: map[string]string{"note": "old key " + plaintext}})
	assert.ErrorIs(t, err, apikey.ErrInvalidMetadata, "a key in a metadata value")
	assert.NotContains(t, err.Error(), plaintext, "the error never quotes the key")
	assert.ErrorIs(t, m.Rename(ctx, k.ID, plaintext), apikey.ErrInvalidName, "a key as a new name")
	_, _, err = m.Roll(apikey.NewActorContext(ctx, apikey.Actor{Name: "admin " + plaintext, Groups: []string{"g"}}), k.ID, apikey.RollRequest{})
	assert.ErrorIs(t, err, apikey.ErrInvalidName, "a key in an actor's name, which becomes CreatedBy")

	_, _, err = m.Issue(ctx, apikey.IssueRequest{Name: "replaces " + k.Preview, Groups: []string{"g"}, CreatedBy: "ops", Metadata: map[string]string{"was": k.Preview}})
	assert.NoError(t, err, "a preview is not a key")

	revoke := apikey.NewChangeContext(ctx, apikey.Change{ActorName: "scan " + plaintext, Reason: "found " + plaintext + " in a log"})
	require.NoError(t, m.Deactivate(revoke, k.ID), "a revocation that quotes the key still happens")
	page, err := m.Events(ctx, apikey.EventOptions{KeyID: k.ID, Newest: true, Limit: 1})
	require.NoError(t, err)
	require.Len(t, page.Events, 1)
	assert.Equal(t, "found "+k.Preview+" in a log", page.Events[0].Reason, "redacted to its preview")
	assert.Equal(t, "scan "+k.Preview, page.Events[0].ActorName)
}
