package apikey

import (
	"context"
	"fmt"
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
