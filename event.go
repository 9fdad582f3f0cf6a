package apikey

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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

	// At is when the change was made, in UTC (see [ChangeFromContext]).
	At time.Time `json:"at"`

	// Owner and KeyID name the key changed. A key's events outlive it.
	Owner string    `json:"owner"`
	KeyID uuid.UUID `json:"key_id"`

	// ActorID and ActorName name the administrator who made the change
	// ([Actor.ID], [Actor.Name]); ActorName is [OperatorName] and ActorID
	// empty for a change made without an actor.
	ActorID   string `json:"actor_id,omitempty"`
	ActorName string `json:"actor_name"`

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

	// Since, if not zero, selects only events at or after it.
	Since time.Time

	// After selects only events with a Position strictly above it; zero
	// starts at the first event.
	After int64

	// Limit is the maximum number of events to return; a store treats a
	// value below 1 as 1.
	Limit int
}

// EventStore is a [Store] that records an audit trail: an [Event] for every
// change of a key, and a way to read them in order. A Manager follows it
// with [WithChangeFeed]; [Manager.Events] reads it. memstore and sqlstore
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
//   - The event's actor and time come from the context of the call (see
//     [ChangeFromContext]); its old values from the key as the change
//     found it.
//   - Positions are assigned in commit order: a reader that has seen
//     position p never later sees a new event below p. A store on a
//     database with concurrent writers allocates positions under a lock
//     held until commit, not from a sequence.
//   - Events are never changed, and outlive their key; only PruneEvents
//     removes them.
type EventStore interface {
	Store

	// Events returns the first min(q.Limit, remaining) events matching
	// q's filters, in increasing Position, all above q.After. A page
	// shorter than q.Limit is the last for now.
	Events(ctx context.Context, q EventQuery) ([]Event, error)

	// LastPosition returns the Position of the latest event, or 0 if
	// there is none: where a follower starts.
	LastPosition(ctx context.Context) (int64, error)

	// PruneEvents deletes at most limit events (a limit below 1 is 1)
	// that happened strictly before before, the oldest first, and returns
	// how many it deleted.
	PruneEvents(ctx context.Context, before time.Time, limit int) (int, error)
}

// Change is who makes a change, when and why, as an [EventStore] records
// it (see [ChangeFromContext]).
type Change struct {
	ActorID, ActorName string
	At                 time.Time

	// Reason is why the change is made (see [NewChangeContext]); empty if
	// the caller did not say.
	Reason string
}

// maxChangeText is the length, in bytes, at which NewChangeContext cuts
// the name and the reason of a change.
const maxChangeText = 255

type changeContextKey struct{}

// NewChangeContext returns a context that names who makes the changes made
// with it, and why, for trusted code (a command-line tool, a bootstrap
// step, a job) that acts without an [Actor] and so without escalation
// checks: c.ActorID and c.ActorName are recorded in their events instead
// of [OperatorName] (an empty ActorName stays OperatorName), and c.Reason
// with them. An actor set by [NewActorContext] takes precedence over
// c.ActorID and c.ActorName, never over its own checks: the context grants
// nothing. c.Reason is recorded with an actor too. c.At is ignored (see
// [NewChangeTimeContext]).
//
// Events are read by more people than keys are, so the name and the
// reason are cleaned before they are kept: every API key in them is
// redacted to its preview ([RedactKeys]), control characters and invalid
// UTF-8 become U+FFFD, and each is cut to at most 255 bytes, on a
// character boundary.
func NewChangeContext(ctx context.Context, c Change) context.Context {
	c.ActorID, c.ActorName, c.Reason = cleanChangeText(c.ActorID), cleanChangeText(c.ActorName), cleanChangeText(c.Reason)
	c.At = time.Time{}
	return context.WithValue(ctx, changeContextKey{}, c)
}

// cleanChangeText redacts keys, replaces control and format characters
// (bidi overrides, zero-width characters: a name must not display as
// another) and invalid UTF-8 with U+FFFD, and cuts s to maxChangeText bytes.
func cleanChangeText(s string) string {
	s = RedactKeys(strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return '\uFFFD'
		}
		return r
	}, s)
	if len(s) > maxChangeText {
		cut := maxChangeText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

type changeTimeContextKey struct{}

// NewChangeTimeContext returns a context that dates the changes made with
// it at t: the Manager sets it to its clock's time for every change, so
// that a Store's events follow an injected clock (see [WithClock]).
func NewChangeTimeContext(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, changeTimeContextKey{}, t.UTC().Truncate(time.Microsecond))
}

// ChangeFromContext returns the Change that a Store records for a change
// made with ctx: the actor set by [NewActorContext], or without one the
// name set by [NewChangeContext], or [OperatorName]; the reason set by
// NewChangeContext; and the time set by [NewChangeTimeContext] (or the
// current time without one), in UTC, truncated to microseconds.
func ChangeFromContext(ctx context.Context) Change {
	c := Change{ActorName: OperatorName}
	given, _ := ctx.Value(changeContextKey{}).(Change)
	if given.ActorName != "" {
		c.ActorID, c.ActorName = given.ActorID, given.ActorName
	}
	c.Reason = given.Reason
	if a, ok := ActorFromContext(ctx); ok {
		c.ActorID, c.ActorName = a.ID, a.Name
	}
	if t, ok := ctx.Value(changeTimeContextKey{}).(time.Time); ok {
		c.At = t
	} else {
		c.At = time.Now().UTC().Truncate(time.Microsecond)
	}
	return c
}

// NewEvent returns the event of a change made with ctx to k, without a
// Position (the store assigns it): the actor and time of
// [ChangeFromContext], k's owner and ID. A Store fills in Old and New.
func NewEvent(ctx context.Context, kind EventKind, k *Key) Event {
	c := ChangeFromContext(ctx)
	return Event{At: c.At, Owner: k.Owner, KeyID: k.ID, ActorID: c.ActorID, ActorName: c.ActorName, Reason: c.Reason, Kind: kind}
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
