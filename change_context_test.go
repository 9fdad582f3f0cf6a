package apikey_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNewChangeContext checks that trusted code names its changes, that
// an actor takes precedence over the name (not over the reason), and that
// the events hold the name and reason recorded by the Store.
func TestNewChangeContext(t *testing.T) {
	ctx := context.Background()
	assert.Equal(t, apikey.OperatorName, apikey.ChangeFromContext(ctx).ActorName)

	named := apikey.NewChangeContext(ctx, apikey.Change{ActorID: "ci", ActorName: "apikey (alice)", Reason: "scan: leak.txt:3"})
	c := apikey.ChangeFromContext(named)
	assert.Equal(t, "ci", c.ActorID)
	assert.Equal(t, "apikey (alice)", c.ActorName)
	assert.Equal(t, "scan: leak.txt:3", c.Reason)

	reasonOnly := apikey.NewChangeContext(ctx, apikey.Change{Reason: "why"})
	c = apikey.ChangeFromContext(reasonOnly)
	assert.Equal(t, apikey.OperatorName, c.ActorName, "no name: still the operator")
	assert.Equal(t, "why", c.Reason)

	acting := apikey.NewActorContext(named, apikey.Actor{ID: "u1", Name: "Bob", Groups: []string{"g"}})
	c = apikey.ChangeFromContext(acting)
	assert.Equal(t, "u1", c.ActorID, "the actor takes precedence over the given name")
	assert.Equal(t, "Bob", c.ActorName)
	assert.Equal(t, "scan: leak.txt:3", c.Reason, "the reason is kept with an actor")

	m, err := apikey.New(memstore.New())
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	k, plaintext, err := m.Issue(named, apikey.IssueRequest{Name: "k", Groups: []string{"g"}, CreatedBy: "alice"})
	require.NoError(t, err)
	page, err := m.Events(ctx, apikey.EventOptions{KeyID: k.ID})
	require.NoError(t, err)
	require.Len(t, page.Events, 1)
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
	e := page.Events[1]
	assert.Equal(t, "bot\uFFFD[31m\uFFFD", e.ActorName)
	assert.NotContains(t, e.Reason, plaintext)
	assert.Contains(t, e.Reason, "leaked "+k.Preview)
	assert.NotContains(t, e.Reason, "\n")
	assert.LessOrEqual(t, len(e.Reason), 255)
	assert.True(t, utf8.ValidString(e.Reason))
	assert.True(t, strings.HasSuffix(e.Reason, "é"), "cut on a character boundary")
}
