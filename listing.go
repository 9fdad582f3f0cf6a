package apikey

import (
	"context"
	"fmt"
	"time"
)

// ListSort is the order of a list of keys. Every order ends with the ID
// compared as 16 bytes, so that it is total.
type ListSort int

// ListSort values. The zero value, SortCreated, is the order of
// [Store.List]; the others need a [SortedLister].
const (
	// SortCreated lists the oldest key first: CreatedAt, then ID.
	SortCreated ListSort = iota
	// SortCreatedDesc lists the newest key first: CreatedAt, then ID,
	// both descending.
	SortCreatedDesc
	// SortName lists by Name compared byte for byte, then ID. A Store
	// serves it from an index within one owner.
	SortName
	// SortExpiry lists the keys that expire, the soonest first: ExpiresAt,
	// then ID. Keys without expiry are not listed. A Store serves it from
	// an index within one owner; it is the order of ListQuery.ExpiringBefore.
	SortExpiry
)

// String returns the admin API's name of the order: "created",
// "-created", "name" or "expires".
func (s ListSort) String() string {
	switch s {
	case SortCreatedDesc:
		return "-created"
	case SortName:
		return "name"
	case SortExpiry:
		return "expires"
	default:
		return "created"
	}
}

// ParseListSort returns the order named by s, one of the names String
// returns; the error wraps ErrInvalidSort.
func ParseListSort(s string) (ListSort, error) {
	for _, o := range []ListSort{SortCreated, SortCreatedDesc, SortName, SortExpiry} {
		if o.String() == s {
			return o, nil
		}
	}
	return 0, fmt.Errorf("apikey: sort %q: %w", s, ErrInvalidSort)
}

// SortedLister is the capability of a Store to list in every [ListSort]
// and with the filters of [ListQuery] that [Store.List] need not honour:
// ExpiringBefore, WorkingAt and Preview. memstore and sqlstore have it;
// without it, [Manager.List] and [Manager.Count] return an error wrapping
// errors.ErrUnsupported for a query that needs it, and never fall back to
// an unfiltered list.
type SortedLister interface {
	Store

	// ListSorted returns the first min(q.Limit, remaining) keys matching
	// every filter of q, in the order q.Sort, starting strictly after
	// q.After (a position in that order, see [Cursor]). A page shorter than
	// q.Limit is the last. Keys created or deleted while a caller pages
	// through never cause a key that exists throughout, unchanged in the
	// fields of the order, to be skipped or returned twice. A Limit below 1
	// is treated as 1.
	//
	// Its cost is bounded by the page size for: both creation orders with
	// every filter but WorkingAt and Name; SortName and SortExpiry (with or
	// without ExpiringBefore) and Preview within one owner. WorkingAt reads
	// the keys of the Active index and skips those that stopped working
	// (expired or past their grace period) but are not yet deleted: its
	// cost grows with them, and [Manager.Prune] keeps them few.
	//
	// A Store that counts (see [Store]) and is a SortedLister counts with
	// every filter of q too.
	ListSorted(ctx context.Context, q ListQuery) ([]*Key, error)
}

// needsSortedLister reports whether q asks for more than [Store.List] must
// honour.
func (q ListQuery) needsSortedLister() bool {
	return q.Sort != SortCreated || !q.ExpiringBefore.IsZero() || !q.WorkingAt.IsZero() || q.Preview != ""
}

// cursorAfter returns the position of k in the order s.
func cursorAfter(k *Key, s ListSort) Cursor {
	c := Cursor{CreatedAt: k.CreatedAt, ID: k.ID}
	switch s {
	case SortName:
		c = Cursor{Name: k.Name, ID: k.ID}
	case SortExpiry:
		c = Cursor{ID: k.ID}
		if k.ExpiresAt != nil {
			c.ExpiresAt = *k.ExpiresAt
		}
	}
	return c
}

// Works reports whether the key works at now: active, not expired and not
// past the end of its grace period. It is what ListQuery.WorkingAt tests.
func (k *Key) Works(now time.Time) bool { return k.Active && !k.Expired(now) }

// KeyState is why a key works or not, as the admin API, the page and the
// CLI show it.
type KeyState string

// KeyState values.
const (
	// StateActive is a key that works.
	StateActive KeyState = "active"
	// StateInactive is a deactivated key.
	StateInactive KeyState = "inactive"
	// StateExpired is a key past its expiry time.
	StateExpired KeyState = "expired"
	// StateRolled is a rolled key past the end of its grace period: its
	// successor is RolledTo.
	StateRolled KeyState = "rolled"
)

// State returns why the key works or not at now: StateInactive first (a
// deactivated key), then StateRolled for a rolled key whose grace period
// ended, then StateExpired, else StateActive. A rolled key in its grace
// period is StateActive.
func (k *Key) State(now time.Time) KeyState {
	switch {
	case !k.Active:
		return StateInactive
	case k.GraceEndsAt != nil && !now.Before(*k.GraceEndsAt):
		return StateRolled
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return StateExpired
	}
	return StateActive
}

// State returns why k works or not now, by the Manager's clock (see
// [WithClock]): what the admin API, the page and the CLI show.
func (m *Manager) State(k *Key) KeyState { return k.State(m.now()) }
