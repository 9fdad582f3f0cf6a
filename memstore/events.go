package memstore

import (
	"context"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

var _ apikey.EventStore = (*Store)(nil)

// eventLog is the audit trail: every event in the order of positions, and
// the positions of each owner's and each key's events, in that order, so
// that an owner's or a key's page is found by binary search in its own
// list, at 8 bytes per event and list. A key's list is held only once it
// has two events: most keys have one (EventIssued), whose position keyFirst
// holds without a slice.
type eventLog struct {
	all      []storedEvent
	byOwner  map[string][]int64
	keyFirst map[uuid.UUID]int64   // a key with one event: its position
	byKey    map[uuid.UUID][]int64 // a key with two events or more: their positions
	position int64                 // the last position given
	ownerSeq map[string]int64      // the last OwnerSeq given, by owner
	last     *eventOrigin          // the origin of the latest event, shared by the next if equal
}

// storedEvent is an [apikey.Event] as the log holds it: 104 bytes where
// the Event takes 360. The fields that one change shares with the next
// (actor, reason, kind) are one shared eventOrigin; the values are pointers,
// nil when empty; an EventIssued event keeps the issued record itself, which
// is immutable (copy on write, see [Store]), instead of a copy of its name,
// groups and expiry.
type storedEvent struct {
	position, ownerSeq int64
	at                 time.Time
	owner              string
	keyID              uuid.UUID
	origin             *eventOrigin
	issued             *apikey.Key // EventIssued: New is IssuedValues(issued)
	old, new           *apikey.EventValues
}

// eventOrigin is who made a change, why, and what it was.
type eventOrigin struct {
	actorID, actorName, actorPreview, reason string
	kind                                     apikey.EventKind
}

// event returns a copy of the event e stores, the caller's to modify.
func (e *storedEvent) event() apikey.Event {
	out := apikey.Event{
		Position: e.position, OwnerSeq: e.ownerSeq, At: e.at, Owner: e.owner, KeyID: e.keyID,
		ActorID: e.origin.actorID, ActorName: e.origin.actorName, ActorPreview: e.origin.actorPreview,
		Reason: e.origin.reason, Kind: e.origin.kind,
	}
	if e.issued != nil {
		out.New = apikey.IssuedValues(e.issued)
	}
	if e.old != nil {
		out.Old = *e.old
	}
	if e.new != nil {
		out.New = *e.new
	}
	return out.Clone()
}

// valuesOf returns a pointer to v, or nil when v is the zero EventValues.
func valuesOf(v apikey.EventValues) *apikey.EventValues {
	if v.Name == "" && v.Groups == nil && v.ExpiresAt == nil && v.Successor == uuid.Nil &&
		v.Predecessor == uuid.Nil && v.GraceEndsAt == nil && v.Limits == nil && v.Credits == nil {
		return nil
	}
	return &v
}

// record appends e to the audit trail with the next position and the next
// sequence number of its owner. The caller holds s.mu for writing, the
// lock of the change e records: the change and its event are one atomic
// step, and positions follow the order of changes.
func (s *Store) record(e apikey.Event) {
	s.recordStored(e, storedEvent{old: valuesOf(e.Old), new: valuesOf(e.New)})
}

// recordIssued records the EventIssued event of k, the record just stored,
// as record does.
func (s *Store) recordIssued(ch apikey.Change, k *apikey.Key) {
	s.recordStored(apikey.NewEvent(ch, apikey.EventIssued, k), storedEvent{issued: k})
}

// recordStored records e in the shape se, whose values are set.
func (s *Store) recordStored(e apikey.Event, se storedEvent) {
	l := &s.events
	if l.byOwner == nil {
		l.byOwner, l.keyFirst, l.byKey, l.ownerSeq = map[string][]int64{}, map[uuid.UUID]int64{}, map[uuid.UUID][]int64{}, map[string]int64{}
	}
	o := eventOrigin{e.ActorID, e.ActorName, e.ActorPreview, e.Reason, e.Kind}
	if l.last == nil || *l.last != o {
		l.last = &o
	}
	l.position++
	seq := l.ownerSeq[e.Owner] + 1
	l.ownerSeq[e.Owner] = seq
	se.position, se.ownerSeq, se.at, se.owner, se.keyID, se.origin = l.position, seq, e.At, e.Owner, e.KeyID, l.last
	l.all = append(l.all, se)
	l.byOwner[e.Owner] = append(l.byOwner[e.Owner], se.position)
	if positions, ok := l.byKey[e.KeyID]; ok {
		l.byKey[e.KeyID] = append(positions, se.position)
	} else if first, ok := l.keyFirst[e.KeyID]; ok {
		l.byKey[e.KeyID] = []int64{first, se.position}
		delete(l.keyFirst, e.KeyID)
	} else {
		l.keyFirst[e.KeyID] = se.position
	}
}

// eventView is the events Events reads: all of them, or those at the
// given positions.
type eventView struct {
	all       []storedEvent
	positions []int64 // nil: all
}

func (v eventView) len() int {
	if v.positions == nil {
		return len(v.all)
	}
	return len(v.positions)
}

// at returns the i-th event of the view.
func (v eventView) at(i int) *storedEvent {
	if v.positions == nil {
		return &v.all[i]
	}
	j, _ := slices.BinarySearchFunc(v.all, v.positions[i], func(e storedEvent, p int64) int { return cmpInt(e.position, p) })
	return &v.all[j]
}

// Events returns copies of at most q.Limit events matching q's filters, in
// the order of their positions (with q.Newest, the reverse), between
// q.After and q.Before (and q.AfterSeq and q.BeforeSeq). It reads the
// owner's or the key's list, finds its bounds by binary search, and
// filters by kind, actor and time linearly from there.
func (s *Store) Events(_ context.Context, q apikey.EventQuery) ([]apikey.Event, error) {
	limit := max(q.Limit, 1)
	s.mu.RLock()
	defer s.mu.RUnlock()
	v := eventView{all: s.events.all}
	switch {
	case q.KeyID != uuid.Nil:
		v.positions = s.events.byKey[q.KeyID]
		if first, ok := s.events.keyFirst[q.KeyID]; ok {
			v.positions = []int64{first}
		}
	case q.Owner != "":
		v.positions = s.events.byOwner[q.Owner]
	}
	if v.positions == nil && (q.KeyID != uuid.Nil || q.Owner != "") {
		return []apikey.Event{}, nil
	}
	// The events between the bounds. One owner's list, or one key's (whose
	// owner never changes), is in OwnerSeq order too.
	n := v.len()
	search := func(pass func(e *storedEvent) bool) int {
		return sort.Search(n, func(i int) bool { return pass(v.at(i)) })
	}
	lo, hi := 0, n
	if q.After > 0 {
		lo = search(func(e *storedEvent) bool { return e.position > q.After })
	}
	if q.Before > 0 {
		hi = search(func(e *storedEvent) bool { return e.position >= q.Before })
	}
	if q.Owner != "" && q.AfterSeq > 0 {
		lo = max(lo, search(func(e *storedEvent) bool { return e.ownerSeq > q.AfterSeq }))
	}
	if q.Owner != "" && q.BeforeSeq > 0 {
		hi = min(hi, search(func(e *storedEvent) bool { return e.ownerSeq >= q.BeforeSeq }))
	}
	out := []apikey.Event{}
	match := func(e *storedEvent) bool {
		return (q.Owner == "" || e.owner == q.Owner) &&
			(q.Kind == "" || e.origin.kind == q.Kind) &&
			(q.ActorID == "" || e.origin.actorID == q.ActorID) &&
			(q.AfterSeq <= 0 || e.ownerSeq > q.AfterSeq) &&
			(q.BeforeSeq <= 0 || e.ownerSeq < q.BeforeSeq) &&
			(q.Since.IsZero() || !e.at.Before(q.Since))
	}
	for i := range max(hi-lo, 0) {
		e := v.at(lo + i)
		if q.Newest {
			e = v.at(hi - 1 - i)
		}
		if !match(e) {
			continue
		}
		out = append(out, e.event())
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// LastPosition returns the position of the latest event, or 0.
func (s *Store) LastPosition(context.Context) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.events.position, nil
}

// PruneEvents deletes at most limit events dated before before, in the
// order of their positions, and returns how many it deleted.
func (s *Store) PruneEvents(_ context.Context, before time.Time, limit int) (int, error) {
	limit = max(limit, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	l := &s.events
	n := 0
	pruned := map[int64]bool{}
	l.all = slices.DeleteFunc(l.all, func(e storedEvent) bool {
		if n < limit && e.at.Before(before) {
			n++
			pruned[e.position] = true
			return true
		}
		return false
	})
	if n == 0 {
		return 0, nil
	}
	gone := func(p int64) bool { return pruned[p] }
	for owner, events := range l.byOwner {
		if events = slices.DeleteFunc(events, gone); len(events) == 0 {
			delete(l.byOwner, owner)
		} else {
			l.byOwner[owner] = shrink(events)
		}
	}
	for id, first := range l.keyFirst {
		if gone(first) {
			delete(l.keyFirst, id)
		}
	}
	for id, events := range l.byKey {
		switch events = slices.DeleteFunc(events, gone); len(events) {
		case 0:
			delete(l.byKey, id)
		case 1:
			delete(l.byKey, id)
			l.keyFirst[id] = events[0]
		default:
			l.byKey[id] = shrink(events)
		}
	}
	// A map keeps its table when its entries are deleted: rebuild those
	// that this call may have emptied by more than half (it deleted more
	// events than they have entries left). Pruning in small batches
	// rebuilds only once a batch outnumbers what is left.
	if n > len(l.keyFirst) {
		l.keyFirst = maps.Collect(maps.All(l.keyFirst))
	}
	if n > len(l.byKey) {
		l.byKey = maps.Collect(maps.All(l.byKey))
	}
	if n > len(l.byOwner) {
		l.byOwner = maps.Collect(maps.All(l.byOwner))
	}
	// Give the memory back: an array keeps its capacity otherwise, and a
	// store that prunes old events would hold its peak forever.
	l.all = shrink(l.all)
	return n, nil
}

// shrink returns s, or a copy of it that holds no more than twice its
// length, so that what pruning removed is freed.
func shrink[S ~[]E, E any](s S) S {
	if len(s) < cap(s)/2 {
		return slices.Clone(s)
	}
	return s
}

// cloneTime returns a copy of *t, or nil.
func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}
