package apikey

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Default and maximum page sizes of [Manager.Events].
const (
	DefaultEventsLimit = 100
	MaxEventsLimit     = 1000
)

// EventOptions selects a page of events (see [Manager.Events]).
type EventOptions struct {
	// Owner, if not empty, selects only this owner's events. An actor
	// limited to one owner sees only that owner's events whatever Owner
	// says (another owner's are none).
	Owner string

	// KeyID, if not uuid.Nil, selects only the events of this key, which
	// may have been deleted since.
	KeyID uuid.UUID

	// Kind, if not empty, selects only the events of this kind.
	Kind EventKind

	// ActorID, if not empty, selects only the events made by this actor
	// ([Event.ActorID]; for an administrator's key, the key's ID).
	ActorID string

	// Since, if not zero, selects only events at or after it.
	Since time.Time

	// Newest returns the latest events first; by default the oldest come
	// first.
	Newest bool

	// Cursor continues where a previous page ended: pass its Next, with
	// the same options. Empty starts at the first (or, with Newest, the
	// latest) event. A cursor is opaque and says nothing about other
	// owners' activity.
	Cursor string

	// Limit is the page size: DefaultEventsLimit if zero, at most
	// MaxEventsLimit.
	Limit int
}

// EventPage is one page of events in the order [EventOptions] asked for.
type EventPage struct {
	Events []Event

	// Next is the cursor of the next page, empty on the last page.
	Next string
}

// eventStore returns the Store as an EventStore, or an error wrapping
// errors.ErrUnsupported.
func (m *Manager) eventStore(op string) (EventStore, error) {
	es, ok := m.store.(EventStore)
	if !ok {
		return nil, fmt.Errorf("apikey: %s: the Store (%T) is not an EventStore: %w", op, m.store, errors.ErrUnsupported)
	}
	return es, nil
}

// Events returns a page of the audit trail: the events of every change of
// a key (see [Event]), oldest first (with opts.Newest, the latest first),
// within the owner of the actor in ctx. The events of a deleted key stay
// readable by its ID.
//
// A read limited to one owner (by an actor of one owner, or by opts.Owner)
// is paged by the owner's own sequence ([Event.OwnerSeq]) and its events
// come with Position zero: nothing in the page or its cursor tells how
// many changes other owners made in between.
//
// The error wraps ErrInvalidOwner, ErrInvalidCursor, ErrStoreFailure, or
// errors.ErrUnsupported for a Store that is not an [EventStore].
func (m *Manager) Events(ctx context.Context, opts EventOptions) (EventPage, error) {
	es, err := m.eventStore("events")
	if err != nil {
		return EventPage{}, err
	}
	limit := opts.Limit
	switch {
	case limit == 0:
		limit = DefaultEventsLimit
	case limit < 0 || limit > MaxEventsLimit:
		return EventPage{}, fmt.Errorf("apikey: events limit must be 1 to %d", MaxEventsLimit)
	}
	owner := opts.Owner
	if owner != "" {
		if err := ValidateOwner(owner); err != nil {
			return EventPage{}, err
		}
	}
	if scope := ownerScope(ctx); scope != "" {
		if owner != "" && owner != scope {
			return EventPage{Events: []Event{}}, nil
		}
		owner = scope
	}
	q := EventQuery{Owner: owner, KeyID: opts.KeyID, Kind: opts.Kind, ActorID: opts.ActorID, Since: opts.Since, Newest: opts.Newest, Limit: limit + 1}
	if opts.Cursor != "" {
		c, err := decodeEventCursor(opts.Cursor)
		if err != nil || c.newest != opts.Newest || c.bySeq != (owner != "") {
			return EventPage{}, fmt.Errorf("%w: not the cursor of a page of these events", ErrInvalidCursor)
		}
		switch {
		case c.bySeq && c.newest:
			q.BeforeSeq = c.n
		case c.bySeq:
			q.AfterSeq = c.n
		case c.newest:
			q.Before = c.n
		default:
			q.After = c.n
		}
	}
	events, err := es.Events(ctx, q)
	if err != nil {
		return EventPage{}, m.storeError("events", err)
	}
	page := EventPage{Events: events}
	if len(events) > limit {
		page.Events = events[:limit]
		last := events[limit-1]
		c := eventCursor{newest: opts.Newest, bySeq: owner != "", n: last.Position}
		if c.bySeq {
			c.n = last.OwnerSeq
		}
		page.Next = c.encode()
	}
	if owner != "" {
		for i := range page.Events {
			page.Events[i].Position = 0
		}
	}
	return page, nil
}

// PruneEvents deletes the events older than olderThan, in batches of
// MaxEventsLimit, and returns how many it deleted: the retention of the
// audit trail, which is otherwise kept for ever. Only trusted code (no
// actor) or an actor with AllOwners may prune (the trail is the whole
// store's); others get ErrEscalation. The error wraps ErrStoreFailure, or
// errors.ErrUnsupported for a Store that is not an [EventStore]; the
// count is of the events deleted before it.
func (m *Manager) PruneEvents(ctx context.Context, olderThan time.Duration) (int, error) {
	es, err := m.eventStore("prune events")
	if err != nil {
		return 0, err
	}
	if olderThan < 0 {
		return 0, fmt.Errorf("apikey: prune events: negative age %v", olderThan)
	}
	if ownerScope(ctx) != "" {
		return 0, fmt.Errorf("%w: only an operator prunes the audit trail", ErrEscalation)
	}
	before := m.now().Add(-olderThan)
	total := 0
	for {
		n, err := es.PruneEvents(ctx, before, MaxEventsLimit)
		total += n
		if err != nil {
			return total, m.storeError("prune events", err)
		}
		if n < MaxEventsLimit {
			return total, nil
		}
	}
}
