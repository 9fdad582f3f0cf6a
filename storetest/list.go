package storetest

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// orderOffsets are creation times, relative to baseTime, that a store
// ordering by a text form of the time would sort wrongly ("…56.789012Z"
// against "…57Z" or "…56.7891Z"), with ties that only the ID orders.
var orderOffsets = []time.Duration{
	0, 0, 0,
	time.Microsecond,
	10 * time.Microsecond,
	210988 * time.Microsecond, // the next whole second: "…57Z"
	210988*time.Microsecond - time.Microsecond,
	88 * time.Microsecond, // "…56.7891Z"
	time.Second, time.Second,
	time.Second + time.Microsecond,
	59 * time.Second,
	time.Minute,
	time.Hour, time.Hour, time.Hour, time.Hour,
	24 * time.Hour,
	366 * 24 * time.Hour,
	-time.Microsecond,
	-24 * time.Hour,
	-400 * 24 * time.Hour,
}

// createShuffled creates one key per offset from baseTime, in random order,
// and returns them in list order.
func createShuffled(t *testing.T, s apikey.Store, offsets []time.Duration) []*apikey.Key {
	t.Helper()
	keys := make([]*apikey.Key, len(offsets))
	for i, d := range offsets {
		keys[i] = newKey(at(d))
	}
	// Keys made in one burst have increasing IDs; creating them in random
	// order makes insertion order differ from list order, ties included.
	rand.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	for _, k := range keys {
		create(t, s, k.Clone())
	}
	return inListOrder(keys)
}

// testListEmpty checks that listing an empty store returns no keys and no
// error, whatever the query.
func testListEmpty(t *testing.T, s apikey.Store) {
	for _, q := range []apikey.ListQuery{
		{Limit: 10},
		{Limit: 1, Status: apikey.StatusActive},
		{Limit: 1, Status: apikey.StatusInactive, Group: "read"},
		{Limit: 10, After: apikey.Cursor{CreatedAt: baseTime, ID: uuid.Must(uuid.NewV7())}},
	} {
		keys, err := s.List(t.Context(), q)
		check.NoError(t, err, "List(%+v) on an empty store", q)
		check.Empty(t, keys, "List(%+v) on an empty store", q)
	}
}

// testListOrder checks that List orders keys by CreatedAt, then by the bytes
// of the ID, whatever the order they were created in.
func testListOrder(t *testing.T, s apikey.Store) {
	want := createShuffled(t, s, orderOffsets)
	got, err := s.List(t.Context(), apikey.ListQuery{Limit: len(want) + 10})
	must.NoError(t, err, "List")
	check.Equal(t, ids(want), ids(got), "List order")
	for i := range min(len(want), len(got)) {
		assertKey(t, want[i], got[i], "List, key %d", i)
	}
}

// testListPagination checks that paging through List with any limit visits
// every key once, in order.
func testListPagination(t *testing.T, s apikey.Store) {
	want := createShuffled(t, s, orderOffsets)
	n := len(want)
	for _, limit := range []int{1, 2, 3, 4, 7, n - 1, n, n + 1, 1000} {
		got := listAll(t, s, apikey.ListQuery{}, limit, n)
		check.Equal(t, ids(want), ids(got), "paging with limit %d", limit)
	}
}

// testListLimitBelowOne checks that a limit below 1 is no error and returns
// at most the first key (a store may treat it as 1).
func testListLimitBelowOne(t *testing.T, s apikey.Store) {
	keys := createKeys(t, s, at(0), at(time.Second), at(2*time.Second))
	for _, limit := range []int{0, -1, -1000} {
		got, err := s.List(t.Context(), apikey.ListQuery{Limit: limit})
		must.NoError(t, err, "List with limit %d", limit)
		check.LessOrEqual(t, len(got), 1, "List with limit %d", limit)
		if len(got) == 1 {
			check.Equal(t, keys[0].ID.String(), got[0].ID.String(), "List with limit %d", limit)
		}
	}
}

// testListFilters checks the Status and Group filters, alone, together and
// while paging.
func testListFilters(t *testing.T, s apikey.Store) {
	groupSets := [][]string{{"read"}, {"write"}, {"read", "write"}, {"admin"}, {"write", "billing", "read"}}
	var all []*apikey.Key
	for i := range 25 {
		k := newKey(at(time.Duration(i/2) * time.Second)) // pairs share a CreatedAt
		k.Groups = groupSets[i%len(groupSets)]
		k.Active = i%3 != 0
		create(t, s, k.Clone())
		all = append(all, k)
	}
	// Some keys change status and groups after creation, so the filters
	// must read the current values.
	for _, i := range []int{1, 4, 8} {
		all[i].Active = false
		all[i].UpdatedAt = at(time.Hour)
		must.NoError(t, s.SetActive(t.Context(), opAt(at(time.Hour)), all[i].ID, false, nil), "SetActive")
	}
	for _, i := range []int{3, 6} {
		all[i].Active = true
		all[i].UpdatedAt = at(time.Hour)
		must.NoError(t, s.SetActive(t.Context(), opAt(at(time.Hour)), all[i].ID, true, nil), "SetActive")
	}
	all[2].Groups = []string{"admin", "read"}
	must.NoError(t, s.SetGroups(t.Context(), opAt(at(time.Hour)), all[2].ID, all[2].Groups, nil), "SetGroups")
	all[3].Groups = []string{"billing"}
	must.NoError(t, s.SetGroups(t.Context(), opAt(at(time.Hour)), all[3].ID, all[3].Groups, nil), "SetGroups")
	all = inListOrder(all)

	for _, status := range []apikey.Status{apikey.StatusAny, apikey.StatusActive, apikey.StatusInactive} {
		for _, group := range []string{"", "read", "write", "admin", "billing", "nobody"} {
			var want []*apikey.Key
			for _, k := range all {
				statusOK := status == apikey.StatusAny || (status == apikey.StatusActive) == k.Active
				if statusOK && (group == "" || slices.Contains(k.Groups, group)) {
					want = append(want, k)
				}
			}
			q := apikey.ListQuery{Status: status, Group: group}
			for _, limit := range []int{2, 100} {
				got := listAll(t, s, q, limit, len(all))
				check.Equal(t, ids(want), ids(got), "List with status %s, group %q, limit %d", status, group, limit)
			}
		}
	}
}

// testListGroupFilterIsLiteral checks that the Group filter matches a group
// byte for byte: no LIKE patterns, no case or accent folding, no trimming,
// no substrings of a joined list.
func testListGroupFilterIsLiteral(t *testing.T, s apikey.Store) {
	var all []*apikey.Key
	for i, g := range hostileGroups {
		k := newKey(at(time.Duration(i) * time.Second))
		k.Groups = []string{g}
		create(t, s, k)
		all = append(all, k)
	}
	both := newKey(at(time.Hour)) // two groups, "x" and "y", against one group "x,y"
	both.Groups = []string{"x", "y"}
	create(t, s, both)
	all = append(all, both)

	filters := append(slices.Clone(hostileGroups),
		"A_B", "ADMIN", "Ops", "ops  ", " ops", "a*", "a.b", "a?b", "ax", "ab", "b", "c", "caf", "café ",
		"x,", ",y", "y,x", "quoted", `"`, "json", "[", "%%", "__", `\`, `a\\b`)
	for _, f := range filters {
		var want []*apikey.Key
		for _, k := range all {
			if slices.Contains(k.Groups, f) {
				want = append(want, k)
			}
		}
		got, err := s.List(t.Context(), apikey.ListQuery{Group: f, Limit: len(all) + 1})
		must.NoError(t, err, "List with group %q", f)
		check.Equal(t, ids(want), ids(got), "List with group %q must match exactly %q", f, f)
	}
}

// testListCursorIsStrictlyAfter checks that a cursor is a position, not a
// key: List starts strictly after it, whether or not a key is there, and
// whatever the zone of its time.
func testListCursorIsStrictlyAfter(t *testing.T, s apikey.Store) {
	keys := createShuffled(t, s, []time.Duration{0, time.Second, time.Second, time.Second, 2 * time.Second, 3 * time.Second})
	// keys[1:4] share a CreatedAt and are ordered by ID.
	maxID := uuid.UUID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	east := time.FixedZone("UTC+05:30", 5*3600+1800)

	for _, c := range []struct {
		name  string
		after apikey.Cursor
		want  []*apikey.Key
	}{
		{"at the first key", cursorOf(keys[0]), keys[1:]},
		{"at a key in a tie", cursorOf(keys[2]), keys[3:]},
		{"at the last key of a tie", cursorOf(keys[3]), keys[4:]},
		{"before a tie", apikey.Cursor{CreatedAt: at(time.Second), ID: uuid.Nil}, keys[1:]},
		{"after a tie", apikey.Cursor{CreatedAt: at(time.Second), ID: maxID}, keys[4:]},
		{"between times", apikey.Cursor{CreatedAt: at(1500 * time.Millisecond), ID: maxID}, keys[4:]},
		{"between times, nil ID", apikey.Cursor{CreatedAt: at(1500 * time.Millisecond)}, keys[4:]},
		{"before every key", apikey.Cursor{CreatedAt: at(-time.Hour), ID: maxID}, keys},
		{"at the last key", cursorOf(keys[5]), nil},
		{"after every key", apikey.Cursor{CreatedAt: at(time.Hour)}, nil},
		{"in another zone", apikey.Cursor{CreatedAt: keys[2].CreatedAt.In(east), ID: keys[2].ID}, keys[3:]},
	} {
		got, err := s.List(t.Context(), apikey.ListQuery{After: c.after, Limit: 100})
		must.NoError(t, err, "List after %s", c.name)
		check.Equal(t, ids(c.want), ids(got), "List after %s", c.name)
	}

	// The cursor of a deleted key is still a position.
	must.NoError(t, s.Delete(t.Context(), opAt(time.Now()), keys[2].ID, nil), "Delete")
	got, err := s.List(t.Context(), apikey.ListQuery{After: cursorOf(keys[2]), Limit: 100})
	must.NoError(t, err, "List after a deleted key")
	check.Equal(t, ids(keys[3:]), ids(got), "List after a deleted key")
}

// testListWhileKeysChange pages through List while, between pages, the key
// just returned and keys not yet reached are deleted and keys are created
// before and after the cursor. Every key that exists throughout must be
// returned exactly once, and the listing must stay in order.
func testListWhileKeysChange(t *testing.T, s apikey.Store) {
	listWhileKeysChange(t, s, apikey.ListQuery{Limit: 4}, false)
}

// testFilteredListWhileKeysChange is testListWhileKeysChange through the
// owner, group and status filters together, with keys that match none,
// some or all of them created and deleted between pages: a filtered page
// never skips or repeats a key either.
func testFilteredListWhileKeysChange(t *testing.T, s apikey.Store) {
	listWhileKeysChange(t, s, apikey.ListQuery{Owner: "org-1", Group: "read", Status: apikey.StatusActive, Limit: 4}, true)
}

// decoys creates keys at createdAt that each fail one of the filters of
// testFilteredListWhileKeysChange.
func decoys(t *testing.T, s apikey.Store, createdAt time.Time) {
	t.Helper()
	otherOwner, inactive, otherGroup := newKey(createdAt), newKey(createdAt), newKey(createdAt)
	otherOwner.Owner = "org-2"
	inactive.Active = false
	otherGroup.Groups = []string{"write"}
	for _, k := range []*apikey.Key{otherOwner, inactive, otherGroup} {
		create(t, s, k)
	}
}

func listWhileKeysChange(t *testing.T, s apikey.Store, q apikey.ListQuery, withDecoys bool) {
	const initial = 40
	offsets := make([]time.Duration, initial)
	for i := range offsets {
		offsets[i] = time.Duration(i/3) * time.Second // ties of three
	}
	keys := createShuffled(t, s, offsets)
	end := keys[len(keys)-1].CreatedAt
	if withDecoys {
		for _, k := range keys {
			decoys(t, s, k.CreatedAt)
		}
	}
	deleted := make(map[uuid.UUID]bool)
	seen := make(map[uuid.UUID]int)
	var listed []*apikey.Key

	for pages := 0; ; pages++ {
		must.LessOrEqual(t, pages, 2*initial, "List does not end")
		page, err := s.List(t.Context(), q)
		must.NoError(t, err, "List")
		if len(page) == 0 {
			break
		}
		for _, k := range page {
			seen[k.ID]++
			if withDecoys {
				check.True(t, k.Owner == q.Owner && k.Active && k.HasGroup(q.Group), "key %s does not match the filters", k.ID)
			}
		}
		listed = append(listed, page...)
		last := page[len(page)-1]
		q.After = cursorOf(last)

		// Delete the cursor's own key and a key ahead of it.
		must.NoError(t, s.Delete(t.Context(), opAt(time.Now()), last.ID, nil), "Delete the last listed key")
		deleted[last.ID] = true
		for _, k := range keys {
			if !deleted[k.ID] && seen[k.ID] == 0 && compareKeyToCursor(k, q.After) > 0 && rand.IntN(3) == 0 {
				must.NoError(t, s.Delete(t.Context(), opAt(time.Now()), k.ID, nil), "Delete a key ahead")
				deleted[k.ID] = true
				break
			}
		}
		// Create a key at the cursor's time (a tie that may sort either
		// side of it), one behind it and one ahead, but only on the first
		// pages, so that the listing ends.
		if pages < initial/8 && last.CreatedAt.Before(end) {
			create(t, s, newKey(last.CreatedAt))
			create(t, s, newKey(last.CreatedAt.Add(-time.Second)))
			create(t, s, newKey(last.CreatedAt.Add(time.Duration(rand.Int64N(int64(end.Sub(last.CreatedAt)))))))
			if withDecoys {
				decoys(t, s, last.CreatedAt)
			}
		}
	}

	for _, k := range keys {
		if !deleted[k.ID] {
			check.Equal(t, 1, seen[k.ID], "times key %s (created at %s), which existed throughout, was listed",
				k.ID, k.CreatedAt.Format(time.RFC3339Nano))
		}
	}
	assertStrictlyIncreasing(t, listed)
}

// assertStrictlyIncreasing checks that keys are in list order with no key
// twice.
func assertStrictlyIncreasing(t *testing.T, keys []*apikey.Key) bool {
	t.Helper()
	for i := 1; i < len(keys); i++ {
		if compareKeyToCursor(keys[i], cursorOf(keys[i-1])) <= 0 {
			return check.Fail(t, "List went backwards or repeated a key",
				"key %d (%s, %s) does not come after key %d (%s, %s)",
				i, keys[i].CreatedAt.Format(time.RFC3339Nano), keys[i].ID,
				i-1, keys[i-1].CreatedAt.Format(time.RFC3339Nano), keys[i-1].ID)
		}
	}
	return true
}

// testListNameFilter checks ListQuery.Name: a substring of the name, ASCII
// letters regardless of case, "%" and "_" literal, combined with the other
// filters and paged with the cursor.
func testListNameFilter(t *testing.T, s apikey.Store) {
	names := []string{"Billing sync", "billing export", "BILLING", "Reports", "50% off", "500 off", "a_b", "axb", "bill", "Über billing"}
	var keys []*apikey.Key
	for i, name := range names {
		k := newKey(at(time.Duration(i) * time.Second))
		k.Name = name
		if i%2 == 1 {
			k.Owner = "org-2"
		}
		if i%3 == 0 {
			k.Active = false
		}
		create(t, s, k.Clone())
		keys = append(keys, k)
	}
	for _, tc := range []struct {
		search string
		want   []string
	}{
		{"billing", []string{"Billing sync", "billing export", "BILLING", "Über billing"}},
		{"BiLLinG", []string{"Billing sync", "billing export", "BILLING", "Über billing"}},
		{"sync", []string{"Billing sync"}},
		{"ing s", []string{"Billing sync"}},
		{"%", []string{"50% off"}},
		{"0% ", []string{"50% off"}},
		{"_", []string{"a_b"}},
		{"a_b", []string{"a_b"}},
		{"ill", []string{"Billing sync", "billing export", "BILLING", "bill", "Über billing"}},
		{"billings", nil},
		{"*", nil},
	} {
		var want []*apikey.Key
		for _, k := range keys {
			if slices.Contains(tc.want, k.Name) {
				want = append(want, k)
			}
		}
		got := listAll(t, s, apikey.ListQuery{Name: tc.search}, 2, len(keys))
		check.Equal(t, ids(want), ids(got), "List(Name %q), pages of 2", tc.search)

		var wantOwned []*apikey.Key
		for _, k := range want {
			if k.Owner == "org-2" && k.Active {
				wantOwned = append(wantOwned, k)
			}
		}
		got = listAll(t, s, apikey.ListQuery{Name: tc.search, Owner: "org-2", Status: apikey.StatusActive}, 1, len(keys))
		check.Equal(t, ids(wantOwned), ids(got), "List(Name %q, owner org-2, active), pages of 1", tc.search)
	}
}

// testListFiltersAfterChanges checks that the filters see the current status
// and groups of a key after SetActive and SetGroups (a store that keeps
// them beside an index must keep that copy in step), alone and combined
// with the owner.
func testListFiltersAfterChanges(t *testing.T, s apikey.Store) {
	ctx := t.Context()
	keys := createKeys(t, s, at(0), at(time.Second), at(2*time.Second))
	must.NoError(t, s.SetActive(ctx, opAt(at(time.Hour)), keys[0].ID, false, nil), "SetActive")
	must.NoError(t, s.SetGroups(ctx, opAt(at(time.Hour)), keys[1].ID, []string{"admin"}, nil), "SetGroups")
	must.NoError(t, s.SetActive(ctx, opAt(at(time.Hour)), keys[2].ID, false, nil), "SetActive")
	must.NoError(t, s.SetActive(ctx, opAt(at(2*time.Hour)), keys[2].ID, true, nil), "SetActive again")
	for _, tc := range []struct {
		q    apikey.ListQuery
		want []*apikey.Key
	}{
		{apikey.ListQuery{Group: "read", Status: apikey.StatusActive}, []*apikey.Key{keys[2]}},
		{apikey.ListQuery{Group: "read", Status: apikey.StatusInactive}, []*apikey.Key{keys[0]}},
		{apikey.ListQuery{Group: "admin"}, []*apikey.Key{keys[1]}},
		{apikey.ListQuery{Group: "admin", Status: apikey.StatusActive, Owner: "org-1"}, []*apikey.Key{keys[1]}},
		{apikey.ListQuery{Group: "read", Owner: "org-1"}, []*apikey.Key{keys[0], keys[2]}},
		{apikey.ListQuery{Group: "read", Owner: "org-1", Status: apikey.StatusInactive}, []*apikey.Key{keys[0]}},
		{apikey.ListQuery{Status: apikey.StatusInactive, Owner: "org-1"}, []*apikey.Key{keys[0]}},
	} {
		got := listAll(t, s, tc.q, 1, len(keys))
		check.Equal(t, ids(tc.want), ids(got), "List(%+v) after SetActive and SetGroups", tc.q)
	}
}

// testCount checks Count, for a store that has it (see apikey.Store): for
// every combination of filters, the number of keys List pages through.
func testCount(t *testing.T, s apikey.Store) {
	counter, ok := s.(interface {
		Count(ctx context.Context, q apikey.ListQuery) (int, error)
	})
	if !ok {
		t.Skip("the store does not count (optional)")
	}
	owners := []string{"org-1", "org-2"}
	var keys []*apikey.Key
	for i := range 12 {
		k := newKey(at(time.Duration(i) * time.Second))
		k.Owner = owners[i%2]
		k.Active = i%3 != 0
		if i%4 == 0 {
			k.Groups = []string{"billing"}
		}
		if i%5 == 0 {
			k.Name = "Billing job"
		}
		create(t, s, k)
		keys = append(keys, k)
	}
	for _, owner := range []string{"", "org-1", "org-3"} {
		for _, status := range []apikey.Status{apikey.StatusAny, apikey.StatusActive, apikey.StatusInactive} {
			for _, group := range []string{"", "billing", "read"} {
				for _, name := range []string{"", "billing"} {
					q := apikey.ListQuery{Owner: owner, Status: status, Group: group, Name: name}
					want := len(listAll(t, s, q, 5, len(keys)))
					q.After, q.Limit = cursorOf(keys[5]), 1 // ignored
					got, err := counter.Count(t.Context(), q)
					if check.NoError(t, err, "Count(%+v)", q) {
						check.Equal(t, want, got, "Count(%+v)", q)
					}
				}
			}
		}
	}
}
