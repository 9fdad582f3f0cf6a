package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// events runs a subtest on a store that implements apikey.EventStore, and
// skips it on any other.
func events(test func(t *testing.T, s apikey.EventStore)) func(t *testing.T, s apikey.Store) {
	return func(t *testing.T, s apikey.Store) {
		es, ok := s.(apikey.EventStore)
		if !ok {
			t.Skipf("%T is not an apikey.EventStore", s)
		}
		test(t, es)
	}
}

// alice is the actor of the changes the event tests make.
var alice = apikey.Actor{ID: "user-17", Name: "Alice <alice@example.com>", Preview: "ak_Alic…e17x", Owner: "org-1"}

// changeAt returns the change made by alice (or by the operator, if
// operator) at when.
func changeAt(when time.Time, operator bool) apikey.Change {
	if operator {
		return opAt(when)
	}
	return apikey.Change{At: when, ActorID: alice.ID, ActorName: alice.Name, ActorPreview: alice.Preview}
}

// readAll pages through the events matching q, two at a time, and checks
// that positions increase strictly.
func readAll(t *testing.T, s apikey.EventStore, q apikey.EventQuery) []apikey.Event {
	t.Helper()
	q.Limit = 2
	var out []apikey.Event
	for {
		page, err := s.Events(t.Context(), q)
		must.NoError(t, err, "Events(%+v)", q)
		must.True(t, len(page) <= 2, "Events returned %d events for a limit of 2", len(page))
		for _, e := range page {
			must.True(t, e.Position > q.After, "Events after %d returned position %d", q.After, e.Position)
			q.After = e.Position
		}
		out = append(out, page...)
		if len(page) < 2 {
			return out
		}
	}
}

// describe writes an event without its position, times as instants in
// UTC, for comparison.
func describe(e apikey.Event) string {
	tm := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339Nano) + "/" + t.Location().String()
	}
	v := func(v apikey.EventValues) string {
		return fmt.Sprintf("{name=%q groups=%q expires=%s successor=%s predecessor=%s grace=%s}",
			v.Name, v.Groups, tm(v.ExpiresAt), v.Successor, v.Predecessor, tm(v.GraceEndsAt))
	}
	return fmt.Sprintf("%s %s at=%s owner=%q actor=%q/%q/%q reason=%q old=%s new=%s",
		e.Kind, e.KeyID, tm(&e.At), e.Owner, e.ActorID, e.ActorName, e.ActorPreview, e.Reason, v(e.Old), v(e.New))
}

// assertEvents checks got against want, in order, positions aside.
func assertEvents(t *testing.T, want, got []apikey.Event, what string) bool {
	t.Helper()
	var w, g []string
	for _, e := range want {
		w = append(w, describe(e))
	}
	for _, e := range got {
		g = append(g, describe(e))
	}
	if !slices.Equal(w, g) {
		t.Errorf("%s:\n\twant:\n\t\t%s\n\tgot:\n\t\t%s", what, strings.Join(w, "\n\t\t"), strings.Join(g, "\n\t\t"))
		return false
	}
	return true
}

// expect returns the event a change by alice (or the operator) at when
// should record.
func expect(kind apikey.EventKind, k *apikey.Key, when time.Time, operator bool) apikey.Event {
	e := apikey.Event{At: when, Owner: k.Owner, KeyID: k.ID, ActorID: alice.ID, ActorName: alice.Name, ActorPreview: alice.Preview, Kind: kind}
	if operator {
		e.ActorID, e.ActorName, e.ActorPreview = "", apikey.OperatorName, ""
	}
	return e
}

// testEventsOfEveryChange makes every kind of change and checks that each
// recorded exactly one event (a roll two), in order, with its actor, time,
// owner, key and values; and that SetHash and RecordLastUsed record none.
func testEventsOfEveryChange(t *testing.T, s apikey.EventStore) {
	k := keyWithEverything(at(0))
	k.Name, k.Groups = "first", []string{"read", "write"}
	var want []apikey.Event
	step := 0
	next := func() time.Time { step++; return at(time.Duration(step) * time.Minute) }

	when := next()
	must.NoError(t, s.Create(t.Context(), changeAt(when, false), k.Clone(), 0), "Create")
	e := expect(apikey.EventIssued, k, when, false)
	e.New = apikey.EventValues{Name: "first", Groups: []string{"read", "write"}, ExpiresAt: k.ExpiresAt}
	want = append(want, e)

	when = next()
	must.NoError(t, s.SetName(t.Context(), changeAt(when, false), k.ID, "second", nil), "SetName")
	e = expect(apikey.EventRenamed, k, when, false)
	e.Old.Name, e.New.Name = "first", "second"
	want = append(want, e)

	when = next()
	must.NoError(t, s.SetGroups(t.Context(), changeAt(when, false), k.ID, []string{"admin"}, &apikey.Guard{Owner: k.Owner, Groups: k.Groups}), "SetGroups")
	e = expect(apikey.EventGroupsChanged, k, when, false)
	e.Old.Groups, e.New.Groups = []string{"read", "write"}, []string{"admin"}
	want = append(want, e)

	when = next()
	must.NoError(t, s.SetActive(t.Context(), changeAt(when, false), k.ID, false, nil), "SetActive(false)")
	want = append(want, expect(apikey.EventDeactivated, k, when, false))

	when = next()
	must.NoError(t, s.SetActive(t.Context(), changeAt(when, true), k.ID, true, nil), "SetActive(true) by the operator")
	want = append(want, expect(apikey.EventActivated, k, when, true))

	must.NoError(t, s.SetHash(t.Context(), k.ID, "$sha256$other"), "SetHash")
	must.NoError(t, s.RecordLastUsed(t.Context(), map[uuid.UUID]time.Time{k.ID: at(time.Hour)}), "RecordLastUsed")

	if ls, ok := s.(apikey.LifecycleStore); ok {
		when = next()
		newExpiry := at(48 * time.Hour)
		must.NoError(t, ls.SetExpiresAt(t.Context(), changeAt(when, false), k.ID, &newExpiry, nil), "SetExpiresAt")
		e = expect(apikey.EventExpiryChanged, k, when, false)
		e.Old.ExpiresAt, e.New.ExpiresAt = k.ExpiresAt, &newExpiry
		want = append(want, e)

		when = next()
		cur := get(t, s, k.ID)
		succ := successorOf(cur, when)
		grace := when.Add(time.Minute)
		must.NoError(t, ls.Roll(t.Context(), changeAt(when, false), k.ID, succ.Clone(), grace, nil), "Roll")
		e = expect(apikey.EventRolled, k, when, false)
		e.New.Successor, e.New.GraceEndsAt = succ.ID, &grace
		want = append(want, e)
		e = expect(apikey.EventIssued, succ, when, false)
		e.New = apikey.EventValues{Name: "second", Groups: []string{"admin"}, ExpiresAt: &newExpiry, Predecessor: k.ID}
		want = append(want, e)

		when = next()
		must.NoError(t, s.Delete(t.Context(), changeAt(when, false), succ.ID, nil), "Delete the successor")
		e = expect(apikey.EventDeleted, succ, when, false)
		e.Old = apikey.EventValues{Name: "second", Groups: []string{"admin"}, ExpiresAt: &newExpiry}
		want = append(want, e)

		when = next()
		pruned, err := ls.Prune(t.Context(), changeAt(when, true), apikey.PruneQuery{EndedBefore: at(100 * time.Hour), Limit: 10})
		must.NoError(t, err, "Prune")
		must.Equal(t, 1, len(pruned), "keys pruned")
		e = expect(apikey.EventPruned, k, when, true)
		e.Old = apikey.EventValues{Name: "second", Groups: []string{"admin"}, ExpiresAt: &newExpiry}
		want = append(want, e)
	} else {
		when = next()
		must.NoError(t, s.Delete(t.Context(), changeAt(when, false), k.ID, nil), "Delete")
		e = expect(apikey.EventDeleted, k, when, false)
		e.Old = apikey.EventValues{Name: "second", Groups: []string{"admin"}, ExpiresAt: k.ExpiresAt}
		want = append(want, e)
	}
	got := readAll(t, s, apikey.EventQuery{})
	assertEvents(t, want, got, "events of every change")
	last, err := s.LastPosition(t.Context())
	if check.NoError(t, err, "LastPosition") && len(got) > 0 {
		check.Equal(t, got[len(got)-1].Position, last, "LastPosition is the latest event's")
	}
}

// testEventsOfRefusedChanges checks that a change refused by a guard, by a
// duplicate, by the quota, or for a missing key records no event.
func testEventsOfRefusedChanges(t *testing.T, s apikey.EventStore) {
	k := newKey(at(0))
	when := at(time.Minute)
	ctx, ch := t.Context(), changeAt(when, false)
	must.NoError(t, s.Create(ctx, ch, k.Clone(), 0), "Create")
	otherOwner := &apikey.Guard{Owner: "org-other"}
	otherGroups := &apikey.Guard{Groups: []string{"not", "these"}}
	missing := uuid.Must(uuid.NewV7())

	check.ErrorIs(t, s.SetName(ctx, ch, k.ID, "x", otherOwner), apikey.ErrNotFound, "SetName, other owner")
	check.ErrorIs(t, s.SetGroups(ctx, ch, k.ID, []string{"x"}, otherGroups), apikey.ErrConflict, "SetGroups, other groups")
	check.ErrorIs(t, s.SetActive(ctx, ch, k.ID, false, otherOwner), apikey.ErrNotFound, "SetActive, other owner")
	check.ErrorIs(t, s.SetActive(ctx, ch, k.ID, false, otherGroups), apikey.ErrConflict, "SetActive, other groups")
	check.ErrorIs(t, s.Delete(ctx, ch, k.ID, otherOwner), apikey.ErrNotFound, "Delete, other owner")
	check.ErrorIs(t, s.Delete(ctx, ch, k.ID, otherGroups), apikey.ErrConflict, "Delete, other groups")
	check.ErrorIs(t, s.SetName(ctx, ch, missing, "x", nil), apikey.ErrNotFound, "SetName, missing key")
	check.ErrorIs(t, s.Delete(ctx, ch, missing, nil), apikey.ErrNotFound, "Delete, missing key")
	dup := newKey(at(0))
	dup.ID = k.ID
	check.ErrorIs(t, s.Create(ctx, ch, dup, 0), apikey.ErrDuplicate, "Create, duplicate ID")
	check.ErrorIs(t, s.Create(ctx, ch, newKey(at(0)), 1), apikey.ErrQuotaExceeded, "Create over the quota")
	if ls, ok := s.(apikey.LifecycleStore); ok {
		t2 := at(time.Hour)
		check.ErrorIs(t, ls.SetExpiresAt(ctx, ch, k.ID, &t2, otherOwner), apikey.ErrNotFound, "SetExpiresAt, other owner")
		check.ErrorIs(t, ls.Roll(ctx, ch, k.ID, successorOf(k, when), when, otherGroups), apikey.ErrConflict, "Roll, other groups")
		check.ErrorIs(t, ls.Roll(ctx, ch, missing, newKey(when), when, nil), apikey.ErrNotFound, "Roll, missing key")
	}

	e := expect(apikey.EventIssued, k, when, false)
	e.New = apikey.IssuedValues(k)
	assertEvents(t, []apikey.Event{e}, readAll(t, s, apikey.EventQuery{}), "events after refused changes")
}

// testEventsOutliveKey checks that a deleted key's events stay readable by
// its ID.
func testEventsOutliveKey(t *testing.T, s apikey.EventStore) {
	k := newKey(at(0))
	must.NoError(t, s.Create(t.Context(), changeAt(at(time.Minute), false), k.Clone(), 0), "Create")
	must.NoError(t, s.Delete(t.Context(), changeAt(at(2*time.Minute), true), k.ID, nil), "Delete")
	_, err := s.Get(t.Context(), k.ID)
	check.ErrorIs(t, err, apikey.ErrNotFound, "Get after Delete")
	issued := expect(apikey.EventIssued, k, at(time.Minute), false)
	issued.New = apikey.IssuedValues(k)
	deleted := expect(apikey.EventDeleted, k, at(2*time.Minute), true)
	deleted.Old = apikey.RemovedValues(k)
	assertEvents(t, []apikey.Event{issued, deleted}, readAll(t, s, apikey.EventQuery{KeyID: k.ID}), "events of a deleted key")
}

// testEventsNamedChange checks that the actor's ID, name, preview and
// the reason of the apikey.Change are recorded as given, and that the
// context of the call says nothing: an actor or a named change in it, and
// the time, are ignored.
func testEventsNamedChange(t *testing.T, s apikey.EventStore) {
	k := newKey(at(0))
	misleading := apikey.NewChangeContext(apikey.NewActorContext(t.Context(), apikey.Actor{ID: "ctx-actor", Name: "From the context"}),
		apikey.Change{ActorID: "ctx", ActorName: "ignored", Reason: "ignored"})
	trusted := apikey.Change{At: at(time.Minute), ActorID: "ci", ActorName: "apikey (deploy)", Reason: "rotation ticket 12"}
	must.NoError(t, s.Create(misleading, trusted, k.Clone(), 0), "Create")
	byKey := apikey.Change{At: at(2 * time.Minute), ActorID: uuid.NewString(), ActorName: "Administrator", ActorPreview: "ak_3Fq9…x7Ab", Reason: "offboarding"}
	must.NoError(t, s.SetName(misleading, byKey, k.ID, "renamed", nil), "SetName")
	issued := expect(apikey.EventIssued, k, at(time.Minute), true)
	issued.ActorID, issued.ActorName, issued.Reason = "ci", "apikey (deploy)", "rotation ticket 12"
	issued.New = apikey.IssuedValues(k)
	renamed := expect(apikey.EventRenamed, k, at(2*time.Minute), false)
	renamed.ActorID, renamed.ActorName, renamed.ActorPreview, renamed.Reason = byKey.ActorID, byKey.ActorName, byKey.ActorPreview, "offboarding"
	renamed.Old.Name, renamed.New.Name = k.Name, "renamed"
	assertEvents(t, []apikey.Event{issued, renamed}, readAll(t, s, apikey.EventQuery{KeyID: k.ID}), "events of named changes")
}

// testEventsQuery checks the owner, key, time and position filters, and
// paging.
func testEventsQuery(t *testing.T, s apikey.EventStore) {
	a1, a2, b := ownedKey("org-a", at(0)), ownedKey("org-a", at(1)), ownedKey("org-b", at(2))
	// "org-a" and "org-A", "org-a " differ: owners compare byte for byte.
	fold := ownedKey("org-A", at(3))
	var all []apikey.Event
	record := func(kind apikey.EventKind, k *apikey.Key, when time.Time, f func(c apikey.Change) error) {
		t.Helper()
		must.NoError(t, f(changeAt(when, false)), "%s of %s", kind, k.Name)
		e := expect(kind, k, when, false)
		switch kind {
		case apikey.EventIssued:
			e.New = apikey.IssuedValues(k)
		case apikey.EventRenamed:
			e.Old.Name, e.New.Name = k.Name, k.Name+"!"
			k.Name += "!"
		}
		all = append(all, e)
	}
	for i, k := range []*apikey.Key{a1, b, a2, fold} {
		record(apikey.EventIssued, k, at(time.Duration(i)*time.Minute), func(c apikey.Change) error { return s.Create(t.Context(), c, k.Clone(), 0) })
	}
	for i, k := range []*apikey.Key{a1, b, a1, a2} {
		name := k.Name + "!"
		record(apikey.EventRenamed, k, at(time.Duration(10+i)*time.Minute), func(c apikey.Change) error {
			return s.SetName(t.Context(), c, k.ID, name, nil)
		})
	}
	filter := func(keep func(e apikey.Event) bool) []apikey.Event {
		var out []apikey.Event
		for _, e := range all {
			if keep(e) {
				out = append(out, e)
			}
		}
		return out
	}
	assertEvents(t, all, readAll(t, s, apikey.EventQuery{}), "all events")
	assertEvents(t, filter(func(e apikey.Event) bool { return e.Owner == "org-a" }),
		readAll(t, s, apikey.EventQuery{Owner: "org-a"}), "events of org-a")
	assertEvents(t, filter(func(e apikey.Event) bool { return e.KeyID == a1.ID }),
		readAll(t, s, apikey.EventQuery{KeyID: a1.ID}), "events of one key")
	assertEvents(t, filter(func(e apikey.Event) bool { return e.KeyID == a1.ID }),
		readAll(t, s, apikey.EventQuery{KeyID: a1.ID, Owner: "org-a"}), "events of one key and its owner")
	assertEvents(t, nil, readAll(t, s, apikey.EventQuery{KeyID: a1.ID, Owner: "org-b"}), "events of one key and another owner")
	assertEvents(t, filter(func(e apikey.Event) bool { return !e.At.Before(at(11 * time.Minute)) }),
		readAll(t, s, apikey.EventQuery{Since: at(11 * time.Minute)}), "events since a time (inclusive)")

	page, err := s.Events(t.Context(), apikey.EventQuery{Limit: 100})
	must.NoError(t, err, "Events")
	must.Equal(t, len(all), len(page), "events in one page")
	third := page[2].Position
	assertEvents(t, all[3:], readAll(t, s, apikey.EventQuery{After: third}), "events strictly after a position")
	one, err := s.Events(t.Context(), apikey.EventQuery{Limit: 0})
	if check.NoError(t, err, "Events with limit 0") {
		check.Equal(t, 1, len(one), "a limit below 1 is 1")
	}
	last, err := s.LastPosition(t.Context())
	if check.NoError(t, err, "LastPosition") {
		check.Equal(t, page[len(page)-1].Position, last, "LastPosition")
		rest, err := s.Events(t.Context(), apikey.EventQuery{After: last, Limit: 10})
		if check.NoError(t, err, "Events after the last") {
			check.Equal(t, 0, len(rest), "events after the last position")
		}
	}
}

// testPruneEvents checks that PruneEvents deletes exactly the events
// before the cut-off, at most limit of them, oldest first, and that
// positions go on from where they were.
func testPruneEvents(t *testing.T, s apikey.EventStore) {
	keys := make([]*apikey.Key, 5)
	for i := range keys {
		keys[i] = newKey(at(0))
		must.NoError(t, s.Create(t.Context(), changeAt(at(time.Duration(i)*time.Hour), false), keys[i].Clone(), 0), "Create")
	}
	before, err := s.LastPosition(t.Context())
	must.NoError(t, err, "LastPosition")
	n, err := s.PruneEvents(t.Context(), at(2*time.Hour), 10)
	must.NoError(t, err, "PruneEvents")
	check.Equal(t, 2, n, "events before the cut-off (strictly) deleted")
	n, err = s.PruneEvents(t.Context(), at(100*time.Hour), 1)
	must.NoError(t, err, "PruneEvents")
	check.Equal(t, 1, n, "PruneEvents deletes at most limit events")
	left := readAll(t, s, apikey.EventQuery{})
	if check.Equal(t, 2, len(left), "events left") {
		check.Equal(t, keys[3].ID, left[0].KeyID, "the oldest events are deleted first")
		check.Equal(t, keys[4].ID, left[1].KeyID, "the newest event is kept")
	}
	k := newKey(at(0))
	must.NoError(t, s.Create(t.Context(), changeAt(at(time.Hour), false), k.Clone(), 0), "Create")
	got := readAll(t, s, apikey.EventQuery{KeyID: k.ID})
	if check.Equal(t, 1, len(got), "event after pruning") {
		check.True(t, got[0].Position > before, "positions go on after pruning: %d after %d", got[0].Position, before)
	}
}

// testConcurrentEvents changes keys from many goroutines while a follower
// reads the events after the last position it saw, as a change feed does:
// every change records exactly one event, each key's in the order of its
// changes, and the follower sees every event, none skipped because a
// change with a higher position became visible before one with a lower.
func testConcurrentEvents(t *testing.T, s apikey.EventStore) {
	const writers, changes = 8, 15
	keys := make([]*apikey.Key, writers)
	for i := range keys {
		keys[i] = newKey(at(time.Duration(i)))
		create(t, s, keys[i].Clone())
	}
	start, err := s.LastPosition(t.Context())
	must.NoError(t, err, "LastPosition")

	var (
		done     atomic.Bool
		followed []apikey.Event
		ferr     error
		wg       sync.WaitGroup
	)
	follow := func() bool {
		after := start
		if n := len(followed); n > 0 {
			after = followed[n-1].Position
		}
		page, err := s.Events(context.Background(), apikey.EventQuery{After: after, Limit: 100})
		if err != nil {
			ferr = err
			return false
		}
		followed = append(followed, page...)
		return len(page) > 0
	}
	followerDone := make(chan struct{})
	go func() {
		defer close(followerDone)
		for !done.Load() && ferr == nil {
			follow()
		}
	}()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range changes {
				if err := s.SetName(t.Context(), changeAt(at(time.Duration(i)), false), keys[w].ID, fmt.Sprintf("n-%02d", i), nil); err != nil {
					t.Errorf("SetName: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	done.Store(true)
	<-followerDone
	must.NoError(t, ferr, "the follower's Events")
	for follow() {
	}
	must.NoError(t, ferr, "the follower's Events")

	all := readAll(t, s, apikey.EventQuery{After: start})
	check.Equal(t, writers*changes, len(all), "one event per change")
	var allPos, followedPos []int64
	for _, e := range all {
		allPos = append(allPos, e.Position)
	}
	for _, e := range followed {
		followedPos = append(followedPos, e.Position)
	}
	check.Equal(t, allPos, followedPos, "the follower saw every event, in order")
	for _, k := range keys {
		var names []string
		for _, e := range all {
			if e.KeyID == k.ID {
				names = append(names, e.New.Name)
			}
		}
		want := make([]string, changes)
		for i := range want {
			want[i] = fmt.Sprintf("n-%02d", i)
		}
		check.Equal(t, want, names, "the events of key %s in the order of its changes", k.ID)
	}
}
