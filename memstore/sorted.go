package memstore

import (
	"bytes"
	"context"
	"slices"
	"strings"

	"github.com/apikit/apikey"
)

var _ apikey.SortedLister = (*Store)(nil)

// sortedKey names one list of the orders other than creation order, and of
// the preview search: the keys of one owner ("" for every owner) by name,
// by expiry (only keys that expire), or with one preview in creation order.
type sortedKey struct {
	sort           apikey.ListSort
	owner, preview string
}

// sortedKeys returns the sorted lists k belongs to.
func sortedKeys(k *apikey.Key) []sortedKey {
	out := make([]sortedKey, 0, 6)
	for _, owner := range []string{"", k.Owner} {
		out = append(out, sortedKey{sort: apikey.SortName, owner: owner},
			sortedKey{sort: apikey.SortCreated, owner: owner, preview: k.Preview})
		if k.ExpiresAt != nil {
			out = append(out, sortedKey{sort: apikey.SortExpiry, owner: owner})
		}
	}
	return out
}

// compareInOrder orders a key against a position in the order o.
func compareInOrder(k *apikey.Key, c apikey.Cursor, o apikey.ListSort) int {
	var n int
	switch o {
	case apikey.SortName:
		n = strings.Compare(k.Name, c.Name)
	case apikey.SortExpiry:
		n = k.ExpiresAt.Compare(c.ExpiresAt) // only keys that expire are in these lists
	default:
		n = k.CreatedAt.Compare(c.CreatedAt)
	}
	if n != 0 {
		return n
	}
	return bytes.Compare(k.ID[:], c.ID[:])
}

// positionOf is the Cursor of k in the order o.
func positionOf(k *apikey.Key, o apikey.ListSort) apikey.Cursor {
	c := apikey.Cursor{CreatedAt: k.CreatedAt, Name: k.Name, ID: k.ID}
	if k.ExpiresAt != nil {
		c.ExpiresAt = *k.ExpiresAt
	}
	return c
}

// indexSorted adds k to its sorted lists; unindexSorted removes it, by the
// fields it has now (call it before changing its name or expiry). The
// caller holds s.mu for writing.
func (s *Store) indexSorted(k *apikey.Key) {
	for _, sk := range sortedKeys(k) {
		keys := s.sorted[sk]
		i, _ := slices.BinarySearchFunc(keys, positionOf(k, sk.sort), func(e *apikey.Key, c apikey.Cursor) int {
			return compareInOrder(e, c, sk.sort)
		})
		s.sorted[sk] = slices.Insert(keys, i, k)
	}
}

func (s *Store) unindexSorted(k *apikey.Key) {
	for _, sk := range sortedKeys(k) {
		keys := s.sorted[sk]
		i, found := slices.BinarySearchFunc(keys, positionOf(k, sk.sort), func(e *apikey.Key, c apikey.Cursor) int {
			return compareInOrder(e, c, sk.sort)
		})
		if !found {
			continue
		}
		keys[i] = nil
		if keys = slices.Delete(keys, i, i+1); len(keys) > 0 {
			s.sorted[sk] = keys
		} else {
			delete(s.sorted, sk)
		}
	}
}

// ListSorted returns copies of at most q.Limit keys matching every filter of
// q, in the order q.Sort, starting strictly after q.After (see
// [apikey.SortedLister]). The creation orders page through the list of q's
// owner, group and status (newest first from its end); the name and expiry
// orders and the preview search through the sorted list of q's owner, with
// the group and status filters read and skipped. WorkingAt skips keys that
// stopped working but are not yet pruned.
func (s *Store) ListSorted(_ context.Context, q apikey.ListQuery) ([]*apikey.Key, error) {
	limit := max(q.Limit, 1)
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*apikey.Key
	s.each(q, func(k *apikey.Key) bool {
		out = append(out, k.Clone())
		return len(out) < limit
	})
	if out == nil {
		out = []*apikey.Key{}
	}
	return out, nil
}

// each calls yield with every key matching q in q's order after q.After,
// until yield returns false. The caller holds s.mu.
func (s *Store) each(q apikey.ListQuery, yield func(*apikey.Key) bool) {
	ordered, o, residual := s.list(q), apikey.SortCreated, false
	switch {
	case q.Preview != "":
		ordered, residual = s.sorted[sortedKey{sort: apikey.SortCreated, owner: q.Owner, preview: q.Preview}], true
		o = q.Sort
		if o != apikey.SortCreatedDesc {
			o = apikey.SortCreated
		}
		if q.Sort == apikey.SortName || q.Sort == apikey.SortExpiry {
			// A preview is shared by few keys: sort them.
			ordered = slices.Clone(ordered)
			if q.Sort == apikey.SortExpiry {
				ordered = slices.DeleteFunc(ordered, func(k *apikey.Key) bool { return k.ExpiresAt == nil })
			}
			slices.SortFunc(ordered, func(a, b *apikey.Key) int { return compareInOrder(a, positionOf(b, q.Sort), q.Sort) })
			o = q.Sort
		}
	case q.Sort == apikey.SortName || q.Sort == apikey.SortExpiry:
		ordered, o, residual = s.sorted[sortedKey{sort: q.Sort, owner: q.Owner}], q.Sort, true
	default:
		o = q.Sort
	}
	name := strings.ToLower(q.Name)
	match := func(k *apikey.Key) bool {
		if residual && (q.Group != "" && !k.HasGroup(q.Group) || !q.Status.Matches(k.Active)) {
			return false
		}
		if name != "" && !strings.Contains(strings.ToLower(k.Name), name) {
			return false
		}
		if !q.ExpiringBefore.IsZero() && (k.ExpiresAt == nil || !k.ExpiresAt.Before(q.ExpiringBefore)) {
			return false
		}
		return q.WorkingAt.IsZero() || k.Works(q.WorkingAt)
	}
	cmp := func(k *apikey.Key, c apikey.Cursor) int { return compareInOrder(k, c, o) }
	if o == apikey.SortCreatedDesc {
		cmp = func(k *apikey.Key, c apikey.Cursor) int { return compareInOrder(k, c, apikey.SortCreated) }
		end := len(ordered)
		if !q.After.IsZero() {
			end, _ = slices.BinarySearchFunc(ordered, q.After, cmp)
		}
		for i := end - 1; i >= 0; i-- {
			if match(ordered[i]) && !yield(ordered[i]) {
				return
			}
		}
		return
	}
	start := 0
	if !q.After.IsZero() {
		i, found := slices.BinarySearchFunc(ordered, q.After, cmp)
		if found {
			i++
		}
		start = i
	}
	for _, k := range ordered[start:] {
		if !q.ExpiringBefore.IsZero() && o == apikey.SortExpiry && !k.ExpiresAt.Before(q.ExpiringBefore) {
			return // the rest expire later
		}
		if match(k) && !yield(k) {
			return
		}
	}
}
