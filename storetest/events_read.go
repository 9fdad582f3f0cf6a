package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/apikit/apikey"
)

// eventsFixture records, for two owners and three keys, an issue and two
// renames each, made by two actors in turn, and returns the events as
// they should read, oldest first.
func eventsFixture(t *testing.T, s apikey.EventStore) []apikey.Event {
	t.Helper()
	bob := apikey.Change{ActorID: "user-18", ActorName: alice.Name, ActorPreview: "ak_Bobb…e18x"} // the same name as alice
	keys := []*apikey.Key{ownedKey("org-a", at(0)), ownedKey("org-b", at(1)), ownedKey("org-a", at(2))}
	var all []apikey.Event
	step := 0
	change := func(k *apikey.Key) apikey.Change {
		step++
		c := changeAt(at(time.Duration(step)*time.Minute), false)
		if step%2 == 0 {
			c.ActorID, c.ActorName, c.ActorPreview = bob.ActorID, bob.ActorName, bob.ActorPreview
		}
		return c
	}
	expected := func(kind apikey.EventKind, k *apikey.Key, c apikey.Change) apikey.Event {
		return apikey.Event{At: c.At, Owner: k.Owner, KeyID: k.ID, ActorID: c.ActorID, ActorName: c.ActorName, ActorPreview: c.ActorPreview, Kind: kind}
	}
	for _, k := range keys {
		c := change(k)
		must.NoError(t, s.Create(t.Context(), c, k.Clone(), 0), "Create")
		e := expected(apikey.EventIssued, k, c)
		e.New = apikey.IssuedValues(k)
		all = append(all, e)
	}
	for round := range 2 {
		for _, k := range keys {
			c := change(k)
			name := k.Name + "!"
			must.NoError(t, s.SetName(t.Context(), c, k.ID, name, nil), "SetName")
			e := expected(apikey.EventRenamed, k, c)
			e.Old.Name, e.New.Name = k.Name, name
			k.Name = name
			all = append(all, e)
			if round == 1 && k.Owner == "org-b" {
				c := change(k)
				must.NoError(t, s.SetActive(t.Context(), c, k.ID, false, nil), "SetActive")
				all = append(all, expected(apikey.EventDeactivated, k, c))
			}
		}
	}
	return all
}

// readNewest pages through the events matching q newest first, two at a
// time, continuing below the last position seen (or, with an owner,
// below the last owner sequence number), and checks the order.
func readNewest(t *testing.T, s apikey.EventStore, q apikey.EventQuery, bySeq bool) []apikey.Event {
	t.Helper()
	q.Limit, q.Newest = 2, true
	var out []apikey.Event
	for range 100 {
		page, err := s.Events(t.Context(), q)
		must.NoError(t, err, "Events(%+v)", q)
		must.True(t, len(page) <= 2, "Events returned %d events for a limit of 2", len(page))
		for _, e := range page {
			if len(out) > 0 {
				must.True(t, e.Position < out[len(out)-1].Position, "newest first: position %d after %d", e.Position, out[len(out)-1].Position)
			}
			out = append(out, e)
			if bySeq {
				q.BeforeSeq = e.OwnerSeq
			} else {
				q.Before = e.Position
			}
		}
		if len(page) < 2 {
			return out
		}
	}
	t.Fatalf("Events(%+v) did not end", q)
	return nil
}

func reversed(events []apikey.Event) []apikey.Event {
	out := slices.Clone(events)
	slices.Reverse(out)
	return out
}

func only(events []apikey.Event, keep func(apikey.Event) bool) []apikey.Event {
	var out []apikey.Event
	for _, e := range events {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// testEventsNewestFirst checks that Events reads backwards with Newest,
// from the latest, continuing strictly below Before, with every filter.
func testEventsNewestFirst(t *testing.T, s apikey.EventStore) {
	all := eventsFixture(t, s)
	assertEvents(t, reversed(all), readNewest(t, s, apikey.EventQuery{}, false), "all events, newest first")
	ofA := only(all, func(e apikey.Event) bool { return e.Owner == "org-a" })
	assertEvents(t, reversed(ofA), readNewest(t, s, apikey.EventQuery{Owner: "org-a"}, false), "org-a's events, newest first, by position")
	assertEvents(t, reversed(ofA), readNewest(t, s, apikey.EventQuery{Owner: "org-a"}, true), "org-a's events, newest first, by owner sequence")
	key := all[0].KeyID
	ofKey := only(all, func(e apikey.Event) bool { return e.KeyID == key })
	assertEvents(t, reversed(ofKey), readNewest(t, s, apikey.EventQuery{KeyID: key}, false), "a key's history, newest first")
	assertEvents(t, reversed(ofKey), readNewest(t, s, apikey.EventQuery{KeyID: key, Owner: "org-a"}, true), "a key's history in its owner, newest first")
	since := all[4].At
	assertEvents(t, reversed(only(all, func(e apikey.Event) bool { return !e.At.Before(since) })),
		readNewest(t, s, apikey.EventQuery{Since: since}, false), "events since a time, newest first")

	page, err := s.Events(t.Context(), apikey.EventQuery{Limit: 100})
	must.NoError(t, err, "Events")
	must.Equal(t, len(all), len(page), "events in one page")
	mid := page[5].Position
	below, err := s.Events(t.Context(), apikey.EventQuery{Newest: true, Before: mid, Limit: 100})
	if check.NoError(t, err, "Events before a position") {
		assertEvents(t, reversed(all[:5]), below, "events strictly before a position, newest first")
	}
	between, err := s.Events(t.Context(), apikey.EventQuery{After: page[1].Position, Before: mid, Limit: 100})
	if check.NoError(t, err, "Events between two positions") {
		assertEvents(t, all[2:5], between, "events strictly between two positions, oldest first")
	}
}

// testEventsByKindAndActor checks the kind and actor filters, alone, with
// an owner, with a key, in both directions. Two actors share a name:
// their IDs tell them apart.
func testEventsByKindAndActor(t *testing.T, s apikey.EventStore) {
	all := eventsFixture(t, s)
	for _, q := range []apikey.EventQuery{
		{Kind: apikey.EventRenamed},
		{Kind: apikey.EventDeactivated},
		{Kind: apikey.EventRenamed, Owner: "org-a"},
		{Kind: apikey.EventIssued, KeyID: all[0].KeyID},
		{ActorID: alice.ID},
		{ActorID: "user-18", Owner: "org-a"},
		{ActorID: "user-18", Kind: apikey.EventRenamed, Owner: "org-b"},
		{ActorID: "nobody"},
		{Kind: "no_such_kind"},
	} {
		want := only(all, func(e apikey.Event) bool {
			return (q.Kind == "" || e.Kind == q.Kind) && (q.ActorID == "" || e.ActorID == q.ActorID) &&
				(q.Owner == "" || e.Owner == q.Owner) && (q.KeyID == [16]byte{} || e.KeyID == q.KeyID)
		})
		assertEvents(t, want, readAll(t, s, q), "events oldest first, "+describeQuery(q))
		assertEvents(t, reversed(want), readNewest(t, s, q, false), "events newest first, "+describeQuery(q))
	}
}

func describeQuery(q apikey.EventQuery) string {
	return "owner=" + q.Owner + " kind=" + string(q.Kind) + " actor=" + q.ActorID
}

// testEventsOwnerSequence checks that each owner's events are numbered
// 1, 2, 3... whatever other owners do in between, that OwnerSeq follows
// Position within an owner, and that AfterSeq and BeforeSeq page by it.
func testEventsOwnerSequence(t *testing.T, s apikey.EventStore) {
	all := eventsFixture(t, s)
	got := readAll(t, s, apikey.EventQuery{})
	must.Equal(t, len(all), len(got), "events")
	next := map[string]int64{}
	for _, e := range got {
		next[e.Owner]++
		check.Equal(t, next[e.Owner], e.OwnerSeq, "OwnerSeq of event %d of %s: the owner's own count, without gaps", e.Position, e.Owner)
	}
	ofA := only(got, func(e apikey.Event) bool { return e.Owner == "org-a" })
	for i := range ofA {
		page, err := s.Events(t.Context(), apikey.EventQuery{Owner: "org-a", AfterSeq: int64(i), Limit: 1})
		if check.NoError(t, err, "Events after owner sequence %d", i) && check.Equal(t, 1, len(page), "events after owner sequence %d", i) {
			check.Equal(t, ofA[i].Position, page[0].Position, "the event after owner sequence %d", i)
		}
	}
	rest, err := s.Events(t.Context(), apikey.EventQuery{Owner: "org-a", AfterSeq: int64(len(ofA)), Limit: 10})
	if check.NoError(t, err, "Events after the last owner sequence") {
		check.Equal(t, 0, len(rest), "events after the owner's last")
	}
}
