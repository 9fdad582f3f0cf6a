package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/apikit/apikey"
)

var _ apikey.EventStore = (*Store)(nil)

// record appends e to the audit trail with the next position. The caller
// holds s.mu for writing, the lock of the change e records: the change and
// its event are one atomic step, and positions follow the order of changes.
func (s *Store) record(e apikey.Event) {
	s.position++
	e.Position = s.position
	s.events = append(s.events, e)
}

// Events returns copies of at most q.Limit events matching q's filters, in
// the order of their positions, above q.After. It finds the start by binary
// search and filters linearly from there.
func (s *Store) Events(_ context.Context, q apikey.EventQuery) ([]apikey.Event, error) {
	limit := max(q.Limit, 1)
	s.mu.RLock()
	defer s.mu.RUnlock()
	start, _ := slices.BinarySearchFunc(s.events, q.After+1, func(e apikey.Event, p int64) int {
		switch {
		case e.Position < p:
			return -1
		case e.Position > p:
			return 1
		}
		return 0
	})
	out := []apikey.Event{}
	for _, e := range s.events[start:] {
		if q.Owner != "" && e.Owner != q.Owner || q.KeyID != [16]byte{} && e.KeyID != q.KeyID || !q.Since.IsZero() && e.At.Before(q.Since) {
			continue
		}
		out = append(out, e.Clone())
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// LastPosition returns the position of the latest event, or 0.
func (s *Store) LastPosition(context.Context) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.position, nil
}

// PruneEvents deletes at most limit events dated before before, in the
// order of their positions, and returns how many it deleted.
func (s *Store) PruneEvents(_ context.Context, before time.Time, limit int) (int, error) {
	limit = max(limit, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	s.events = slices.DeleteFunc(s.events, func(e apikey.Event) bool {
		if n < limit && e.At.Before(before) {
			n++
			return true
		}
		return false
	})
	if len(s.events) < cap(s.events)/2 {
		// Give the memory back: the array keeps its capacity otherwise,
		// and a store that prunes old events would hold its peak forever.
		s.events = slices.Clone(s.events)
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
