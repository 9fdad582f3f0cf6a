package apikey

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// defaultListLimit is the page size of [Manager.List] when none is given.
const defaultListLimit = 50

// MaxListLimit is the largest page size [Manager.List] accepts.
const MaxListLimit = 500

// ListOptions selects a page of keys.
type ListOptions struct {
	// Owner, if not empty, lists only the keys of this owner. An actor
	// limited to one owner sees only that owner's keys whatever Owner says
	// (another owner's list is empty).
	Owner string

	// Status filters by status; StatusAny (the zero value) lists all keys.
	// StatusActive lists the keys that work now (see [Key.Works]): active,
	// not expired, not rolled past their grace period; it needs a
	// [SortedLister]. StatusInactive lists the deactivated keys.
	Status Status

	// Group, if not empty, lists only keys holding exactly this group.
	Group string

	// Name, if not empty, lists only keys whose name contains it, ASCII
	// letters regardless of case, "%" and "_" literally (see
	// [ListQuery.Name]). It must be a valid name (see [ValidateName]).
	Name string

	// Sort is the order; the zero value lists the oldest key first. Any
	// other order needs a [SortedLister].
	Sort ListSort

	// ExpiringBefore, if not zero, lists only the keys that expire before
	// it, the soonest first: Sort must be SortCreated (the zero value) or
	// SortExpiry, and the list is in SortExpiry. It needs a
	// [SortedLister].
	ExpiringBefore time.Time

	// Preview, if not empty, lists only the keys with this preview (see
	// [Key.Preview]), as a leak report gives it: "ak_3Fq9…x7Ab", or with
	// "..." for the ellipsis. It needs a [SortedLister].
	Preview string

	// Cursor continues after the last key of a previous page: pass the
	// previous Page.Next, with the same Sort. Empty starts at the first key.
	Cursor string

	// Limit is the page size: 50 if zero, at most
	// MaxListLimit.
	Limit int
}

// Page is one page of keys in the order asked for.
type Page struct {
	Keys []*Key

	// Next is the cursor of the next page, empty on the last page. It is
	// opaque: it names its order, and is valid only with the same order.
	Next string
}

// List returns a page of keys in the order opts.Sort. Paging is stable while
// keys are created and deleted: no key that exists throughout is skipped or
// returned twice. The error wraps ErrInvalidCursor, ErrInvalidSort,
// ErrInvalidGroup, ErrStoreFailure, or errors.ErrUnsupported for an order or
// filter the Store cannot serve (see [SortedLister]).
func (m *Manager) List(ctx context.Context, opts ListOptions) (Page, error) {
	limit := opts.Limit
	switch {
	case limit == 0:
		limit = defaultListLimit
	case limit < 0 || limit > MaxListLimit:
		return Page{}, fmt.Errorf("apikey: list limit must be 1 to %d", MaxListLimit)
	}
	q, none, err := m.query(ctx, opts)
	if err != nil || none {
		return Page{Keys: []*Key{}}, err
	}
	q.Limit = limit + 1
	var keys []*Key
	if q.needsSortedLister() {
		sl, ok := m.store.(SortedLister)
		if !ok {
			return Page{}, fmt.Errorf("apikey: the Store cannot list in order %s with these filters: %w", q.Sort, errors.ErrUnsupported)
		}
		keys, err = sl.ListSorted(ctx, q)
	} else {
		keys, err = m.store.List(ctx, q)
	}
	if err != nil {
		return Page{}, m.storeError("list", err)
	}
	var page Page
	if len(keys) > limit {
		keys = keys[:limit]
		page.Next = encodeCursor(q.Sort, cursorAfter(keys[limit-1], q.Sort))
	}
	page.Keys = keys
	return page, nil
}

// Count returns how many keys List pages through with opts (Cursor and
// Limit aside), within the owner of the actor in ctx, as List does. Its
// cost grows with the keys counted: the admin tab counts one owner's. The
// error wraps errors.ErrUnsupported if the Store is not a [CountStore] or
// cannot filter as asked (see [SortedLister]), or the errors of List.
func (m *Manager) Count(ctx context.Context, opts ListOptions) (int, error) {
	counter, ok := m.store.(CountStore)
	if !ok {
		return 0, fmt.Errorf("apikey: the Store (%T) is not a CountStore: %w", m.store, errors.ErrUnsupported)
	}
	opts.Cursor = ""
	q, none, err := m.query(ctx, opts)
	if err != nil || none {
		return 0, err
	}
	if _, sorted := m.store.(SortedLister); q.needsSortedLister() && !sorted {
		return 0, fmt.Errorf("apikey: the Store cannot count with these filters: %w", errors.ErrUnsupported)
	}
	n, err := counter.Count(ctx, q)
	if err != nil {
		return 0, m.storeError("count", err)
	}
	return n, nil
}

// query checks opts and returns the Store query for them, scoped to the
// owner of the actor in ctx; none reports that the actor may see no key
// (they asked for another owner's).
func (m *Manager) query(ctx context.Context, opts ListOptions) (q ListQuery, none bool, err error) {
	if opts.Status < StatusAny || opts.Status > StatusInactive {
		return q, false, fmt.Errorf("apikey: invalid status filter %d", opts.Status)
	}
	if opts.Sort < SortCreated || opts.Sort > SortExpiry {
		return q, false, fmt.Errorf("apikey: sort %d: %w", opts.Sort, ErrInvalidSort)
	}
	if opts.Group != "" {
		if err := ValidateGroup(opts.Group); err != nil {
			return q, false, err
		}
	}
	if opts.Owner != "" {
		if err := ValidateOwner(opts.Owner); err != nil {
			return q, false, err
		}
	}
	if opts.Name != "" {
		if err := ValidateName(opts.Name); err != nil {
			return q, false, err
		}
	}
	sort := opts.Sort
	if !opts.ExpiringBefore.IsZero() {
		if sort != SortCreated && sort != SortExpiry {
			return q, false, fmt.Errorf("apikey: expiring_before lists in expiry order, not %s: %w", sort, ErrInvalidSort)
		}
		sort = SortExpiry
	}
	preview, err := normalizePreview(opts.Preview)
	if err != nil {
		return q, false, err
	}
	after, err := decodeCursor(sort, opts.Cursor)
	if err != nil {
		return q, false, err
	}
	owner := opts.Owner
	if scope := ownerScope(ctx); scope != "" {
		if owner != "" && owner != scope {
			return q, true, nil
		}
		owner = scope
	}
	q = ListQuery{Owner: owner, Status: opts.Status, Group: opts.Group, Name: opts.Name, Sort: sort, Preview: preview, After: after}
	if !opts.ExpiringBefore.IsZero() {
		q.ExpiringBefore = opts.ExpiringBefore.UTC().Truncate(time.Microsecond)
	}
	if opts.Status == StatusActive {
		q.WorkingAt = m.now()
	}
	return q, false, nil
}

// normalizePreview returns a preview search as keys store it: "..." is the
// ellipsis "…". The error wraps ErrInvalidKey for text no preview can be.
func normalizePreview(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	p = strings.Replace(strings.TrimSpace(p), "...", "…", 1)
	if len(p) > 64 || !utf8.ValidString(p) || strings.Count(p, "…") != 1 {
		return "", fmt.Errorf("apikey: not a key preview: %w", ErrInvalidKey)
	}
	return p, nil
}
