package storetest

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// sorted adapts a subtest of an apikey.SortedLister; a store without the
// capability skips it.
func sorted(test func(t *testing.T, s apikey.SortedLister)) func(t *testing.T, s apikey.Store) {
	return func(t *testing.T, s apikey.Store) {
		sl, ok := s.(apikey.SortedLister)
		if !ok {
			t.Skipf("%T is not an apikey.SortedLister", s)
		}
		test(t, sl)
	}
}

// everySort lists the orders of apikey.ListSort.
var everySort = []apikey.ListSort{apikey.SortCreated, apikey.SortCreatedDesc, apikey.SortName, apikey.SortExpiry}

// sortedCursorOf is the position of k in the order o.
func sortedCursorOf(k *apikey.Key, o apikey.ListSort) apikey.Cursor {
	switch o {
	case apikey.SortName:
		return apikey.Cursor{Name: k.Name, ID: k.ID}
	case apikey.SortExpiry:
		c := apikey.Cursor{ID: k.ID}
		if k.ExpiresAt != nil {
			c.ExpiresAt = *k.ExpiresAt
		}
		return c
	}
	return apikey.Cursor{CreatedAt: k.CreatedAt, ID: k.ID}
}

// compareInSort orders two keys in the order o.
func compareInSort(a, b *apikey.Key, o apikey.ListSort) int {
	var n int
	switch o {
	case apikey.SortName:
		n = strings.Compare(a.Name, b.Name)
	case apikey.SortExpiry:
		n = a.ExpiresAt.Compare(*b.ExpiresAt)
	case apikey.SortCreatedDesc:
		if n = b.CreatedAt.Compare(a.CreatedAt); n == 0 {
			return bytes.Compare(b.ID[:], a.ID[:])
		}
		return n
	default:
		n = a.CreatedAt.Compare(b.CreatedAt)
	}
	if n != 0 {
		return n
	}
	return bytes.Compare(a.ID[:], b.ID[:])
}

// wantSorted returns the keys matching every filter of q in q's order, as
// the contract of apikey.SortedLister says.
func wantSorted(keys []*apikey.Key, q apikey.ListQuery) []*apikey.Key {
	var out []*apikey.Key
	name := strings.ToLower(q.Name)
	for _, k := range keys {
		switch {
		case q.Owner != "" && k.Owner != q.Owner,
			!q.Status.Matches(k.Active),
			q.Group != "" && !k.HasGroup(q.Group),
			name != "" && !strings.Contains(strings.ToLower(k.Name), name),
			q.Preview != "" && k.Preview != q.Preview,
			q.Sort == apikey.SortExpiry && k.ExpiresAt == nil,
			!q.ExpiringBefore.IsZero() && (k.ExpiresAt == nil || !k.ExpiresAt.Before(q.ExpiringBefore)),
			!q.WorkingAt.IsZero() && !k.Works(q.WorkingAt):
			continue
		}
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b *apikey.Key) int { return compareInSort(a, b, q.Sort) })
	return out
}

// listSortedAll pages through q with pages of limit keys.
func listSortedAll(t *testing.T, s apikey.SortedLister, q apikey.ListQuery, limit, total int) []*apikey.Key {
	t.Helper()
	var all []*apikey.Key
	q.After, q.Limit = apikey.Cursor{}, limit
	for pages := 0; ; pages++ {
		must.LessOrEqual(t, pages, total+1, "ListSorted does not end")
		page, err := s.ListSorted(t.Context(), q)
		must.NoError(t, err, "ListSorted(%+v)", q)
		must.LessOrEqual(t, len(page), limit, "a page of ListSorted is larger than its limit")
		all = append(all, page...)
		if len(page) < limit {
			return all
		}
		q.After = sortedCursorOf(page[len(page)-1], q.Sort)
	}
}

// sortedFixture creates keys that tell every order and filter apart: two
// owners, ties in creation time, names that differ in case only or share a
// prefix, expiries in and out of a cut-off, expired, rolled past and in
// their grace period, inactive, and two keys sharing a preview.
func sortedFixture(t *testing.T, s apikey.SortedLister) []*apikey.Key {
	t.Helper()
	names := []string{"beta", "Beta", "alpha", "alpha", "alphabet", "Zed", "zed", "ünïcode", "b", "a b"}
	var keys []*apikey.Key
	for i := range 24 {
		k := newKey(at(time.Duration(i/3) * time.Second))
		k.Name = names[i%len(names)]
		if i%5 == 0 {
			k.Owner = "org-2"
		}
		if i%4 == 1 {
			k.Groups = []string{"read"}
		}
		switch i % 6 {
		case 1:
			k.ExpiresAt = timePtr(at(time.Duration(24-i) * time.Hour))
		case 2:
			k.ExpiresAt = timePtr(at(-time.Duration(i) * time.Hour)) // expired
		case 3:
			k.ExpiresAt = timePtr(at(48 * time.Hour)) // ties in expiry
		}
		if i%7 == 3 {
			k.Active = false
		}
		keys = append(keys, k)
	}
	keys[5].Preview = keys[4].Preview
	keys[11].Preview = keys[4].Preview
	rand.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	for _, k := range keys {
		create(t, s, k.Clone())
	}
	if ls, ok := s.(apikey.LifecycleStore); ok {
		// A key rolled with its grace over by now, and one still in it.
		for i, grace := range []time.Duration{-time.Minute, time.Hour} {
			old := keys[i]
			if !old.Active || old.RolledTo != uuid.Nil {
				continue
			}
			succ := successorOf(old, at(time.Duration(10+i)*time.Second))
			must.NoError(t, ls.Roll(t.Context(), creation(succ), old.ID, succ.Clone(), at(grace), nil), "Roll")
			got, err := s.Get(t.Context(), old.ID)
			must.NoError(t, err, "Get")
			keys[i] = got
			keys = append(keys, succ)
		}
	}
	return keys
}

// sortedQueries are the queries every SortedLister must answer exactly.
func sortedQueries(preview string) []apikey.ListQuery {
	var qs []apikey.ListQuery
	for _, o := range everySort {
		qs = append(qs,
			apikey.ListQuery{Sort: o},
			apikey.ListQuery{Sort: o, Owner: "org-1"},
			apikey.ListQuery{Sort: o, Owner: "org-1", Status: apikey.StatusInactive},
			apikey.ListQuery{Sort: o, Owner: "org-1", Status: apikey.StatusActive, WorkingAt: at(0)},
			apikey.ListQuery{Sort: o, Status: apikey.StatusActive, WorkingAt: at(0), Group: "read"},
			apikey.ListQuery{Sort: o, Owner: "org-1", Group: "write", Name: "ALPHA"},
			apikey.ListQuery{Sort: o, Owner: "org-1", Preview: preview},
		)
	}
	qs = append(qs,
		apikey.ListQuery{Sort: apikey.SortExpiry, Owner: "org-1", ExpiringBefore: at(20 * time.Hour)},
		apikey.ListQuery{Sort: apikey.SortExpiry, ExpiringBefore: at(48 * time.Hour)},
		apikey.ListQuery{Sort: apikey.SortExpiry, Owner: "org-1", ExpiringBefore: at(49 * time.Hour), Status: apikey.StatusActive, WorkingAt: at(0)},
	)
	return qs
}

// testSortedListOrders checks every order and filter of ListSorted against
// the contract, paged 3 keys at a time and in one page.
func testSortedListOrders(t *testing.T, s apikey.SortedLister) {
	keys := sortedFixture(t, s)
	for _, q := range sortedQueries(sharedPreview(keys)) {
		want := ids(wantSorted(keys, q))
		check.Equal(t, want, ids(listSortedAll(t, s, q, 3, len(keys))), "ListSorted(%+v) in pages of 3", q)
		check.Equal(t, want, ids(listSortedAll(t, s, q, 100, len(keys))), "ListSorted(%+v) in one page", q)
	}
}

// sharedPreview returns the preview that three keys of sortedFixture share.
func sharedPreview(keys []*apikey.Key) string {
	n := map[string]int{}
	for _, k := range keys {
		if n[k.Preview]++; n[k.Preview] == 3 {
			return k.Preview
		}
	}
	return ""
}

// testSortedCount checks that Count honours every filter of ListSorted.
func testSortedCount(t *testing.T, s apikey.SortedLister) {
	c, ok := s.(interface {
		Count(ctx context.Context, q apikey.ListQuery) (int, error)
	})
	if !ok {
		t.Skipf("%T does not count", s)
	}
	keys := sortedFixture(t, s)
	for _, q := range sortedQueries(sharedPreview(keys)) {
		n, err := c.Count(t.Context(), q)
		must.NoError(t, err, "Count(%+v)", q)
		check.Equal(t, len(wantSorted(keys, q)), n, "Count(%+v)", q)
	}
}

// testSortedListWhileKeysChange pages through every order while keys are
// created and deleted between pages, ahead of and behind the cursor and at
// its own position: no key that exists throughout is skipped or returned
// twice, and the order never goes back.
func testSortedListWhileKeysChange(t *testing.T, s apikey.SortedLister) {
	for _, o := range everySort {
		t.Run(o.String(), func(t *testing.T) {
			q := apikey.ListQuery{Sort: o, Owner: "org-1", Limit: 4}
			var keys []*apikey.Key
			for i := range 30 {
				k := newKey(at(time.Duration(i/3) * time.Second))
				k.Owner = "org-1"
				k.Name = []string{"m", "M", "a", "z", "mm"}[i%5]
				k.ExpiresAt = timePtr(at(time.Duration(100+i/3) * time.Hour))
				create(t, s, k.Clone())
				keys = append(keys, k)
			}
			deleted, seen := map[uuid.UUID]bool{}, map[uuid.UUID]int{}
			var listed []*apikey.Key
			for pages := 0; ; pages++ {
				must.LessOrEqual(t, pages, 60, "ListSorted does not end")
				page, err := s.ListSorted(t.Context(), q)
				must.NoError(t, err, "ListSorted")
				if len(page) == 0 {
					break
				}
				for _, k := range page {
					seen[k.ID]++
				}
				listed = append(listed, page...)
				last := page[len(page)-1]
				q.After = sortedCursorOf(last, o)
				must.NoError(t, s.Delete(t.Context(), opAt(time.Now()), last.ID, nil), "Delete the last listed key")
				deleted[last.ID] = true
				for _, k := range keys {
					if !deleted[k.ID] && seen[k.ID] == 0 && rand.IntN(3) == 0 {
						must.NoError(t, s.Delete(t.Context(), opAt(time.Now()), k.ID, nil), "Delete a key ahead")
						deleted[k.ID] = true
						break
					}
				}
				if pages < 4 {
					// A key tied with the cursor, one behind, one ahead.
					for _, d := range []time.Duration{0, -time.Second, time.Second} {
						k := newKey(last.CreatedAt.Add(d))
						k.Owner, k.Name = "org-1", last.Name
						if last.ExpiresAt != nil {
							k.ExpiresAt = timePtr(last.ExpiresAt.Add(d * 3600))
						}
						create(t, s, k)
					}
				}
			}
			for _, k := range keys {
				if !deleted[k.ID] {
					check.Equal(t, 1, seen[k.ID], "times key %s, which existed throughout, was listed", k.ID)
				}
			}
			for i := 1; i < len(listed); i++ {
				if compareInSort(listed[i-1], listed[i], o) >= 0 {
					check.Fail(t, "ListSorted went backwards or repeated a key", "order %s, key %d", o, i)
					break
				}
			}
		})
	}
}
