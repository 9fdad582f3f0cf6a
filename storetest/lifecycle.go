package storetest

import (
	"bytes"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// lifecycle runs a subtest on a store that implements
// apikey.LifecycleStore, and skips it on any other.
func lifecycle(test func(t *testing.T, s apikey.LifecycleStore)) func(t *testing.T, s apikey.Store) {
	return func(t *testing.T, s apikey.Store) {
		ls, ok := s.(apikey.LifecycleStore)
		if !ok {
			t.Skipf("%T is not an apikey.LifecycleStore", s)
		}
		test(t, ls)
	}
}

// successorOf returns a new key to succeed old, as the Manager makes one:
// same owner, name, groups and metadata, created at createdAt.
func successorOf(old *apikey.Key, createdAt time.Time) *apikey.Key {
	k := newKey(createdAt)
	k.Owner, k.Name, k.Groups, k.Metadata = old.Owner, old.Name, slices.Clone(old.Groups), old.Metadata
	k.ExpiresAt = old.ExpiresAt
	k.RolledFrom = old.ID
	return k
}

// testLifecycleFields checks that RolledFrom, RolledTo, RolledAt and
// GraceEndsAt given to Create come back from Get, GetByLookupID and List.
func testLifecycleFields(t *testing.T, s apikey.LifecycleStore) {
	k := keyWithEverything(at(0))
	k.RolledFrom = uuid.Must(uuid.NewV7())
	k.RolledTo = uuid.Must(uuid.NewV7())
	k.RolledAt = timePtr(at(time.Hour))
	k.GraceEndsAt = timePtr(at(2 * time.Hour))
	create(t, s, k.Clone())
	assertStored(t, s, k)
	got, err := s.GetByLookupID(t.Context(), k.LookupID)
	if check.NoError(t, err, "GetByLookupID") {
		assertKey(t, k, got, "GetByLookupID")
	}
	keys, err := s.List(t.Context(), apikey.ListQuery{Limit: 10})
	if check.NoError(t, err, "List") && check.Equal(t, 1, len(keys), "keys listed") {
		assertKey(t, k, keys[0], "List")
	}
}

// testRoll checks that Roll creates the successor exactly as given, links
// the two keys, gives the old one its grace period and touches nothing
// else; and that the successor is found and listed like any key.
func testRoll(t *testing.T, s apikey.LifecycleStore) {
	ctx := t.Context()
	old := keyWithEverything(at(0))
	bystander := keyWithEverything(at(time.Second))
	create(t, s, old.Clone())
	create(t, s, bystander.Clone())

	succ := successorOf(old, at(time.Hour))
	graceEnd := at(25 * time.Hour)
	must.NoError(t, s.Roll(ctx, creation(succ.Clone()), old.ID, succ.Clone(), graceEnd, &apikey.Guard{Owner: old.Owner, Groups: old.Groups}), "Roll")

	old.RolledTo, old.RolledAt, old.GraceEndsAt, old.UpdatedAt = succ.ID, timePtr(succ.CreatedAt), timePtr(graceEnd), succ.CreatedAt
	assertStored(t, s, old)
	assertStored(t, s, succ)
	assertStored(t, s, bystander)
	got, err := s.GetByLookupID(ctx, old.LookupID)
	if check.NoError(t, err, "GetByLookupID of the old key") {
		assertKey(t, old, got, "GetByLookupID of the old key")
	}
	got, err = s.GetByLookupID(ctx, succ.LookupID)
	if check.NoError(t, err, "GetByLookupID of the successor") {
		assertKey(t, succ, got, "GetByLookupID of the successor")
	}
	for _, q := range []apikey.ListQuery{
		{},
		{Owner: succ.Owner},
		{Group: "admin"},
		{Owner: succ.Owner, Group: "write", Status: apikey.StatusActive},
	} {
		q.Limit = 10
		keys, err := s.List(ctx, q)
		if check.NoError(t, err, "List(%+v)", q) {
			check.Equal(t, ids(inListOrder([]*apikey.Key{old, bystander, succ})), ids(keys), "List(%+v) after the roll", q)
		}
	}

	// A roll without a guard, and a grace that has already ended.
	next := successorOf(succ, at(2*time.Hour))
	must.NoError(t, s.Roll(ctx, creation(next.Clone()), succ.ID, next.Clone(), at(2*time.Hour), nil), "Roll without a guard")
	succ.RolledTo, succ.RolledAt, succ.GraceEndsAt, succ.UpdatedAt = next.ID, timePtr(next.CreatedAt), timePtr(at(2*time.Hour)), next.CreatedAt
	assertStored(t, s, succ)
	assertStored(t, s, next)
}

// testRollRefused checks every refusal of Roll, in the documented order,
// and that a refused roll changes nothing and leaves no successor behind.
func testRollRefused(t *testing.T, s apikey.LifecycleStore) {
	ctx := t.Context()
	old := ownedKey("org-a", at(0))
	old.Groups = []string{"read", "write"}
	create(t, s, old.Clone())
	other := newKey(at(time.Second))
	create(t, s, other.Clone())

	refuse := func(what string, id uuid.UUID, succ *apikey.Key, guard *apikey.Guard, want error) {
		t.Helper()
		check.ErrorIs(t, s.Roll(ctx, creation(succ.Clone()), id, succ.Clone(), at(time.Hour), guard), want, "Roll %s", what)
		if succ.ID != other.ID {
			_, err := s.Get(ctx, succ.ID)
			check.ErrorIs(t, err, apikey.ErrNotFound, "the successor of a refused roll (%s)", what)
		}
		if succ.LookupID != other.LookupID {
			_, err := s.GetByLookupID(ctx, succ.LookupID)
			check.ErrorIs(t, err, apikey.ErrNotFound, "the successor's lookup ID after a refused roll (%s)", what)
		}
		assertStored(t, s, old)
		assertStored(t, s, other)
	}
	succ := func() *apikey.Key { return successorOf(old, at(time.Hour)) }

	refuse("of an unknown key", newKey(at(0)).ID, succ(), nil, apikey.ErrNotFound)
	for _, g := range []*apikey.Guard{
		{Owner: "org-b"},
		{Owner: "org-b", Groups: old.Groups},
		{Owner: "org-b", Groups: []string{"stale"}},
		{Owner: "ORG-A"},
	} {
		refuse("with another owner's guard", old.ID, succ(), g, apikey.ErrNotFound)
	}
	for _, stale := range [][]string{{"read"}, {"write", "read"}, {"read", "write", "admin"}, {}} {
		refuse("with stale groups", old.ID, succ(), &apikey.Guard{Owner: "org-a", Groups: stale}, apikey.ErrConflict)
	}
	dupID := succ()
	dupID.ID = other.ID
	refuse("to a successor with an ID in use", old.ID, dupID, nil, apikey.ErrDuplicate)
	dupLookup := succ()
	dupLookup.LookupID = other.LookupID
	refuse("to a successor with a lookup ID in use", old.ID, dupLookup, nil, apikey.ErrDuplicate)

	must.NoError(t, s.SetActive(ctx, opAt(at(time.Minute)), old.ID, false, nil), "deactivate")
	old.Active, old.UpdatedAt = false, at(time.Minute)
	refuse("of a deactivated key", old.ID, succ(), nil, apikey.ErrInactive)
	must.NoError(t, s.SetActive(ctx, opAt(at(2*time.Minute)), old.ID, true, nil), "activate")
	old.Active, old.UpdatedAt = true, at(2*time.Minute)

	first := succ()
	must.NoError(t, s.Roll(ctx, creation(first.Clone()), old.ID, first.Clone(), at(time.Hour), nil), "the first roll")
	old.RolledTo, old.RolledAt, old.GraceEndsAt, old.UpdatedAt = first.ID, timePtr(first.CreatedAt), timePtr(at(time.Hour)), first.CreatedAt
	refuse("a second time", old.ID, succ(), &apikey.Guard{Owner: "org-a", Groups: old.Groups}, apikey.ErrAlreadyRolled)
	assertStored(t, s, first)
}

// testSetExpiresAt checks that SetExpiresAt sets, changes and removes the
// expiry and sets UpdatedAt, and nothing else, under its guard.
func testSetExpiresAt(t *testing.T, s apikey.LifecycleStore) {
	ctx := t.Context()
	k, bystander := twoKeys(t, s)
	for i, expires := range []*time.Time{timePtr(at(48 * time.Hour)), nil, timePtr(at(72 * time.Hour)), timePtr(at(72 * time.Hour))} {
		updated := at(time.Hour + time.Duration(i)*time.Minute)
		must.NoError(t, s.SetExpiresAt(ctx, opAt(updated), k.ID, expires, nil), "SetExpiresAt(%v)", expires)
		k.ExpiresAt, k.UpdatedAt = expires, updated
		assertStored(t, s, k)
	}
	check.ErrorIs(t, s.SetExpiresAt(ctx, opAt(at(2*time.Hour)), newKey(at(0)).ID, nil, nil), apikey.ErrNotFound, "SetExpiresAt of an unknown key")
	check.ErrorIs(t, s.SetExpiresAt(ctx, opAt(at(2*time.Hour)), k.ID, nil, &apikey.Guard{Owner: "org-2"}), apikey.ErrNotFound, "SetExpiresAt with another owner's guard")
	check.ErrorIs(t, s.SetExpiresAt(ctx, opAt(at(2*time.Hour)), k.ID, nil, ifGroups([]string{"stale"})), apikey.ErrConflict, "SetExpiresAt with stale groups")
	assertStored(t, s, k)
	must.NoError(t, s.SetExpiresAt(ctx, opAt(at(3*time.Hour)), k.ID, nil, &apikey.Guard{Owner: k.Owner, Groups: k.Groups}), "SetExpiresAt with a matching guard")
	k.ExpiresAt, k.UpdatedAt = nil, at(3*time.Hour)
	assertStored(t, s, k)
	assertStored(t, s, bystander)
}

// testPrune checks which keys Prune finds (expired or past their grace
// strictly before the cut-off, of the owner asked), in batches in the
// order of their IDs, that a dry run deletes nothing, and that a real run
// deletes exactly what it returns.
func testPrune(t *testing.T, s apikey.LifecycleStore) {
	ctx := t.Context()
	cutoff := at(100 * time.Hour)
	var eligible, kept []*apikey.Key
	add := func(owner string, expires, grace *time.Time, want bool) {
		k := ownedKey(owner, at(time.Duration(len(eligible)+len(kept))*time.Second))
		k.ExpiresAt, k.GraceEndsAt = expires, grace
		if grace != nil {
			k.RolledTo, k.RolledAt = uuid.Must(uuid.NewV7()), timePtr(at(0))
		}
		create(t, s, k.Clone())
		if want {
			eligible = append(eligible, k)
		} else {
			kept = append(kept, k)
		}
	}
	before, after, justBefore := timePtr(at(10*time.Hour)), timePtr(at(200*time.Hour)), timePtr(cutoff.Add(-time.Microsecond))
	add("org-a", before, nil, true)           // expired long ago
	add("org-a", justBefore, nil, true)       // expired just before the cut-off
	add("org-a", after, nil, false)           // expires after it
	add("org-a", timePtr(cutoff), nil, false) // expired at the cut-off: not before it
	add("org-a", nil, nil, false)             // never expires
	add("org-a", nil, before, true)           // grace ended long ago
	add("org-a", after, before, true)         // grace ended, expiry later
	add("org-a", before, after, true)         // expired, grace later
	add("org-a", nil, after, false)           // in its grace period
	add("org-a", nil, timePtr(cutoff), false) // grace ended at the cut-off
	add("org-b", before, nil, true)           // another owner's
	add("org-b", nil, before, true)           // another owner's
	add("org-b", after, nil, false)           // another owner's, kept
	add("org-a", timePtr(at(-time.Hour)), nil, true)
	sortByID := func(keys []*apikey.Key) []string {
		sorted := slices.Clone(keys)
		slices.SortFunc(sorted, func(a, b *apikey.Key) int { return bytes.Compare(a.ID[:], b.ID[:]) })
		return ids(sorted)
	}
	ofOwner := func(owner string) []*apikey.Key {
		var out []*apikey.Key
		for _, k := range eligible {
			if k.Owner == owner {
				out = append(out, k)
			}
		}
		return out
	}
	all := func(q apikey.PruneQuery, limit int) []*apikey.Key {
		t.Helper()
		var out []*apikey.Key
		q.Limit = limit
		for range len(eligible) + 2 {
			keys, err := s.Prune(ctx, opAt(cutoff), q)
			must.NoError(t, err, "Prune(%+v)", q)
			must.True(t, len(keys) <= limit, "Prune with limit %d returned %d keys", limit, len(keys))
			out = append(out, keys...)
			if len(keys) < limit {
				return out
			}
			q.After = keys[len(keys)-1].ID
		}
		t.Fatalf("Prune with limit %d did not end", limit)
		return nil
	}

	for _, limit := range []int{1, 3, 100} {
		check.Equal(t, sortByID(eligible), ids(all(apikey.PruneQuery{EndedBefore: cutoff, DryRun: true}, limit)), "dry run, every owner, batches of %d", limit)
		check.Equal(t, sortByID(ofOwner("org-a")), ids(all(apikey.PruneQuery{Owner: "org-a", EndedBefore: cutoff, DryRun: true}, limit)), "dry run, org-a, batches of %d", limit)
	}
	keys, err := s.Prune(ctx, opAt(cutoff), apikey.PruneQuery{EndedBefore: cutoff, DryRun: true, Limit: 0})
	if check.NoError(t, err, "Prune with limit 0") {
		check.Equal(t, 1, len(keys), "Prune with limit 0 is a batch of 1")
	}
	for _, k := range slices.Concat(eligible, kept) {
		assertStored(t, s, k) // a dry run deletes nothing
	}

	deleted := all(apikey.PruneQuery{Owner: "org-b", EndedBefore: cutoff}, 1)
	check.Equal(t, sortByID(ofOwner("org-b")), ids(deleted), "Prune org-b")
	deleted = all(apikey.PruneQuery{EndedBefore: cutoff}, 2)
	check.Equal(t, sortByID(ofOwner("org-a")), ids(deleted), "Prune every owner after org-b")
	for _, k := range eligible {
		_, err := s.Get(ctx, k.ID)
		check.ErrorIs(t, err, apikey.ErrNotFound, "Get of a pruned key")
		_, err = s.GetByLookupID(ctx, k.LookupID)
		check.ErrorIs(t, err, apikey.ErrNotFound, "GetByLookupID of a pruned key")
	}
	for _, k := range kept {
		assertStored(t, s, k)
	}
	listed, err := s.List(ctx, apikey.ListQuery{Limit: 100})
	if check.NoError(t, err, "List after Prune") {
		check.Equal(t, ids(inListOrder(kept)), ids(listed), "the keys listed after Prune")
	}
	listed, err = s.List(ctx, apikey.ListQuery{Owner: "org-a", Group: "read", Limit: 100})
	if check.NoError(t, err, "List by owner and group after Prune") {
		var want []*apikey.Key
		for _, k := range kept {
			if k.Owner == "org-a" {
				want = append(want, k)
			}
		}
		check.Equal(t, ids(inListOrder(want)), ids(listed), "org-a's keys with group read after Prune")
	}
}

// testConcurrentRolls races rolls of one key with each other and with a
// revocation of one of its groups, all guarded by the groups it had: at
// most one roll and one revocation succeed, and a roll never commits after
// the revocation (which would give the successor a group the old key no
// longer held); a roll that lost leaves nothing behind.
func testConcurrentRolls(t *testing.T, s apikey.LifecycleStore) {
	const (
		rounds  = 10
		rollers = 4
		writers = 4
	)
	ctx := t.Context()
	for round := range rounds {
		base := time.Duration(round) * time.Hour
		rollAt, revokeAt := at(base+time.Minute), at(base+2*time.Minute)
		old := newKey(at(base))
		old.Groups = []string{"read", "write"}
		create(t, s, old.Clone())
		guard := &apikey.Guard{Owner: old.Owner, Groups: []string{"read", "write"}}
		var (
			wg             sync.WaitGroup
			rolls, revokes atomic.Int64
			rolledTo       atomic.Value
			mu             sync.Mutex
			losers         []uuid.UUID
		)
		start := make(chan struct{})
		for range rollers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				succ := successorOf(old, rollAt)
				<-start
				err := s.Roll(ctx, creation(succ), old.ID, succ, at(base+time.Hour), guard)
				switch {
				case err == nil:
					rolls.Add(1)
					rolledTo.Store(succ.ID)
				case errors.Is(err, apikey.ErrConflict), errors.Is(err, apikey.ErrAlreadyRolled):
					mu.Lock()
					losers = append(losers, succ.ID)
					mu.Unlock()
				default:
					t.Errorf("round %d: Roll: %v, want nil, ErrConflict or ErrAlreadyRolled", round, err)
				}
			}()
		}
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				err := s.SetGroups(ctx, opAt(revokeAt), old.ID, []string{"read"}, guard)
				switch {
				case err == nil:
					revokes.Add(1)
				case !errors.Is(err, apikey.ErrConflict):
					t.Errorf("round %d: SetGroups: %v, want nil or ErrConflict", round, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		must.True(t, rolls.Load() <= 1, "round %d: %d rolls of one key succeeded", round, rolls.Load())
		must.True(t, revokes.Load() <= 1, "round %d: %d changes guarded by the same groups succeeded", round, revokes.Load())
		must.True(t, rolls.Load()+revokes.Load() >= 1, "round %d: every roll and change failed", round)
		stored := get(t, s, old.ID)
		if id, ok := rolledTo.Load().(uuid.UUID); ok {
			check.Equal(t, id.String(), stored.RolledTo.String(), "round %d: the old key names the winning successor", round)
			check.Equal(t, []string{"read", "write"}, get(t, s, id).Groups, "round %d: the successor's groups", round)
			if stored.UpdatedAt.Equal(rollAt) {
				// The roll was the last change: no revocation came before it.
				check.Equal(t, []string{"read", "write"}, stored.Groups, "round %d: a roll committed after a revocation of the old key's groups", round)
			}
		} else {
			check.Equal(t, uuid.Nil.String(), stored.RolledTo.String(), "round %d: no roll won, yet the old key is rolled", round)
		}
		if revokes.Load() == 1 {
			check.Equal(t, []string{"read"}, stored.Groups, "round %d: the groups after the revocation", round)
		}
		for _, id := range losers {
			_, err := s.Get(ctx, id)
			check.ErrorIs(t, err, apikey.ErrNotFound, "round %d: the successor of a roll that lost", round)
		}
	}
}

// testRollQuota checks Guard.MaxKeys on Roll: the owner may hold at most
// that many keys that still work when the roll begins (keys in their grace
// period count, deactivated keys and other owners' do not), else
// ErrQuotaExceeded with nothing changed.
func testRollQuota(t *testing.T, s apikey.LifecycleStore) {
	ctx := t.Context()
	old := ownedKey("org-q", at(0))
	create(t, s, old.Clone())
	create(t, s, ownedKey("org-other", at(time.Second)))
	quota := &apikey.Guard{Owner: "org-q", MaxKeys: 1}

	succ := ownedKey("org-q", at(time.Minute))
	succ.RolledFrom = old.ID
	must.NoError(t, s.Roll(ctx, creation(succ.Clone()), old.ID, succ.Clone(), at(24*time.Hour), quota), "a roll at the quota: the old key keeps its grace")

	next := ownedKey("org-q", at(2*time.Minute))
	next.RolledFrom = succ.ID
	check.ErrorIs(t, s.Roll(ctx, creation(next.Clone()), succ.ID, next.Clone(), at(24*time.Hour), quota), apikey.ErrQuotaExceeded, "a second roll while the first grace runs")
	_, err := s.Get(ctx, next.ID)
	check.ErrorIs(t, err, apikey.ErrNotFound, "the refused successor was not stored")
	assertStored(t, s, succ)

	must.NoError(t, s.SetActive(ctx, opAt(at(3*time.Minute)), old.ID, false, nil), "deactivate the old key")
	must.NoError(t, s.Roll(ctx, creation(next.Clone()), succ.ID, next.Clone(), at(24*time.Hour), quota), "a deactivated key does not count")
}
