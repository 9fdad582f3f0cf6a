package storetest

import (
	"context"
	"runtime"
	"slices"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

var _ apikey.EventStore = (*refStore)(nil)

// record appends e to the audit trail with the next position. The caller
// holds s.mu: the change and its event are one step, unless a bug says
// otherwise.
func (s *refStore) record(ctx context.Context, e apikey.Event) {
	switch {
	case s.has("event-actor-dropped"):
		e.ActorID, e.ActorName = "", apikey.OperatorName
	case s.has("event-time-from-clock"):
		e.At = time.Now().UTC()
	case s.has("event-reason-dropped"):
		e.Reason = ""
	}
	if s.has("position-outside-lock") {
		// The outbox gap: the position is taken from a sequence, and the
		// event becomes visible when its change commits, which may be
		// after a change with a higher position.
		p := s.outside.Add(1)
		s.mu.Unlock()
		runtime.Gosched()
		time.Sleep(time.Duration(p%3) * time.Millisecond)
		s.mu.Lock()
		e.Position = p
		s.events = append(s.events, e)
		return
	}
	s.position++
	e.Position = s.position
	if s.ownerSeq == nil {
		s.ownerSeq = map[string]int64{}
	}
	s.ownerSeq[e.Owner]++
	e.OwnerSeq = s.ownerSeq[e.Owner]
	if s.has("owner-seq-store-wide") {
		e.OwnerSeq = e.Position
	}
	s.events = append(s.events, e.Clone())
}

func (s *refStore) recordIssued(ctx context.Context, c apikey.Change, k *apikey.Key) {
	e := apikey.NewEvent(c, apikey.EventIssued, k)
	e.New = apikey.IssuedValues(k)
	s.record(ctx, e)
}

func (s *refStore) recordRemoved(ctx context.Context, c apikey.Change, kind apikey.EventKind, k *apikey.Key) {
	e := apikey.NewEvent(c, kind, k)
	e.Old = apikey.RemovedValues(k)
	s.record(ctx, e)
	if s.has("events-die-with-key") {
		s.events = slices.DeleteFunc(s.events, func(e apikey.Event) bool { return e.KeyID == k.ID })
	}
}

// renamed returns the event function of SetName.
func (s *refStore) renamed(c apikey.Change, name string) func(k *apikey.Key) apikey.Event {
	if s.has("event-dropped") {
		return nil
	}
	return func(k *apikey.Key) apikey.Event {
		e := apikey.NewEvent(c, apikey.EventRenamed, k)
		e.Old.Name, e.New.Name = k.Name, name
		if s.has("event-old-is-new") {
			e.Old.Name = name
		}
		return e
	}
}

func (s *refStore) Events(_ context.Context, q apikey.EventQuery) ([]apikey.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sorted := slices.Clone(s.events)
	slices.SortFunc(sorted, func(a, b apikey.Event) int { return int(a.Position - b.Position) })
	if s.has("events-newest-first") != (q.Newest && !s.has("events-newest-ignored")) {
		slices.Reverse(sorted)
	}
	limit := max(q.Limit, 1)
	if s.has("events-limit-ignored") {
		limit = len(sorted) + 1
	}
	out := []apikey.Event{}
	for _, e := range sorted {
		switch {
		case e.Position < q.After || e.Position == q.After && !s.has("events-after-inclusive"):
		case q.Owner != "" && e.Owner != q.Owner && !s.has("events-owner-ignored"):
		case q.KeyID != uuid.Nil && e.KeyID != q.KeyID && !s.has("events-key-ignored"):
		case !q.Since.IsZero() && e.At.Before(q.Since) && !s.has("events-since-ignored"):
		case q.Before > 0 && (e.Position > q.Before || e.Position == q.Before && !s.has("events-before-inclusive")):
		case q.AfterSeq > 0 && e.OwnerSeq <= q.AfterSeq:
		case q.BeforeSeq > 0 && e.OwnerSeq >= q.BeforeSeq:
		case q.Kind != "" && e.Kind != q.Kind && !s.has("events-kind-ignored"):
		case q.ActorID != "" && e.ActorID != q.ActorID && !s.has("events-actor-ignored"):
		default:
			if len(out) < limit {
				out = append(out, e.Clone())
			}
		}
	}
	return out, nil
}

func (s *refStore) LastPosition(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.has("position-outside-lock") {
		return s.outside.Load(), nil
	}
	return s.position, nil
}

func (s *refStore) PruneEvents(_ context.Context, before time.Time, limit int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	limit = max(limit, 1)
	if s.has("prune-events-limit-ignored") {
		limit = len(s.events)
	}
	n := 0
	s.events = slices.DeleteFunc(s.events, func(e apikey.Event) bool {
		old := e.At.Before(before) || s.has("prune-events-inclusive") && e.At.Equal(before)
		if n < limit && old {
			n++
			return true
		}
		return false
	})
	if s.has("prune-events-resets-position") {
		s.position = int64(len(s.events))
	}
	return n, nil
}

// copyTime returns a copy of *t in UTC, or nil.
func copyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := t.UTC()
	return &c
}
