package storetest

import (
	"testing"
	"time"

	"github.com/apikit/apikey"
)

// testOneTimePerChange makes every kind of change, each dated by a clock
// that moves one second on every read, and checks that the key's
// UpdatedAt (and for a roll its RolledAt and its successor's CreatedAt)
// is exactly the time of the change's event: a Store dates a change with
// the apikey.Change it is given, never with a clock of its own.
func testOneTimePerChange(t *testing.T, s apikey.EventStore) {
	now := at(0)
	clock := func() time.Time { now = now.Add(time.Second); return now }
	latest := func(what string) apikey.Event {
		t.Helper()
		page, err := s.Events(t.Context(), apikey.EventQuery{Newest: true, Limit: 1})
		must.NoError(t, err, "Events after %s", what)
		must.Equal(t, 1, len(page), "events after %s", what)
		return page[0]
	}
	updated := func(k *apikey.Key, c apikey.Change, what string) {
		t.Helper()
		e := latest(what)
		check.True(t, e.At.Equal(c.At), "%s: the event's time %s is the change's %s", what, e.At, c.At)
		check.True(t, get(t, s, k.ID).UpdatedAt.Equal(e.At), "%s: UpdatedAt %s is the event's time %s", what, get(t, s, k.ID).UpdatedAt, e.At)
	}

	c := changeAt(clock(), false)
	k := newKey(c.At)
	must.NoError(t, s.Create(t.Context(), c, k.Clone(), 0), "Create")
	updated(k, c, "Create")

	c = changeAt(clock(), false)
	must.NoError(t, s.SetName(t.Context(), c, k.ID, "renamed", nil), "SetName")
	updated(k, c, "SetName")

	c = changeAt(clock(), false)
	must.NoError(t, s.SetGroups(t.Context(), c, k.ID, []string{"other"}, nil), "SetGroups")
	updated(k, c, "SetGroups")

	c = changeAt(clock(), false)
	must.NoError(t, s.SetActive(t.Context(), c, k.ID, false, nil), "SetActive(false)")
	updated(k, c, "SetActive(false)")

	c = changeAt(clock(), false)
	must.NoError(t, s.SetActive(t.Context(), c, k.ID, true, nil), "SetActive(true)")
	updated(k, c, "SetActive(true)")

	ls, ok := s.(apikey.LifecycleStore)
	if !ok {
		return
	}
	c = changeAt(clock(), false)
	expiry := c.At.Add(time.Hour)
	must.NoError(t, ls.SetExpiresAt(t.Context(), c, k.ID, &expiry, nil), "SetExpiresAt")
	updated(k, c, "SetExpiresAt")

	c = changeAt(clock(), false)
	succ := successorOf(get(t, s, k.ID), c.At)
	must.NoError(t, ls.Roll(t.Context(), c, k.ID, succ.Clone(), c.At.Add(time.Minute), nil), "Roll")
	page, err := s.Events(t.Context(), apikey.EventQuery{Newest: true, Limit: 2})
	must.NoError(t, err, "Events after Roll")
	must.Equal(t, 2, len(page), "events of a roll")
	old := get(t, s, k.ID)
	for _, e := range page {
		check.True(t, e.At.Equal(c.At), "Roll: event %s at %s, the change at %s", e.Kind, e.At, c.At)
	}
	check.True(t, old.UpdatedAt.Equal(c.At), "Roll: the old key's UpdatedAt %s is the change's time %s", old.UpdatedAt, c.At)
	if check.True(t, old.RolledAt != nil, "Roll: RolledAt set") {
		check.True(t, old.RolledAt.Equal(c.At), "Roll: RolledAt %s is the change's time %s", old.RolledAt, c.At)
	}
	check.True(t, get(t, s, succ.ID).CreatedAt.Equal(c.At), "Roll: the successor's CreatedAt is the change's time")

	c = changeAt(clock(), false)
	must.NoError(t, s.Delete(t.Context(), c, succ.ID, nil), "Delete")
	check.True(t, latest("Delete").At.Equal(c.At), "Delete: the event's time is the change's")

	c = changeAt(clock(), true)
	pruned, err := ls.Prune(t.Context(), c, apikey.PruneQuery{EndedBefore: c.At.Add(48 * time.Hour), Limit: 10})
	must.NoError(t, err, "Prune")
	if check.Equal(t, 1, len(pruned), "keys pruned") {
		check.True(t, latest("Prune").At.Equal(c.At), "Prune: the event's time is the change's")
	}
}
