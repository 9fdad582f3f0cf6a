package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apikit/apikey"
)

// ownedKey returns newKey(createdAt) with the given owner.
func ownedKey(owner string, createdAt time.Time) *apikey.Key {
	k := newKey(createdAt)
	k.Owner = owner
	return k
}

// testListOwnerFilter checks that List with an owner returns only that
// owner's keys, in creation order, paged with the cursor and combined with
// the status and group filters; owners compare byte for byte.
func testListOwnerFilter(t *testing.T, s apikey.Store) {
	owners := []string{"org-1", "org-10", "ORG-1", "org-1 ", "org-2"}
	var keys []*apikey.Key
	for i := range 20 {
		k := ownedKey(owners[i%len(owners)], at(time.Duration(i)*time.Second))
		if i%3 == 0 {
			k.Active = false
		}
		if i%2 == 0 {
			k.Groups = []string{"billing"}
		}
		create(t, s, k.Clone())
		keys = append(keys, k)
	}
	for _, owner := range owners {
		for _, status := range []apikey.Status{apikey.StatusAny, apikey.StatusActive, apikey.StatusInactive} {
			for _, group := range []string{"", "billing", "read"} {
				var want []*apikey.Key
				for _, k := range keys {
					if k.Owner == owner && status.Matches(k.Active) && (group == "" || k.HasGroup(group)) {
						want = append(want, k)
					}
				}
				got := listAll(t, s, apikey.ListQuery{Owner: owner, Status: status, Group: group}, 2, len(keys))
				check.Equal(t, ids(want), ids(got), "List(owner %q, %v, group %q), pages of 2", owner, status, group)
			}
		}
	}
	got, err := s.List(t.Context(), apikey.ListQuery{Owner: "org-3", Limit: 10})
	must.NoError(t, err, "List of an owner without keys")
	check.Empty(t, got, "List of an owner without keys")
	all, err := s.List(t.Context(), apikey.ListQuery{Limit: 100})
	must.NoError(t, err, "List without an owner")
	check.Equal(t, ids(keys), ids(all), "List without an owner lists every owner's keys")
}

// testOwnerGuard checks that every guarded change of a key of another owner
// is ErrNotFound, exactly as a missing key, and changes nothing, also when
// the groups guard would fail too; and that the owner's own guard passes.
func testOwnerGuard(t *testing.T, s apikey.Store) {
	ctx := t.Context()
	k := ownedKey("org-a", at(0))
	create(t, s, k.Clone())
	for _, g := range []*apikey.Guard{
		{Owner: "org-b"},
		{Owner: "org-b", Groups: k.Groups},
		{Owner: "org-b", Groups: []string{"stale"}},
		{Owner: "ORG-A"},
		{Owner: "org-a "},
	} {
		check.ErrorIs(t, s.SetName(ctx, opAt(at(time.Hour)), k.ID, "taken", g), apikey.ErrNotFound, "SetName with %+v", *g)
		check.ErrorIs(t, s.SetGroups(ctx, opAt(at(time.Hour)), k.ID, []string{"admin"}, g), apikey.ErrNotFound, "SetGroups with %+v", *g)
		check.ErrorIs(t, s.SetActive(ctx, opAt(at(time.Hour)), k.ID, false, g), apikey.ErrNotFound, "SetActive with %+v", *g)
		check.ErrorIs(t, s.Delete(ctx, opAt(time.Now()), k.ID, g), apikey.ErrNotFound, "Delete with %+v", *g)
	}
	assertStored(t, s, k) // nothing changed

	own := &apikey.Guard{Owner: "org-a"}
	must.NoError(t, s.SetName(ctx, opAt(at(time.Hour)), k.ID, "renamed", own), "SetName by its owner")
	must.NoError(t, s.SetGroups(ctx, opAt(at(2*time.Hour)), k.ID, []string{"admin"}, &apikey.Guard{Owner: "org-a", Groups: k.Groups}), "SetGroups by its owner")
	must.NoError(t, s.SetActive(ctx, opAt(at(3*time.Hour)), k.ID, false, own), "SetActive by its owner")
	k.Name, k.Groups, k.Active, k.UpdatedAt = "renamed", []string{"admin"}, false, at(3*time.Hour)
	assertStored(t, s, k)
	check.ErrorIs(t, s.SetName(ctx, opAt(at(4*time.Hour)), k.ID, "x", &apikey.Guard{Owner: "org-a", Groups: []string{"stale"}}),
		apikey.ErrConflict, "the owner's guard with stale groups")
	must.NoError(t, s.Delete(ctx, opAt(time.Now()), k.ID, own), "Delete by its owner")
	_, err := s.Get(ctx, k.ID)
	check.ErrorIs(t, err, apikey.ErrNotFound, "Get after Delete")
}

// testConcurrentOwnerIsolation has one owner's writers change their keys
// while another owner's writers try to change, regroup, deactivate and
// delete the same keys: every foreign attempt is ErrNotFound, and the keys
// end as their owner left them.
func testConcurrentOwnerIsolation(t *testing.T, s apikey.Store) {
	const keys, rounds = 4, 20
	ctx := t.Context()
	var victims []*apikey.Key
	for i := range keys {
		k := ownedKey("org-a", at(time.Duration(i)*time.Second))
		create(t, s, k.Clone())
		victims = append(victims, k)
	}
	var wg sync.WaitGroup
	var foreign atomic.Int64
	start := make(chan struct{})
	for _, k := range victims {
		wg.Go(func() { // the owner
			<-start
			for r := range rounds {
				check.NoError(t, s.SetName(ctx, opAt(at(time.Duration(r+1)*time.Minute)), k.ID, fmt.Sprintf("owner %d", r), &apikey.Guard{Owner: "org-a"}), "owner's SetName")
			}
		})
		wg.Go(func() { // the intruder
			<-start
			g := &apikey.Guard{Owner: "org-b"}
			for r := range rounds {
				for _, err := range []error{
					s.SetName(ctx, opAt(at(time.Hour)), k.ID, "intruder", g),
					s.SetGroups(ctx, opAt(at(time.Hour)), k.ID, []string{"intruder"}, g),
					s.SetActive(ctx, opAt(at(time.Hour)), k.ID, false, g),
					s.Delete(ctx, opAt(time.Now()), k.ID, g),
				} {
					if !errors.Is(err, apikey.ErrNotFound) {
						t.Errorf("round %d: a change by another owner returned %v, want ErrNotFound", r, err)
					}
					foreign.Add(1)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	must.Equal(t, int64(keys*rounds*4), foreign.Load(), "foreign attempts")
	for _, k := range victims {
		k.Name, k.UpdatedAt = fmt.Sprintf("owner %d", rounds-1), at(time.Duration(rounds)*time.Minute)
		assertStored(t, s, k)
	}
}

// testOwnerQuota checks Create's maxPerOwner: an owner at its limit gets
// ErrQuotaExceeded and nothing is stored; other owners are not counted;
// deleting a key makes room; zero means no limit.
func testOwnerQuota(t *testing.T, s apikey.Store) {
	ctx := t.Context()
	var mine []*apikey.Key
	for i := range 3 {
		k := ownedKey("org-a", at(time.Duration(i)*time.Second))
		must.NoError(t, s.Create(ctx, creation(k.Clone()), k.Clone(), 3), "Create %d of 3", i+1)
		mine = append(mine, k)
	}
	for i := range 5 {
		must.NoError(t, s.Create(ctx, creation(ownedKey("org-b", at(time.Duration(10+i)*time.Second))), ownedKey("org-b", at(time.Duration(10+i)*time.Second)), 6), "another owner's key %d", i)
	}
	extra := ownedKey("org-a", at(time.Minute))
	check.ErrorIs(t, s.Create(ctx, creation(extra.Clone()), extra.Clone(), 3), apikey.ErrQuotaExceeded, "Create over the quota")
	_, err := s.Get(ctx, extra.ID)
	check.ErrorIs(t, err, apikey.ErrNotFound, "the refused key was not stored")
	_, err = s.GetByLookupID(ctx, extra.LookupID)
	check.ErrorIs(t, err, apikey.ErrNotFound, "the refused key was not stored")

	must.NoError(t, s.Delete(ctx, opAt(time.Now()), mine[0].ID, nil), "Delete")
	must.NoError(t, s.Create(ctx, creation(extra.Clone()), extra.Clone(), 3), "Create after a Delete made room")
	must.NoError(t, s.Create(ctx, creation(ownedKey("org-a", at(2*time.Minute))), ownedKey("org-a", at(2*time.Minute)), 0), "zero means no limit")
}

// testConcurrentOwnerQuota starts many creates for one owner at once: of
// them, exactly the quota succeed, the others are ErrQuotaExceeded.
func testConcurrentOwnerQuota(t *testing.T, s apikey.Store) {
	const quota, writers = 5, 16
	var wg sync.WaitGroup
	var created atomic.Int64
	start := make(chan struct{})
	for i := range writers {
		wg.Go(func() {
			<-start
			err := s.Create(t.Context(), creation(ownedKey("org-q", at(time.Duration(i)*time.Second))), ownedKey("org-q", at(time.Duration(i)*time.Second)), quota)
			switch {
			case err == nil:
				created.Add(1)
			case !errors.Is(err, apikey.ErrQuotaExceeded):
				t.Errorf("Create at the quota: %v, want nil or ErrQuotaExceeded", err)
			}
		})
	}
	close(start)
	wg.Wait()
	check.Equal(t, int64(quota), created.Load(), "creates that succeeded with a quota of %d", quota)
	listed, err := s.List(t.Context(), apikey.ListQuery{Owner: "org-q", Limit: 100})
	must.NoError(t, err, "List")
	check.Len(t, listed, quota, "keys stored")
}
