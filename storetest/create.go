package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// testCreateAndGet checks that every field survives Create and comes back
// from Get, GetByLookupID and List, for nil and non-nil optional times and
// for groups whose order must be kept.
func testCreateAndGet(t *testing.T, s apikey.Store) {
	minimal := newKey(at(0))
	minimal.Groups = []string{"read"}

	full := newKey(at(time.Second))
	full.Name = "Billing service (prod)"
	full.Groups = []string{"write", "admin"}
	full.Active = false
	full.UpdatedAt = at(time.Hour + 7*time.Microsecond)
	full.LastUsedAt = timePtr(at(30 * time.Minute))
	full.ExpiresAt = timePtr(time.Date(2099, time.December, 31, 23, 59, 59, 999999000, time.UTC))

	// More groups than Key.Clone keeps inline, in no sorted order.
	manyGroups := newKey(at(2 * time.Second))
	manyGroups.Groups = []string{"zeta", "alpha", "mid", "beta", "omega", "alpha2", "a"}

	lastUsedOnly := newKey(at(3 * time.Second))
	lastUsedOnly.LastUsedAt = timePtr(at(3*time.Second + 1*time.Microsecond))

	expiresOnly := newKey(at(4 * time.Second))
	expiresOnly.ExpiresAt = timePtr(at(90 * 24 * time.Hour))

	// Another owner, the longest owner and the largest metadata a Store
	// must hold, and a key without metadata.
	otherOwner := newKey(at(5 * time.Second))
	otherOwner.Owner = strings.Repeat("o", 128)
	otherOwner.Metadata = map[string]string{}
	for i := range 16 {
		otherOwner.Metadata[fmt.Sprintf("key%02d", i)] = strings.Repeat("v", 230)
	}
	noMetadata := newKey(at(6 * time.Second))
	noMetadata.Owner = "user@example.com"
	noMetadata.Metadata = nil

	keys := []*apikey.Key{minimal, full, manyGroups, lastUsedOnly, expiresOnly, otherOwner, noMetadata}
	for _, k := range keys {
		must.NoError(t, s.Create(t.Context(), creation(k.Clone()), k.Clone(), 0), "Create")
	}
	for _, k := range keys {
		assertStored(t, s, k)
		got, err := s.GetByLookupID(t.Context(), k.LookupID)
		if check.NoError(t, err, "GetByLookupID(%q)", k.LookupID) {
			assertKey(t, k, got, "GetByLookupID(%q)", k.LookupID)
		}
	}
	listed, err := s.List(t.Context(), apikey.ListQuery{Limit: 100})
	must.NoError(t, err, "List")
	must.Equal(t, ids(keys), ids(listed), "List")
	for i, k := range keys {
		assertKey(t, k, listed[i], "List, key %d", i)
	}
}

// testTimesAreReturnedInUTC gives the store times in other zones and expects
// the same instants back in UTC.
func testTimesAreReturnedInUTC(t *testing.T, s apikey.Store) {
	east := time.FixedZone("UTC+05:30", 5*3600+1800)
	west := time.FixedZone("UTC-09:00", -9*3600)

	k := newKey(at(0))
	want := k.Clone()
	// 22:00 in the west is the next day in UTC: a store that drops the zone
	// gets the date wrong too.
	k.CreatedAt = k.CreatedAt.In(west)
	k.UpdatedAt = k.UpdatedAt.In(east)
	k.LastUsedAt = timePtr(at(time.Minute).In(west))
	k.ExpiresAt = timePtr(at(time.Hour).In(east))
	want.LastUsedAt = timePtr(at(time.Minute))
	want.ExpiresAt = timePtr(at(time.Hour))
	create(t, s, k)
	assertStored(t, s, want)

	must.NoError(t, s.SetName(t.Context(), opAt(at(2*time.Hour).In(west)), k.ID, "renamed", nil), "SetName")
	want.Name, want.UpdatedAt = "renamed", at(2*time.Hour)
	must.NoError(t, s.RecordLastUsed(t.Context(), map[uuid.UUID]time.Time{k.ID: at(3 * time.Hour).In(east)}), "RecordLastUsed")
	want.LastUsedAt = timePtr(at(3 * time.Hour))
	assertStored(t, s, want)

	got, err := s.GetByLookupID(t.Context(), k.LookupID)
	must.NoError(t, err, "GetByLookupID")
	assertKey(t, want, got, "GetByLookupID")
	listed, err := s.List(t.Context(), apikey.ListQuery{Limit: 10})
	must.NoError(t, err, "List")
	must.Len(t, listed, 1, "List")
	assertKey(t, want, listed[0], "List")
}

// testCreateDuplicateID checks that a second key with an existing ID is
// refused with ErrDuplicate and leaves nothing behind.
func testCreateDuplicateID(t *testing.T, s apikey.Store) {
	first := newKey(at(0))
	create(t, s, first)

	second := newKey(at(time.Second))
	second.ID = first.ID
	second.Name = "second"
	err := s.Create(t.Context(), creation(second), second, 0)
	must.ErrorIs(t, err, apikey.ErrDuplicate, "Create with an existing ID")

	assertStored(t, s, first)
	_, err = s.GetByLookupID(t.Context(), second.LookupID)
	check.ErrorIs(t, err, apikey.ErrNotFound, "GetByLookupID of the refused key")
	listed, err := s.List(t.Context(), apikey.ListQuery{Limit: 10})
	must.NoError(t, err, "List")
	check.Equal(t, ids([]*apikey.Key{first}), ids(listed), "List after a refused Create")
}

// testCreateDuplicateLookupID checks that a second key with an existing
// lookup ID is refused with ErrDuplicate and leaves nothing behind.
func testCreateDuplicateLookupID(t *testing.T, s apikey.Store) {
	first := newKey(at(0))
	create(t, s, first)

	second := newKey(at(time.Second))
	second.LookupID = first.LookupID
	second.Name = "second"
	err := s.Create(t.Context(), creation(second), second, 0)
	must.ErrorIs(t, err, apikey.ErrDuplicate, "Create with an existing lookup ID")

	assertStored(t, s, first)
	got, err := s.GetByLookupID(t.Context(), first.LookupID)
	if check.NoError(t, err, "GetByLookupID") {
		assertKey(t, first, got, "GetByLookupID of the first key")
	}
	_, err = s.Get(t.Context(), second.ID)
	check.ErrorIs(t, err, apikey.ErrNotFound, "Get of the refused key")
	listed, err := s.List(t.Context(), apikey.ListQuery{Limit: 10})
	must.NoError(t, err, "List")
	check.Equal(t, ids([]*apikey.Key{first}), ids(listed), "List after a refused Create")
}

// testCreateAfterDelete checks that a deleted key's ID and lookup ID no
// longer exist: both may be used again, and the lookup ID then finds the
// new key.
func testCreateAfterDelete(t *testing.T, s apikey.Store) {
	k := newKey(at(0))
	create(t, s, k)
	must.NoError(t, s.Delete(t.Context(), opAt(time.Now()), k.ID, nil), "Delete")
	must.NoError(t, s.Create(t.Context(), creation(k.Clone()), k.Clone(), 0), "Create again with the ID and lookup ID of a deleted key")
	assertStored(t, s, k)

	must.NoError(t, s.Delete(t.Context(), opAt(time.Now()), k.ID, nil), "Delete")
	other := newKey(at(time.Second))
	other.LookupID = k.LookupID
	must.NoError(t, s.Create(t.Context(), creation(other), other, 0), "Create with the lookup ID of a deleted key")
	got, err := s.GetByLookupID(t.Context(), k.LookupID)
	must.NoError(t, err, "GetByLookupID")
	assertKey(t, other, got, "GetByLookupID finds the new key")
	_, err = s.Get(t.Context(), k.ID)
	check.ErrorIs(t, err, apikey.ErrNotFound, "Get of the deleted key")
}

// testNotFound checks that every method given an unknown ID returns
// ErrNotFound, in a store that holds another key which none of them touches.
func testNotFound(t *testing.T, s apikey.Store) {
	k := newKey(at(0))
	k.LastUsedAt = timePtr(at(time.Second))
	create(t, s, k)

	for _, id := range []uuid.UUID{uuid.Must(uuid.NewV7()), uuid.Nil} {
		got, err := s.Get(t.Context(), id)
		check.ErrorIs(t, err, apikey.ErrNotFound, "Get(%s)", id)
		check.Nil(t, got, "Get(%s)", id)
		check.ErrorIs(t, s.Delete(t.Context(), opAt(time.Now()), id, nil), apikey.ErrNotFound, "Delete(%s)", id)
		check.ErrorIs(t, s.SetName(t.Context(), opAt(at(time.Hour)), id, "x", nil), apikey.ErrNotFound, "SetName(%s)", id)
		check.ErrorIs(t, s.SetGroups(t.Context(), opAt(at(time.Hour)), id, []string{"x"}, nil), apikey.ErrNotFound, "SetGroups(%s)", id)
		check.ErrorIs(t, s.SetActive(t.Context(), opAt(at(time.Hour)), id, false, nil), apikey.ErrNotFound, "SetActive(%s)", id)
		check.ErrorIs(t, s.SetHash(t.Context(), id, "$sha256$00"), apikey.ErrNotFound, "SetHash(%s)", id)
	}
	for _, lookupID := range []string{newLookupID(), ""} {
		got, err := s.GetByLookupID(t.Context(), lookupID)
		check.ErrorIs(t, err, apikey.ErrNotFound, "GetByLookupID(%q)", lookupID)
		check.Nil(t, got, "GetByLookupID(%q)", lookupID)
	}
	assertStored(t, s, k)
}

// testLookupIDIsExact checks that GetByLookupID compares byte for byte: base62
// lookup IDs differ by case, and no prefix, padding or pattern finds a key.
func testLookupIDIsExact(t *testing.T, s apikey.Store) {
	k := newKey(at(0))
	k.LookupID = "k" + k.LookupID[1:]
	create(t, s, k)

	for _, near := range []string{
		"K" + k.LookupID[1:],
		strings.ToUpper(k.LookupID),
		strings.ToLower(k.LookupID),
		k.LookupID + " ",
		" " + k.LookupID,
		k.LookupID[:11],
		k.LookupID[:11] + "_",
		k.LookupID[:6] + "%",
		"%",
	} {
		if near == k.LookupID {
			continue // ToUpper or ToLower of an ID that has one case only
		}
		got, err := s.GetByLookupID(t.Context(), near)
		if !check.ErrorIs(t, err, apikey.ErrNotFound, "GetByLookupID(%q) with a key %q stored", near, k.LookupID) && got != nil {
			t.Errorf("GetByLookupID(%q) found key %s", near, got.ID)
		}
	}

	// Lookup IDs that differ only in case are different keys.
	other := newKey(at(time.Second))
	other.LookupID = "K" + k.LookupID[1:]
	must.NoError(t, s.Create(t.Context(), creation(other), other, 0), "Create with a lookup ID that differs from another in case only")
	for _, want := range []*apikey.Key{k, other} {
		got, err := s.GetByLookupID(t.Context(), want.LookupID)
		if check.NoError(t, err, "GetByLookupID(%q)", want.LookupID) {
			check.Equal(t, want.ID.String(), got.ID.String(), "GetByLookupID(%q)", want.LookupID)
		}
	}
}

// mutate changes every mutable part of k, including what its slices and
// pointers refer to, in place.
func mutate(k *apikey.Key) {
	k.Name = "mutated"
	for i := range k.Groups {
		k.Groups[i] = "mutated"
	}
	k.Groups = append(k.Groups, "appended")
	k.Active = !k.Active
	k.Hash = "$mutated$"
	k.CreatedAt = k.CreatedAt.Add(time.Hour)
	k.UpdatedAt = k.UpdatedAt.Add(time.Hour)
	if k.LastUsedAt != nil {
		*k.LastUsedAt = k.LastUsedAt.Add(time.Hour)
	}
	if k.ExpiresAt != nil {
		*k.ExpiresAt = k.ExpiresAt.Add(time.Hour)
	}
	for name := range k.Metadata {
		k.Metadata[name] = "mutated"
	}
	if k.Metadata != nil {
		k.Metadata["added"] = "mutated"
	}
}

// keyWithEverything returns a key whose every optional field is set.
func keyWithEverything(createdAt time.Time) *apikey.Key {
	k := newKey(createdAt)
	k.Groups = []string{"read", "write", "admin"}
	k.LastUsedAt = timePtr(createdAt.Add(time.Minute))
	k.ExpiresAt = timePtr(createdAt.Add(24 * time.Hour))
	return k
}

// testCopiesOnCreate checks that the store keeps no reference to the key
// passed to Create or to the groups passed to SetGroups.
func testCopiesOnCreate(t *testing.T, s apikey.Store) {
	k := keyWithEverything(at(0))
	want := k.Clone()
	create(t, s, k)
	mutate(k)
	assertStored(t, s, want)

	groups := []string{"ops", "billing"}
	must.NoError(t, s.SetGroups(t.Context(), opAt(at(time.Hour)), want.ID, groups, nil), "SetGroups")
	groups[0], groups[1] = "mutated", "mutated"
	want.Groups = []string{"ops", "billing"}
	want.UpdatedAt = at(time.Hour)
	assertStored(t, s, want)
}

// testCopiesOnRead checks that mutating a key returned by Get or List
// changes nothing stored, and that a key returned by GetByLookupID, which
// may be shared, never changes after it was returned.
func testCopiesOnRead(t *testing.T, s apikey.Store) {
	k := keyWithEverything(at(0))
	create(t, s, k.Clone())

	got, err := s.Get(t.Context(), k.ID)
	must.NoError(t, err, "Get")
	mutate(got)
	assertStored(t, s, k)

	// GetByLookupID may return a record it shares (see apikey.Store):
	// callers must not mutate it, but what it returned must never change,
	// whatever is written to the key afterwards.
	got, err = s.GetByLookupID(t.Context(), k.LookupID)
	must.NoError(t, err, "GetByLookupID")
	snapshot := got.Clone()
	must.NoError(t, s.SetHash(t.Context(), k.ID, "$sha256$changed"), "SetHash")
	must.NoError(t, s.RecordLastUsed(t.Context(), map[uuid.UUID]time.Time{k.ID: k.LastUsedAt.Add(time.Hour)}), "RecordLastUsed")
	assertKey(t, snapshot, got, "GetByLookupID after the key was written")
	fresh, err := s.GetByLookupID(t.Context(), k.LookupID)
	must.NoError(t, err, "GetByLookupID")
	check.Equal(t, "$sha256$changed", fresh.Hash, "GetByLookupID after SetHash")
	must.NoError(t, s.SetHash(t.Context(), k.ID, k.Hash), "SetHash")
	k.LastUsedAt = fresh.LastUsedAt

	listed, err := s.List(t.Context(), apikey.ListQuery{Limit: 10})
	must.NoError(t, err, "List")
	must.Len(t, listed, 1, "List")
	mutate(listed[0])
	assertStored(t, s, k)

	// Two reads share nothing either.
	a := get(t, s, k.ID)
	b := get(t, s, k.ID)
	mutate(a)
	assertKey(t, k, b, "second Get after mutating the first")
}

// hostileStrings are names and labels that break naive quoting, LIKE
// patterns, escaping, encodings or fixed-width columns. Each must round-trip
// verbatim.
var hostileStrings = []string{
	`'; DROP TABLE apikeys; --`,
	`Robert'); DELETE FROM apikeys WHERE ('1'='1`,
	`O'Brien's "quoted" key`,
	`100% of the_time`,
	`%`,
	`_`,
	`\`,
	`C:\new\table\x00\n`,
	`back\\slash\'`,
	"tab\there",
	"emoji 🔑👩‍💻🇺🇦",
	"日本語のキー",
	`<script>alert("x")</script>&amp;&lt;`,
	`{"json": [1, 2]}`,
	"  padded with spaces  ",
	"trailing space ",
	"$1 ? :name @p1",
	"ünïcødé NFD: e\u0301",
	strings.Repeat("ü日🔑", 85), // 255 runes, 765 bytes
}

// testHostileNames checks that names and creators are stored verbatim, by Create and by SetName.
func testHostileNames(t *testing.T, s apikey.Store) {
	var keys []*apikey.Key
	for i, h := range hostileStrings {
		k := newKey(at(time.Duration(i) * time.Second))
		k.Name = h
		if utf8.RuneCountInString(h) <= 64 {
			k.CreatedBy = h // a store may size this column for an e-mail address
		}
		create(t, s, k.Clone())
		keys = append(keys, k)
	}
	for _, k := range keys {
		assertStored(t, s, k)
	}
	listed, err := s.List(t.Context(), apikey.ListQuery{Limit: len(keys) + 1})
	must.NoError(t, err, "List")
	must.Equal(t, ids(keys), ids(listed), "List")
	for i, k := range keys {
		check.Equal(t, k.Name, listed[i].Name, "Name in List")
	}

	target := newKey(at(time.Hour))
	create(t, s, target.Clone())
	for i, h := range hostileStrings {
		must.NoError(t, s.SetName(t.Context(), opAt(at(time.Hour+time.Duration(i)*time.Second)), target.ID, h, nil), "SetName(%q)", h)
		check.Equal(t, h, get(t, s, target.ID).Name, "Name after SetName")
	}
}

// hostileGroups are group names that a store matching with LIKE, folding
// case or accents, trimming spaces or joining groups with a separator would
// confuse with one another.
var hostileGroups = []string{
	"a_b", "axb", "a%", "abc", "a", "%", "_",
	`a\b`, `a\_b`, "Admin", "admin", "café", "cafe",
	"x,y", "x", "y", "ops", "ops ", `"quoted"`, "[json]", "🔑",
}

// testHostileGroups checks that groups are stored verbatim and in order, by
// Create and by SetGroups.
func testHostileGroups(t *testing.T, s apikey.Store) {
	k := newKey(at(0))
	k.Groups = append([]string(nil), hostileGroups...)
	create(t, s, k.Clone())
	assertStored(t, s, k)

	reversed := make([]string, len(hostileGroups))
	for i, g := range hostileGroups {
		reversed[len(reversed)-1-i] = g
	}
	must.NoError(t, s.SetGroups(t.Context(), opAt(at(time.Hour)), k.ID, reversed, nil), "SetGroups")
	k.Groups = reversed
	k.UpdatedAt = at(time.Hour)
	assertStored(t, s, k)

	for i, g := range hostileGroups {
		one := newKey(at(time.Duration(i+1) * time.Second))
		one.Groups = []string{g}
		create(t, s, one.Clone())
		assertStored(t, s, one)
	}
}
