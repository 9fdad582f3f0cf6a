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

	// Since, if not zero, selects only events at or after it.
	Since time.Time

	// After continues after a position: pass the previous page's Next.
	// Zero starts at the first event.
	After int64

	// Limit is the page size: DefaultEventsLimit if zero, at most
	// MaxEventsLimit.
	Limit int
}

// EventPage is one page of events in the order of their positions.
type EventPage struct {
	Events []Event

	// Next is the position to continue after, zero on the last page.
	Next int64
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
// a key (see [Event]), oldest first, within the owner of the actor in ctx.
// The events of a deleted key stay readable by its ID. The error wraps
// ErrInvalidOwner, ErrStoreFailure, or errors.ErrUnsupported for a Store
// that is not an [EventStore].
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
	if opts.After < 0 {
		return EventPage{}, fmt.Errorf("apikey: events: negative position %d", opts.After)
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
	events, err := es.Events(ctx, EventQuery{Owner: owner, KeyID: opts.KeyID, Since: opts.Since, After: opts.After, Limit: limit + 1})
	if err != nil {
		return EventPage{}, m.storeError("events", err)
	}
	page := EventPage{Events: events}
	if len(events) > limit {
		page.Events = events[:limit]
		page.Next = events[limit-1].Position
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
