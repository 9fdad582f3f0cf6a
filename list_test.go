package apikey_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestListSorts pages through every order two keys at a time, and checks
// that a cursor is valid only with the order that made it.
func TestListSorts(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	m := newManager(t, memstore.New(), apikey.WithClock(clock.Now))
	var made []*apikey.Key
	for i, name := range []string{"b", "a", "C", "b", "c"} {
		req := apikey.IssueRequest{Name: name, Groups: []string{"read"}, CreatedBy: "tester"}
		if i%2 == 0 {
			req.ExpiresAt = clock.Now().Add(time.Duration(10-i) * time.Hour)
		}
		k, _, err := m.Issue(ctx, req)
		require.NoError(t, err)
		made = append(made, k)
		clock.Advance(time.Second)
	}
	names := func(opts apikey.ListOptions) (out []string) {
		t.Helper()
		opts.Limit = 2
		for pages := 0; pages < 10; pages++ {
			page, err := m.List(ctx, opts)
			require.NoError(t, err)
			for _, k := range page.Keys {
				out = append(out, k.Name)
			}
			if page.Next == "" {
				return out
			}
			opts.Cursor = page.Next
		}
		t.Fatal("List does not end")
		return nil
	}
	assert.Equal(t, []string{"b", "a", "C", "b", "c"}, names(apikey.ListOptions{}))
	assert.Equal(t, []string{"c", "b", "C", "a", "b"}, names(apikey.ListOptions{Sort: apikey.SortCreatedDesc}))
	assert.Equal(t, []string{"C", "a", "b", "b", "c"}, names(apikey.ListOptions{Sort: apikey.SortName}))
	assert.Equal(t, []string{"c", "C", "b"}, names(apikey.ListOptions{Sort: apikey.SortExpiry}))
	assert.Equal(t, []string{"c", "C"}, names(apikey.ListOptions{ExpiringBefore: made[0].ExpiresAt.Add(-time.Minute)}))
	assert.Equal(t, []string{"a"}, names(apikey.ListOptions{Preview: strings.Replace(made[1].Preview, "…", "...", 1)}))

	n, err := m.Count(ctx, apikey.ListOptions{ExpiringBefore: made[0].ExpiresAt.Add(-time.Minute)})
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	page, err := m.List(ctx, apikey.ListOptions{Sort: apikey.SortName, Limit: 1})
	require.NoError(t, err)
	for _, other := range []apikey.ListSort{apikey.SortCreated, apikey.SortCreatedDesc, apikey.SortExpiry} {
		_, err := m.List(ctx, apikey.ListOptions{Sort: other, Cursor: page.Next})
		assert.ErrorIs(t, err, apikey.ErrInvalidCursor, "a name cursor in order %s", other)
	}
	_, err = m.List(ctx, apikey.ListOptions{Sort: apikey.SortName, ExpiringBefore: clock.Now()})
	assert.ErrorIs(t, err, apikey.ErrInvalidSort)
	_, err = m.List(ctx, apikey.ListOptions{Sort: apikey.ListSort(9)})
	assert.ErrorIs(t, err, apikey.ErrInvalidSort)
	_, err = m.List(ctx, apikey.ListOptions{Preview: "no preview"})
	assert.ErrorIs(t, err, apikey.ErrInvalidKey)
}

// TestListStatusActiveIsWorking: status active lists the keys that work
// now, not an expired key or a rolled key past its grace period.
func TestListStatusActiveIsWorking(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	m := newManager(t, memstore.New(), apikey.WithClock(clock.Now))
	works, _ := issue(t, m, "works", "read")
	off, _ := issue(t, m, "off", "read")
	require.NoError(t, m.Deactivate(ctx, off.ID))
	expiring, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "expiring", Groups: []string{"read"}, CreatedBy: "tester", ExpiresAt: clock.Now().Add(time.Hour)})
	require.NoError(t, err)
	rolled, _ := issue(t, m, "rolled", "read")
	succ, _, err := m.Roll(ctx, rolled.ID, apikey.RollRequest{CreatedBy: "tester"})
	require.NoError(t, err)
	clock.Advance(2 * time.Hour)

	page, err := m.List(ctx, apikey.ListOptions{Status: apikey.StatusActive})
	require.NoError(t, err)
	var got []uuid.UUID
	for _, k := range page.Keys {
		got = append(got, k.ID)
	}
	assert.Equal(t, []uuid.UUID{works.ID, succ.ID}, got)
	n, err := m.Count(ctx, apikey.ListOptions{Status: apikey.StatusActive})
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	states := map[uuid.UUID]apikey.KeyState{works.ID: apikey.StateActive, off.ID: apikey.StateInactive,
		expiring.ID: apikey.StateExpired, rolled.ID: apikey.StateRolled, succ.ID: apikey.StateActive}
	for id, want := range states {
		k, err := m.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, want, m.State(k), k.Name)
	}
}

// TestListNeedsSortedLister: a Store without the capability serves the
// creation order with its filters, and refuses the rest with
// errors.ErrUnsupported rather than answer an unfiltered list.
func TestListNeedsSortedLister(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, plainStore{memstore.New()})
	issue(t, m, "k", "read")
	page, err := m.List(ctx, apikey.ListOptions{Status: apikey.StatusInactive})
	require.NoError(t, err)
	assert.Empty(t, page.Keys)
	for _, opts := range []apikey.ListOptions{
		{Sort: apikey.SortCreatedDesc}, {Sort: apikey.SortName}, {Sort: apikey.SortExpiry},
		{ExpiringBefore: time.Now()}, {Status: apikey.StatusActive}, {Preview: "ak_abcd…wxyz"},
	} {
		_, err := m.List(ctx, opts)
		assert.True(t, errors.Is(err, errors.ErrUnsupported), "List(%+v): %v", opts, err)
	}
}

func TestParseListSort(t *testing.T) {
	for _, s := range []apikey.ListSort{apikey.SortCreated, apikey.SortCreatedDesc, apikey.SortName, apikey.SortExpiry} {
		got, err := apikey.ParseListSort(s.String())
		require.NoError(t, err)
		assert.Equal(t, s, got)
	}
	_, err := apikey.ParseListSort("newest")
	assert.ErrorIs(t, err, apikey.ErrInvalidSort)
}

// TestNameNeedsAVisibleCharacter: a name that would show blank is refused.
func TestNameNeedsAVisibleCharacter(t *testing.T) {
	for _, name := range []string{"\u200d", "\u200b\u200c", " \u00a0", "\u3164", "\u0301", "\u2800\u200d"} {
		assert.ErrorIs(t, apikey.ValidateName(name), apikey.ErrInvalidName, "%q", name)
	}
	for _, name := range []string{"a\u200d", " x ", "🚀", "請求", "-"} {
		assert.NoError(t, apikey.ValidateName(name), "%q", name)
	}
}
