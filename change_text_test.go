package apikey_test

import (
	"context"
	"strings"
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// NewChangeContext replaces Unicode format characters (bidi overrides and
// isolates, zero-width) as it does controls: the admin page's History shows
// names as they are, and a name must not display as another.
func TestChangeTextDropsFormatCharacters(t *testing.T) {
	m, err := apikey.New(memstore.New())
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	ctx := apikey.NewChangeContext(context.Background(), apikey.Change{ActorName: "apikey (bob\u202Eecila)", Reason: "ok\u2066\u200B"})
	k, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "k", Groups: []string{"g"}, CreatedBy: "bob"})
	require.NoError(t, err)
	page, err := m.Events(context.Background(), apikey.EventOptions{KeyID: k.ID})
	require.NoError(t, err)
	require.Len(t, page.Events, 1)
	c := page.Events[0]
	assert.False(t, strings.ContainsAny(c.ActorName+c.Reason, "\u202E\u2066\u200B"), "kept: %q %q", c.ActorName, c.Reason)
}
