package storetest

import (
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// twoKeys creates an inactive key with every optional field set, which the
// test changes, and an active bystander that no change may touch.
func twoKeys(t *testing.T, s apikey.Store) (target, bystander *apikey.Key) {
	t.Helper()
	target = keyWithEverything(at(0))
	target.Active = false
	bystander = keyWithEverything(at(time.Second))
	create(t, s, target.Clone())
	create(t, s, bystander.Clone())
	return target, bystander
}

// testSetName checks that SetName changes the name and UpdatedAt, and
// nothing else.
func testSetName(t *testing.T, s apikey.Store) {
	k, bystander := twoKeys(t, s)
	for i, name := range []string{"renamed", "renamed again", k.Name} {
		updated := at(time.Hour + time.Duration(i)*time.Minute)
		must.NoError(t, s.SetName(t.Context(), opAt(updated), k.ID, name, nil), "SetName(%q)", name)
		k.Name, k.UpdatedAt = name, updated
		assertStored(t, s, k)
	}
	assertStored(t, s, bystander)
}

// testSetGroups checks that SetGroups replaces the groups, in the order
// given, and UpdatedAt, and nothing else.
func testSetGroups(t *testing.T, s apikey.Store) {
	k, bystander := twoKeys(t, s)
	for i, groups := range [][]string{
		{"write", "read"},
		{"g6", "g5", "g4", "g3", "g2", "g1"}, // more than Key.Clone keeps inline
		{"only"},                             // fewer: none of the old ones may remain
		{"read", "write", "admin"},
	} {
		updated := at(time.Hour + time.Duration(i)*time.Minute)
		must.NoError(t, s.SetGroups(t.Context(), opAt(updated), k.ID, groups, nil), "SetGroups(%q)", groups)
		k.Groups, k.UpdatedAt = groups, updated
		assertStored(t, s, k)
	}
	assertStored(t, s, bystander)
}

// testSetActive checks that SetActive sets the status, both ways, and
// UpdatedAt, and nothing else.
func testSetActive(t *testing.T, s apikey.Store) {
	k, bystander := twoKeys(t, s)
	for i, active := range []bool{true, false, true} {
		updated := at(time.Hour + time.Duration(i)*time.Minute)
		must.NoError(t, s.SetActive(t.Context(), opAt(updated), k.ID, active, nil), "SetActive(%t)", active)
		k.Active, k.UpdatedAt = active, updated
		assertStored(t, s, k)
	}
	assertStored(t, s, bystander)
}

// testSetHash checks that SetHash replaces the hash and nothing else, not
// even UpdatedAt.
func testSetHash(t *testing.T, s apikey.Store) {
	k, bystander := twoKeys(t, s)
	for _, hash := range []string{
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$sha256$" + newLookupID(),
	} {
		must.NoError(t, s.SetHash(t.Context(), k.ID, hash), "SetHash")
		k.Hash = hash
		assertStored(t, s, k)
	}
	assertStored(t, s, bystander)
}

// testUpdatesWithUnchangedValues checks that an update which changes
// nothing still succeeds: a SQL store must not take "no row changed" for
// "no such key".
func testUpdatesWithUnchangedValues(t *testing.T, s apikey.Store) {
	k := keyWithEverything(at(0))
	create(t, s, k.Clone())
	ctx := t.Context()
	check.NoError(t, s.SetName(ctx, opAt(k.UpdatedAt), k.ID, k.Name, nil), "SetName with the same name and time")
	check.NoError(t, s.SetGroups(ctx, opAt(k.UpdatedAt), k.ID, k.Groups, nil), "SetGroups with the same groups and time")
	check.NoError(t, s.SetActive(ctx, opAt(k.UpdatedAt), k.ID, k.Active, nil), "SetActive with the same status and time")
	check.NoError(t, s.SetHash(ctx, k.ID, k.Hash), "SetHash with the same hash")
	check.NoError(t, s.RecordLastUsed(ctx, map[uuid.UUID]time.Time{k.ID: *k.LastUsedAt}), "RecordLastUsed with the same time")
	assertStored(t, s, k)
}

// testDelete checks that Delete removes one key from every way of reading
// it, and only that key.
func testDelete(t *testing.T, s apikey.Store) {
	keys := createKeys(t, s, at(0), at(time.Second), at(2*time.Second))
	gone := keys[1]
	must.NoError(t, s.Delete(t.Context(), opAt(time.Now()), gone.ID, nil), "Delete")

	_, err := s.Get(t.Context(), gone.ID)
	check.ErrorIs(t, err, apikey.ErrNotFound, "Get after Delete")
	_, err = s.GetByLookupID(t.Context(), gone.LookupID)
	check.ErrorIs(t, err, apikey.ErrNotFound, "GetByLookupID after Delete")
	check.ErrorIs(t, s.Delete(t.Context(), opAt(time.Now()), gone.ID, nil), apikey.ErrNotFound, "second Delete")
	check.ErrorIs(t, s.SetName(t.Context(), opAt(at(time.Hour)), gone.ID, "x", nil), apikey.ErrNotFound, "SetName after Delete")
	check.NoError(t, s.RecordLastUsed(t.Context(), map[uuid.UUID]time.Time{gone.ID: at(time.Hour)}), "RecordLastUsed after Delete")

	for _, k := range []*apikey.Key{keys[0], keys[2]} {
		assertStored(t, s, k)
		got, err := s.GetByLookupID(t.Context(), k.LookupID)
		if check.NoError(t, err, "GetByLookupID of a remaining key") {
			assertKey(t, k, got, "GetByLookupID of a remaining key")
		}
	}
	listed, err := s.List(t.Context(), apikey.ListQuery{Limit: 10})
	must.NoError(t, err, "List")
	check.Equal(t, ids([]*apikey.Key{keys[0], keys[2]}), ids(listed), "List after Delete")

	for _, k := range []*apikey.Key{keys[0], keys[2]} {
		must.NoError(t, s.Delete(t.Context(), opAt(time.Now()), k.ID, nil), "Delete")
	}
	listed, err = s.List(t.Context(), apikey.ListQuery{Limit: 10})
	must.NoError(t, err, "List")
	check.Empty(t, ids(listed), "List after deleting every key")
}

// testRecordLastUsed checks that RecordLastUsed sets LastUsedAt, never moves
// it backwards, handles many keys at once, ignores unknown keys and changes
// no other field, not even UpdatedAt.
func testRecordLastUsed(t *testing.T, s apikey.Store) {
	record := func(t *testing.T, uses map[uuid.UUID]time.Time) {
		t.Helper()
		must.NoError(t, s.RecordLastUsed(t.Context(), uses), "RecordLastUsed(%v)", uses)
	}

	t.Run("FromNil", func(t *testing.T) {
		k := newKey(at(0))
		create(t, s, k.Clone())
		record(t, map[uuid.UUID]time.Time{k.ID: at(time.Minute)})
		k.LastUsedAt = timePtr(at(time.Minute))
		assertStored(t, s, k)
	})

	t.Run("NeverBackwards", func(t *testing.T) {
		k := newKey(at(time.Second))
		create(t, s, k.Clone())
		for _, step := range []struct {
			use, want time.Duration
		}{
			{time.Hour, time.Hour},
			{time.Minute, time.Hour},                  // earlier: ignored
			{time.Hour - time.Microsecond, time.Hour}, // earlier by the smallest step
			{time.Hour, time.Hour},                    // the same time again
			{time.Hour + time.Microsecond, time.Hour + time.Microsecond},
			{2 * time.Hour, 2 * time.Hour},
		} {
			record(t, map[uuid.UUID]time.Time{k.ID: at(step.use)})
			k.LastUsedAt = timePtr(at(step.want))
			assertStored(t, s, k)
		}
	})

	t.Run("Batch", func(t *testing.T) {
		var keys []*apikey.Key
		uses := make(map[uuid.UUID]time.Time)
		for i := range 50 {
			k := newKey(at(time.Duration(i) * time.Millisecond))
			switch i % 3 {
			case 0: // never used
			case 1: // used later than this batch says: must not move back
				k.LastUsedAt = timePtr(at(48 * time.Hour))
			case 2: // used earlier
				k.LastUsedAt = timePtr(at(time.Minute))
			}
			create(t, s, k.Clone())
			use := at(time.Hour + time.Duration(i)*time.Second)
			uses[k.ID] = use
			if k.LastUsedAt == nil || use.After(*k.LastUsedAt) {
				k.LastUsedAt = timePtr(use)
			}
			keys = append(keys, k)
		}
		uses[uuid.Must(uuid.NewV7())] = at(time.Hour) // unknown
		record(t, uses)
		for _, k := range keys {
			assertStored(t, s, k)
		}
	})

	t.Run("UnknownIDsAreIgnored", func(t *testing.T) {
		k := newKey(at(time.Hour))
		create(t, s, k.Clone())
		record(t, map[uuid.UUID]time.Time{
			uuid.Must(uuid.NewV7()): at(3 * time.Hour),
			k.ID:                    at(2 * time.Hour),
			uuid.Nil:                at(3 * time.Hour),
		})
		k.LastUsedAt = timePtr(at(2 * time.Hour))
		assertStored(t, s, k)
		record(t, map[uuid.UUID]time.Time{uuid.Must(uuid.NewV7()): at(3 * time.Hour)})
		assertStored(t, s, k)
	})

	t.Run("Empty", func(t *testing.T) {
		k := keyWithEverything(at(2 * time.Hour))
		create(t, s, k.Clone())
		record(t, map[uuid.UUID]time.Time{})
		record(t, nil)
		assertStored(t, s, k)
	})
}

// testConditionalChanges checks that Delete, SetName, SetGroups and
// SetActive with a guard on groups change a key only while its groups are
// exactly those, and otherwise change nothing and return ErrConflict.
func testConditionalChanges(t *testing.T, s apikey.Store) {
	ctx := t.Context()
	k := newKey(at(0))
	k.Groups = []string{"a", "b"}
	create(t, s, k.Clone())

	must.NoError(t, s.SetName(ctx, opAt(at(time.Hour)), k.ID, "renamed", ifGroups([]string{"a", "b"})), "SetName with matching groups")
	k.Name, k.UpdatedAt = "renamed", at(time.Hour)
	assertStored(t, s, k)

	for _, stale := range [][]string{{"a"}, {"b", "a"}, {"a", "b", "c"}, {}, {"A", "b"}} {
		check.ErrorIs(t, s.SetName(ctx, opAt(at(2*time.Hour)), k.ID, "x", ifGroups(stale)), apikey.ErrConflict, "SetName if %q", stale)
		check.ErrorIs(t, s.SetActive(ctx, opAt(at(2*time.Hour)), k.ID, !k.Active, ifGroups(stale)), apikey.ErrConflict, "SetActive if %q", stale)
		check.ErrorIs(t, s.SetGroups(ctx, opAt(at(2*time.Hour)), k.ID, []string{"z"}, ifGroups(stale)), apikey.ErrConflict, "SetGroups if %q", stale)
		check.ErrorIs(t, s.Delete(ctx, opAt(time.Now()), k.ID, ifGroups(stale)), apikey.ErrConflict, "Delete if %q", stale)
	}
	assertStored(t, s, k) // a refused change changes nothing

	must.NoError(t, s.SetName(ctx, opAt(k.UpdatedAt), k.ID, k.Name, ifGroups([]string{"a", "b"})), "SetName with matching groups and unchanged values")
	must.NoError(t, s.SetGroups(ctx, opAt(at(3*time.Hour)), k.ID, []string{"a"}, ifGroups([]string{"a", "b"})), "SetGroups with matching groups")
	k.Groups, k.UpdatedAt = []string{"a"}, at(3*time.Hour)
	assertStored(t, s, k)
	check.ErrorIs(t, s.SetActive(ctx, opAt(at(4*time.Hour)), k.ID, false, ifGroups([]string{"a", "b"})), apikey.ErrConflict, "the old groups no longer match")
	must.NoError(t, s.SetActive(ctx, opAt(at(4*time.Hour)), k.ID, false, ifGroups([]string{"a"})), "SetActive with the new groups")
	k.Active, k.UpdatedAt = false, at(4*time.Hour)
	assertStored(t, s, k)

	must.NoError(t, s.Delete(ctx, opAt(time.Now()), k.ID, ifGroups([]string{"a"})), "Delete with matching groups")
	_, err := s.Get(ctx, k.ID)
	check.ErrorIs(t, err, apikey.ErrNotFound)

	unknown := newKey(at(0)).ID
	check.ErrorIs(t, s.SetName(ctx, opAt(at(time.Hour)), unknown, "x", ifGroups([]string{"a"})), apikey.ErrNotFound, "SetName of an unknown key")
	check.ErrorIs(t, s.SetGroups(ctx, opAt(at(time.Hour)), unknown, []string{"a"}, ifGroups([]string{"a"})), apikey.ErrNotFound, "SetGroups of an unknown key")
	check.ErrorIs(t, s.SetActive(ctx, opAt(at(time.Hour)), unknown, true, ifGroups([]string{"a"})), apikey.ErrNotFound, "SetActive of an unknown key")
	check.ErrorIs(t, s.Delete(ctx, opAt(time.Now()), unknown, ifGroups([]string{"a"})), apikey.ErrNotFound, "Delete of an unknown key")
}
