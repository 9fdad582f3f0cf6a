package apikey_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNewChangeContext checks that trusted code names its changes, that
// an actor takes precedence over the name (not over the reason), and that
// the events hold the name and reason recorded by the Store.
func TestNewChangeContext(t *testing.T) {
	ctx := context.Background()
	m, err := apikey.New(memstore.New())
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	lastEvent := func(id uuid.UUID) apikey.Event {
		t.Helper()
		page, err := m.Events(ctx, apikey.EventOptions{KeyID: id, Newest: true, Limit: 1})
		require.NoError(t, err)
		require.Len(t, page.Events, 1)
		return page.Events[0]
	}

	named := apikey.NewChangeContext(ctx, apikey.Change{ActorID: "ci", ActorName: "apikey (alice)", Reason: "scan: leak.txt:3"})
	k0, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "k0", Groups: []string{"g"}, CreatedBy: "alice"})
	require.NoError(t, err)
	assert.Equal(t, apikey.OperatorName, lastEvent(k0.ID).ActorName, "no name: the operator")

	require.NoError(t, m.Rename(apikey.NewChangeContext(ctx, apikey.Change{Reason: "why"}), k0.ID, "k0b"))
	e := lastEvent(k0.ID)
	assert.Equal(t, apikey.OperatorName, e.ActorName, "no name: still the operator")
	assert.Equal(t, "why", e.Reason)

	acting := apikey.NewActorContext(named, apikey.Actor{ID: "u1", Name: "Bob", Preview: "ak_Bobb…x7Ab", Groups: []string{"g"}})
	require.NoError(t, m.Rename(acting, k0.ID, "k0c"))
	e = lastEvent(k0.ID)
	assert.Equal(t, "u1", e.ActorID, "the actor takes precedence over the given name")
	assert.Equal(t, "Bob", e.ActorName)
	assert.Equal(t, "ak_Bobb…x7Ab", e.ActorPreview)
	assert.Equal(t, "scan: leak.txt:3", e.Reason, "the reason is kept with an actor")

	k, plaintext, err := m.Issue(named, apikey.IssueRequest{Name: "k", Groups: []string{"g"}, CreatedBy: "alice"})
	require.NoError(t, err)
	page, err := m.Events(ctx, apikey.EventOptions{KeyID: k.ID})
	require.NoError(t, err)
	require.Len(t, page.Events, 1)
	assert.Equal(t, "ci", page.Events[0].ActorID)
	assert.Equal(t, "apikey (alice)", page.Events[0].ActorName)
	assert.Equal(t, "scan: leak.txt:3", page.Events[0].Reason)

	// A key, control characters and invalid UTF-8 in the name or reason
	// never reach the event; long text is cut on a character boundary.
	dirty := apikey.NewChangeContext(ctx, apikey.Change{
		ActorName: "bot\x1b[31m\xff",
		Reason:    "leaked " + plaintext + "\n" + strings.Repeat("é", 300),
	})
	require.NoError(t, m.Rename(dirty, k.ID, "k2"))
	page, err = m.Events(ctx, apikey.EventOptions{KeyID: k.ID})
	require.NoError(t, err)
	require.Len(t, page.Events, 2)
	e = page.Events[1]
	assert.Equal(t, "bot\uFFFD[31m\uFFFD", e.ActorName)
	assert.NotContains(t, e.Reason, plaintext)
	assert.Contains(t, e.Reason, "leaked "+k.Preview)
	assert.NotContains(t, e.Reason, "\n")
	assert.LessOrEqual(t, len(e.Reason), 255)
	assert.True(t, utf8.ValidString(e.Reason))
	assert.True(t, strings.HasSuffix(e.Reason, "é"), "cut on a character boundary")
}
