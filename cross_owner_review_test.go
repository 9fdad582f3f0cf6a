package apikey_test

import (
	"context"
	"testing"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An administrator of one owner finds nothing of another owner's through
// the preview search, the counts, the usage and the events.
func TestNothingOfAnotherOwnerThroughSearchUsageOrEvents(t *testing.T) {
	tt := newTenants(t)
	_, err := tt.m.Verify(context.Background(), "x") // a use of nobody
	require.Error(t, err)

	page, err := tt.m.List(tt.adminA, apikey.ListOptions{Preview: tt.keyB.Preview})
	require.NoError(t, err)
	assert.Empty(t, page.Keys, "another owner's key by its preview")
	n, err := tt.m.Count(tt.adminA, apikey.ListOptions{Preview: tt.keyB.Preview})
	require.NoError(t, err)
	assert.Zero(t, n)
	page, err = tt.m.List(tt.adminA, apikey.ListOptions{Preview: tt.keyB.Preview, Owner: "org-b"})
	require.NoError(t, err)
	assert.Empty(t, page.Keys)

	_, err = tt.m.Usage(tt.adminA, apikey.UsageQuery{KeyID: tt.keyB.ID})
	assert.ErrorIs(t, err, apikey.ErrNotFound)
	r, err := tt.m.Usage(tt.adminA, apikey.UsageQuery{Owner: "org-b"})
	require.NoError(t, err)
	assert.Equal(t, "org-a", r.Owner)
	assert.Empty(t, r.Busiest)

	ev, err := tt.m.Events(tt.adminA, apikey.EventOptions{KeyID: tt.keyB.ID})
	require.NoError(t, err)
	assert.Empty(t, ev.Events)
	for _, e := range mustEvents(t, tt.m, tt.adminA) {
		assert.Equal(t, "org-a", e.Owner)
		assert.Zero(t, e.Position, "no store-wide position")
	}
}

func mustEvents(t *testing.T, m *apikey.Manager, ctx context.Context) []apikey.Event {
	t.Helper()
	page, err := m.Events(ctx, apikey.EventOptions{})
	require.NoError(t, err)
	return page.Events
}
