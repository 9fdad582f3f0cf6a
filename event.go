package apikey

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
)

// EventKind says what a change did to a key.
type EventKind string

// The kinds of events. Every change of a key appends exactly one of them;
// a roll appends two (EventRolled for the old key, EventIssued for its
// successor).
const (
	EventIssued        EventKind = "issued"         // New: Name, Groups, ExpiresAt; Predecessor for a roll's successor
	EventRenamed       EventKind = "renamed"        // Old.Name, New.Name
	EventGroupsChanged EventKind = "groups_changed" // Old.Groups, New.Groups
	EventActivated     EventKind = "activated"      // no values
	EventDeactivated   EventKind = "deactivated"    // no values
	EventRolled        EventKind = "rolled"         // New: Successor, GraceEndsAt
	EventExpiryChanged EventKind = "expiry_changed" // Old.ExpiresAt, New.ExpiresAt
	EventDeleted       EventKind = "deleted"        // Old: Name, Groups, ExpiresAt
	EventPruned        EventKind = "pruned"         // Old: Name, Groups, ExpiresAt
	EventLimitsChanged EventKind = "limits_changed" // Old.Limits, New.Limits
	// EventCreditsChanged is an administrator's change of a credit
	// balance (Old.Credits, New.Credits); KeyID is uuid.Nil for an owner's
	// balance. Spending credits is counted, not an event.
	EventCreditsChanged EventKind = "credits_changed"
)

// OperatorName is the ActorName of an event recorded for a change made
// without an actor in its context: trusted code, such as the command-line
// tool or a bootstrap step.
const OperatorName = "operator"

// Event is one change of one key, as recorded in the audit trail of an
// [EventStore]. It names the key and what changed, never a secret, a hash
// or a lookup ID: an audit trail is read by more people than keys are.
type Event struct {
	// Position is the event's place in the store-wide order: strictly
	// increasing, assigned when the change commits, and visible to readers
	// in that order (a reader never sees a position before a lower one).
	Position int64 `json:"position"`

	// OwnerSeq is the event's place among the events of its owner: 1 for
	// the owner's first, then strictly increasing by one, assigned under
	// the same lock as Position, so that an owner's events in OwnerSeq
	// order are in Position order. It tells nothing about other owners'
	// activity, where Position does: what an owner's administrator is
	// shown is paged by OwnerSeq (see [Manager.Events]).
	OwnerSeq int64 `json:"owner_seq"`

	// At is when the change was made, in UTC: the [Change]'s At, the
	// UpdatedAt the change gave the key.
	At time.Time `json:"at"`

	// Owner and KeyID name the key changed. A key's events outlive it.
	Owner string    `json:"owner"`
	KeyID uuid.UUID `json:"key_id"`

	// ActorID, ActorName and ActorPreview name the administrator who made
	// the change ([Actor.ID], [Actor.Name], [Actor.Preview]): for an
	// administrator's key, its ID and preview, which no other key shares,
	// beside its name, which any key may share. ActorName is
	// [OperatorName] and ActorID empty for a change made without an actor
	// unless the code that made it said otherwise ([NewChangeContext]).
	ActorID      string `json:"actor_id,omitempty"`
	ActorName    string `json:"actor_name"`
	ActorPreview string `json:"actor_preview,omitempty"`

	// Reason is why the change was made, as the code that made it said
	// with [NewChangeContext]; empty if it did not say.
	Reason string `json:"reason,omitempty"`

	// Kind says what changed; Old and New hold the values it changed, as
	// each kind's comment lists.
	Kind EventKind   `json:"kind"`
	Old  EventValues `json:"old"`
	New  EventValues `json:"new"`
}

// EventValues are the values of a key that an event records, before (Old)
// or after (New) the change. Only those the event's kind names are set.
type EventValues struct {
	Name        string     `json:"name,omitempty"`
	Groups      []string   `json:"groups,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	Successor   uuid.UUID  `json:"successor,omitzero"`
	Predecessor uuid.UUID  `json:"predecessor,omitzero"`
	GraceEndsAt *time.Time `json:"grace_ends_at,omitempty"`
	Limits      *Limits    `json:"limits,omitempty"`
	Credits     *int64     `json:"credits,omitempty"`
}

// Clone returns a deep copy of e.
func (e Event) Clone() Event {
	e.Old, e.New = e.Old.clone(), e.New.clone()
	return e
}

func (v EventValues) clone() EventValues {
	v.Groups = slices.Clone(v.Groups)
	if v.ExpiresAt != nil {
		t := *v.ExpiresAt
		v.ExpiresAt = &t
	}
	if v.GraceEndsAt != nil {
		t := *v.GraceEndsAt
		v.GraceEndsAt = &t
	}
	v.Limits = v.Limits.Clone()
	if v.Credits != nil {
		n := *v.Credits
		v.Credits = &n
	}
	return v
}

// EventQuery selects a page of events from an [EventStore].
type EventQuery struct {
	// Owner, if not empty, selects only the events of this owner's keys
	// (byte for byte).
	Owner string

	// KeyID, if not uuid.Nil, selects only the events of this key.
	KeyID uuid.UUID

	// Kind, if not empty, selects only events of this kind.
	Kind EventKind

	// ActorID, if not empty, selects only events whose ActorID is this
	// (byte for byte).
	ActorID string

	// Since, if not zero, selects only events at or after it.
	Since time.Time

	// After selects only events with a Position strictly above it; zero
	// starts at the first event.
	After int64

	// Before, if above zero, selects only events with a Position strictly
	// below it: where a reader of the newest first continues.
	Before int64

	// AfterSeq and BeforeSeq, if above zero, select only events with an
	// OwnerSeq strictly above (below) them. They are given only with
	// Owner.
	AfterSeq, BeforeSeq int64

	// Newest returns the events in decreasing Position (the same order as
	// decreasing OwnerSeq within an owner), the latest first.
	Newest bool

	// Limit is the maximum number of events to return; a store treats a
	// value below 1 as 1.
	Limit int
}

// EventStore is a [Store] that records an audit trail: an [Event] for every
// change of a key, and a way to read them in order. A Manager follows it
// with [VerifyCache.FollowChanges]; [Manager.Events] reads it. memstore and sqlstore
// implement it; the conformance suite (package storetest) checks it for
// every Store that does.
//
// Beyond the contract of Store (and of [LifecycleStore], if it is one):
//
//   - Create, SetName, SetGroups, SetActive, Delete, and Roll, SetExpiresAt
//     and Prune, append one event for each key they change (a roll two,
//     a prune one per key deleted), atomically with the change: in the
//     same transaction, under the same lock. A change that returns an
//     error, refused by a guard or not, appends none. SetHash and
//     RecordLastUsed are not changes and append none. An update that
//     leaves a value as it was still appends its event.
//   - The event's time, actor and reason are the [Change] the method was
//     given (see [NewEvent]), never anything from the context; its old
//     values are the key's as the change found it. The time is the
//     UpdatedAt the change gives the key.
//   - Each event's OwnerSeq is the next of its owner's (1 for its
//     first), assigned atomically with its Position; pruned events leave
//     their numbers unused.
//   - Positions are assigned in commit order: a reader that has seen
//     position p never later sees a new event below p. A store on a
//     database with concurrent writers allocates positions under a lock
//     held until commit, not from a sequence.
//   - Events are never changed, and outlive their key; only PruneEvents
//     removes them.
type EventStore interface {
	Store

	// Events returns the first min(q.Limit, remaining) events matching
	// q's filters, all above q.After and, if q.Before is above zero, below
	// q.Before: in increasing Position, or with q.Newest in decreasing
	// Position from the latest. A page shorter than q.Limit is the last
	// for now. A Store serves an owner's or a key's events, and an owner's
	// filtered by kind or by actor, from indexes, in either direction.
	Events(ctx context.Context, q EventQuery) ([]Event, error)

	// LastPosition returns the Position of the latest event, or 0 if
	// there is none: where a follower starts.
	LastPosition(ctx context.Context) (int64, error)

	// PruneEvents deletes at most limit events (a limit below 1 is 1)
	// that happened strictly before before, the oldest first, and returns
	// how many it deleted.
	PruneEvents(ctx context.Context, before time.Time, limit int) (int, error)
}

// NewEvent returns the event of change c of kind to k, without a Position
// (the Store assigns it): c's time, actor and reason, k's owner and ID. A
// Store fills in Old and New.
func NewEvent(c Change, kind EventKind, k *Key) Event {
	return Event{
		At: c.At, Owner: k.Owner, KeyID: k.ID,
		ActorID: c.ActorID, ActorName: c.ActorName, ActorPreview: c.ActorPreview,
		Reason: c.Reason, Kind: kind,
	}
}

// IssuedValues returns the New values of the EventIssued event of k.
func IssuedValues(k *Key) EventValues {
	return EventValues{Name: k.Name, Groups: slices.Clone(k.Groups), ExpiresAt: utcPtr(k.ExpiresAt), Predecessor: k.RolledFrom}
}

// RemovedValues returns the Old values of the EventDeleted or EventPruned
// event of k.
func RemovedValues(k *Key) EventValues {
	return EventValues{Name: k.Name, Groups: slices.Clone(k.Groups), ExpiresAt: utcPtr(k.ExpiresAt)}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
