package memstore

import (
	"iter"
	"slices"

	"github.com/apikit/apikey"
)

// indexKey names one list of keys in creation order: the keys of one owner
// ("" for every owner), holding one group ("" for any group), with one
// status (StatusAny for both). Every combination of List's owner, group and
// status filters is one of these lists, so that a page costs the same
// whatever the filters, the size of a group or the position of the page.
type indexKey struct {
	owner, group string
	status       apikey.Status
}

// indexKeys yields the lists k belongs to: 2 owners × (1 + its distinct
// groups) × 2 statuses, without allocating (Create calls it for every key).
func indexKeys(k *apikey.Key) iter.Seq[indexKey] {
	return func(yield func(indexKey) bool) {
		status := apikey.StatusInactive
		if k.Active {
			status = apikey.StatusActive
		}
		for _, owner := range [2]string{"", k.Owner} {
			for i := -1; i < len(k.Groups); i++ {
				g := ""
				if i >= 0 {
					if g = k.Groups[i]; g == "" || slices.Contains(k.Groups[:i], g) {
						continue // "" and repeated groups are one list
					}
				}
				if !yield(indexKey{owner, g, apikey.StatusAny}) || !yield(indexKey{owner, g, status}) {
					return
				}
			}
		}
	}
}

// index adds k to every list it belongs to. The caller holds s.mu for
// writing.
func (s *Store) index(k *apikey.Key) {
	for ik := range indexKeys(k) {
		p := s.lists[ik]
		if p == nil {
			p = new([]*apikey.Key)
			s.lists[ik] = p
		}
		*p = insertOrdered(*p, k) // one hash of ik, not two
	}
}

// unindex removes k from every list it belongs to, by the fields it has
// now: call it before changing its status or groups, and index after. The
// caller holds s.mu for writing.
func (s *Store) unindex(k *apikey.Key) {
	for ik := range indexKeys(k) {
		p := s.lists[ik]
		if p == nil {
			continue
		}
		if rest := removeOrdered(*p, k); len(rest) > 0 {
			*p = rest
		} else {
			delete(s.lists, ik)
		}
	}
}

// list returns the list that q's owner, group and status filters select.
func (s *Store) list(q apikey.ListQuery) []*apikey.Key {
	status := q.Status
	if status != apikey.StatusActive && status != apikey.StatusInactive {
		status = apikey.StatusAny
	}
	return s.keysOf(indexKey{q.Owner, q.Group, status})
}

// keysOf returns the list ik names, nil if it is empty. The caller holds s.mu.
func (s *Store) keysOf(ik indexKey) []*apikey.Key {
	if p := s.lists[ik]; p != nil {
		return *p
	}
	return nil
}
