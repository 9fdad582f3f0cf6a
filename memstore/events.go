package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

var _ apikey.EventStore = (*Store)(nil)

// eventLog is the audit trail: every event in the order of positions, and
// the same events by owner and by key, each in that order, so that an
// owner's or a key's page is found by binary search in its own slice.
type eventLog struct {
	all      []apikey.Event
	byOwner  map[string][]apikey.Event
	byKey    map[uuid.UUID][]apikey.Event
	position int64            // the last position given
	ownerSeq map[string]int64 // the last OwnerSeq given, by owner
}

// record appends e to the audit trail with the next position and the next
// sequence number of its owner. The caller holds s.mu for writing, the
// lock of the change e records: the change and its event are one atomic
// step, and positions follow the order of changes.
func (s *Store) record(e apikey.Event) {
	l := &s.events
	if l.byOwner == nil {
		l.byOwner, l.byKey, l.ownerSeq = map[string][]apikey.Event{}, map[uuid.UUID][]apikey.Event{}, map[string]int64{}
	}
	l.position++
	l.ownerSeq[e.Owner]++
	e.Position, e.OwnerSeq = l.position, l.ownerSeq[e.Owner]
	l.all = append(l.all, e)
	l.byOwner[e.Owner] = append(l.byOwner[e.Owner], e)
	l.byKey[e.KeyID] = append(l.byKey[e.KeyID], e)
}

// Events returns copies of at most q.Limit events matching q's filters, in
// the order of their positions (with q.Newest, the reverse), between
// q.After and q.Before (and q.AfterSeq and q.BeforeSeq). It reads the
// owner's or the key's slice, finds its bounds by binary search, and
// filters by kind, actor and time linearly from there.
func (s *Store) Events(_ context.Context, q apikey.EventQuery) ([]apikey.Event, error) {
	limit := max(q.Limit, 1)
	s.mu.RLock()
	defer s.mu.RUnlock()
	events := s.events.all
	switch {
	case q.KeyID != uuid.Nil:
		events = s.events.byKey[q.KeyID]
	case q.Owner != "":
		events = s.events.byOwner[q.Owner]
	}
	// The events between the bounds, found by position.
	lo, hi := 0, len(events)
	byPosition := func(e apikey.Event, p int64) int { return cmpInt(e.Position, p) }
	if q.After > 0 {
		lo, _ = slices.BinarySearchFunc(events, q.After+1, byPosition)
	}
	if q.Before > 0 {
		hi, _ = slices.BinarySearchFunc(events, q.Before, byPosition)
	}
	if q.Owner != "" {
		// One owner's slice, or one key's (whose owner never changes), is
		// in OwnerSeq order too.
		bySeq := func(e apikey.Event, n int64) int { return cmpInt(e.OwnerSeq, n) }
		if q.AfterSeq > 0 {
			i, _ := slices.BinarySearchFunc(events, q.AfterSeq+1, bySeq)
			lo = max(lo, i)
		}
		if q.BeforeSeq > 0 {
			i, _ := slices.BinarySearchFunc(events, q.BeforeSeq, bySeq)
			hi = min(hi, i)
		}
	}
	out := []apikey.Event{}
	match := func(e apikey.Event) bool {
		return (q.Owner == "" || e.Owner == q.Owner) &&
			(q.Kind == "" || e.Kind == q.Kind) &&
			(q.ActorID == "" || e.ActorID == q.ActorID) &&
			(q.AfterSeq <= 0 || e.OwnerSeq > q.AfterSeq) &&
			(q.BeforeSeq <= 0 || e.OwnerSeq < q.BeforeSeq) &&
			(q.Since.IsZero() || !e.At.Before(q.Since))
	}
	for i := range max(hi-lo, 0) {
		e := events[lo+i]
		if q.Newest {
			e = events[hi-1-i]
		}
		if !match(e) {
			continue
		}
		out = append(out, e.Clone())
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
	l.all = slices.DeleteFunc(l.all, func(e apikey.Event) bool {
		if n < limit && e.At.Before(before) {
			n++
			pruned[e.Position] = true
			return true
		}
		return false
	})
	if n == 0 {
		return 0, nil
	}
	gone := func(e apikey.Event) bool { return pruned[e.Position] }
	for owner, events := range l.byOwner {
		if events = slices.DeleteFunc(events, gone); len(events) == 0 {
			delete(l.byOwner, owner)
		} else {
			l.byOwner[owner] = events
		}
	}
	for id, events := range l.byKey {
		if events = slices.DeleteFunc(events, gone); len(events) == 0 {
			delete(l.byKey, id)
		} else {
			l.byKey[id] = events
		}
	}
	return n, nil
}

// cloneTime returns a copy of *t, or nil.
func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}
