package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A rolled key's successor keeps its limits on every SQL backend.
func TestRollKeepsLimits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := newStore(t, b.open(t), b.dialect)
		m, err := apikey.New(s, apikey.WithLastUsedFlushInterval(-1))
		require.NoError(t, err)
		t.Cleanup(func() { _ = m.Close() })
		ctx := context.Background()
		l := &apikey.Limits{Rates: []apikey.RateLimit{{Name: "requests", Limit: 3, Period: time.Minute}}}
		k, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "n", Groups: []string{"g"}, CreatedBy: "ops", Limits: l})
		require.NoError(t, err)
		successor, _, err := m.Roll(apikey.NewActorContext(ctx, apikey.Actor{Name: "ops", Groups: []string{"g"}}), k.ID, apikey.RollRequest{})
		require.NoError(t, err)
		stored, err := m.Get(ctx, successor.ID)
		require.NoError(t, err)
		assert.Equal(t, l, stored.Limits)
	})
}
