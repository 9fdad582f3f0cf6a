package apikey_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With a clock that moves one second on every read, every change is dated
// once: the key's UpdatedAt is exactly its event's time.
func TestOneClockReadPerChange(t *testing.T) {
	var (
		mu  sync.Mutex
		now = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
	m, err := apikey.New(memstore.New(), apikey.WithClock(clock), apikey.WithGroups(apikey.Group{Name: "g"}, apikey.Group{Name: "h"}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	ctx := context.Background()
	latest := func(k *apikey.Key) apikey.Event {
		t.Helper()
		page, err := m.Events(ctx, apikey.EventOptions{KeyID: k.ID, Newest: true, Limit: 1})
		require.NoError(t, err)
		require.Len(t, page.Events, 1)
		return page.Events[0]
	}
	k, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "k", Groups: []string{"g"}, CreatedBy: "ops"})
	require.NoError(t, err)
	assert.Equal(t, k.UpdatedAt, latest(k).At, "issued")
	assert.Equal(t, k.CreatedAt, latest(k).At, "issued")

	for _, change := range []struct {
		name string
		do   func() error
	}{
		{"rename", func() error { return m.Rename(ctx, k.ID, "renamed") }},
		{"set groups", func() error { return m.SetGroups(ctx, k.ID, []string{"h"}) }},
		{"deactivate", func() error { return m.Deactivate(ctx, k.ID) }},
		{"activate", func() error { return m.Activate(ctx, k.ID) }},
		{"set expiry", func() error { return m.SetExpiry(ctx, k.ID, time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)) }},
	} {
		require.NoError(t, change.do(), change.name)
		got, err := m.Get(ctx, k.ID)
		require.NoError(t, err)
		assert.Equal(t, got.UpdatedAt, latest(k).At, "%s: UpdatedAt is the event's time", change.name)
	}
	succ, _, err := m.Roll(ctx, k.ID, apikey.RollRequest{Grace: time.Hour, CreatedBy: "ops"})
	require.NoError(t, err)
	old, err := m.Get(ctx, k.ID)
	require.NoError(t, err)
	assert.Equal(t, old.UpdatedAt, latest(old).At, "roll: the old key")
	assert.Equal(t, *old.RolledAt, latest(old).At, "roll: RolledAt")
	assert.Equal(t, succ.CreatedAt, latest(succ).At, "roll: the successor")
}
