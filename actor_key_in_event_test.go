package apikey_test

import (
	"context"
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An actor whose ID, name or preview holds a full key (an application that
// names its actors by the key they sent) leaves only the key's preview in
// the events of their changes.
func TestActorKeyRedactedInEvents(t *testing.T) {
	m := newManager(t, memstore.New())
	k, plaintext := issue(t, m, "n", "g")
	ctx := apikey.NewActorContext(context.Background(), apikey.Actor{ID: plaintext, Name: "admin " + plaintext, Preview: plaintext, Groups: []string{"g"}})
	require.NoError(t, m.Deactivate(ctx, k.ID))
	page, err := m.Events(context.Background(), apikey.EventOptions{KeyID: k.ID, Newest: true, Limit: 1})
	require.NoError(t, err)
	require.Len(t, page.Events, 1)
	e := page.Events[0]
	assert.Equal(t, k.Preview, e.ActorID)
	assert.Equal(t, "admin "+k.Preview, e.ActorName)
	assert.Equal(t, k.Preview, e.ActorPreview)
}
