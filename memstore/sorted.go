package memstore

import (
	"bytes"
	"context"
	"slices"
	"strings"

	"github.com/apikit/apikey"
)

var _ apikey.SortedLister = (*Store)(nil)

// compareInOrder orders a key against a position in the order o.
func compareInOrder(k *apikey.Key, c apikey.Cursor, o apikey.ListSort) int {
	var n int
	switch o {
	case apikey.SortName:
		n = strings.Compare(k.Name, c.Name)
	case apikey.SortExpiry:
		n = k.ExpiresAt.Compare(c.ExpiresAt) // only keys that expire are sorted so
	default:
		n = k.CreatedAt.Compare(c.CreatedAt)
	}
	if n != 0 {
		return n
	}
	return bytes.Compare(k.ID[:], c.ID[:])
}

// compareKeys orders two keys in the name or the expiry order o (both with
// an expiry in the expiry order).
func compareKeys(a, b *apikey.Key, o apikey.ListSort) int {
	var n int
	if o == apikey.SortExpiry {
		n = a.ExpiresAt.Compare(*b.ExpiresAt)
	} else {
		n = strings.Compare(a.Name, b.Name)
	}
	if n != 0 {
		return n
	}
	return bytes.Compare(a.ID[:], b.ID[:])
}

// ListSorted returns copies of at most q.Limit keys matching every filter of
// q, in the order q.Sort, starting strictly after q.After (see
// [apikey.SortedLister]).
//
// The creation orders page through the list of q's owner, group and status
// (newest first from its end), as List does. The name and expiry orders
// and the preview search keep no index of their own, so that Create stays
// an append: they read the list of q's owner, group and status, keep the
// first matching keys after the cursor in order: a page costs O(m)
// comparisons for the m keys of that list (the owner's keys, in the admin
// tab), not the page size. WorkingAt skips keys that stopped working but are not yet
// pruned.
func (s *Store) ListSorted(_ context.Context, q apikey.ListQuery) ([]*apikey.Key, error) {
	limit := max(q.Limit, 1)
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*apikey.Key
	s.each(q, limit, func(k *apikey.Key) bool {
		out = append(out, k.Clone())
		return len(out) < limit
	})
	if out == nil {
		out = []*apikey.Key{}
	}
	return out, nil
}

// each calls yield with every key matching q in q's order after q.After,
// until yield returns false, or with the first need of them if need is
// above zero. The caller holds s.mu.
func (s *Store) each(q apikey.ListQuery, need int, yield func(*apikey.Key) bool) {
	ordered := s.list(q)
	name := strings.ToLower(q.Name)
	match := func(k *apikey.Key) bool {
		switch {
		case name != "" && !strings.Contains(strings.ToLower(k.Name), name),
			q.Preview != "" && k.Preview != q.Preview,
			q.Sort == apikey.SortExpiry && k.ExpiresAt == nil,
			!q.ExpiringBefore.IsZero() && (k.ExpiresAt == nil || !k.ExpiresAt.Before(q.ExpiringBefore)):
			return false
		}
		return q.WorkingAt.IsZero() || k.Works(q.WorkingAt)
	}
	creation := func(k *apikey.Key, c apikey.Cursor) int { return compareInOrder(k, c, apikey.SortCreated) }
	switch q.Sort {
	case apikey.SortName, apikey.SortExpiry:
		// found holds the first need matching keys seen so far, in order:
		// a key after the last of a full page is dropped with one
		// comparison, so a page costs O(m) comparisons for the m keys of
		// the list, plus O(need) moves per key that enters the page.
		var found []*apikey.Key
		for _, k := range ordered {
			if !match(k) || !q.After.IsZero() && compareInOrder(k, q.After, q.Sort) <= 0 {
				continue
			}
			if need > 0 && len(found) == need {
				if compareKeys(k, found[need-1], q.Sort) > 0 {
					continue
				}
				found = found[:need-1]
			}
			i, _ := slices.BinarySearchFunc(found, k, func(a, b *apikey.Key) int { return compareKeys(a, b, q.Sort) })
			found = slices.Insert(found, i, k)
		}
		for _, k := range found {
			if !yield(k) {
				return
			}
		}
	case apikey.SortCreatedDesc:
		end := len(ordered)
		if !q.After.IsZero() {
			end, _ = slices.BinarySearchFunc(ordered, q.After, creation)
		}
		for i := end - 1; i >= 0; i-- {
			if match(ordered[i]) && !yield(ordered[i]) {
				return
			}
		}
	default:
		start := 0
		if !q.After.IsZero() {
			i, found := slices.BinarySearchFunc(ordered, q.After, creation)
			if found {
				i++
			}
			start = i
		}
		for _, k := range ordered[start:] {
			if match(k) && !yield(k) {
				return
			}
		}
	}
}
