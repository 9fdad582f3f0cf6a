package storetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// baseTime is the creation time the suite's keys are spread around: UTC,
// microsecond precision, with a non-zero fraction so that a store which
// drops it is caught.
var baseTime = time.Date(2024, time.February, 29, 12, 34, 56, 789012000, time.UTC)

// at returns baseTime moved by d, which must be a whole number of
// microseconds for the time to round-trip through every store.
func at(d time.Duration) time.Time { return baseTime.Add(d) }

// timePtr returns a pointer to a copy of t.
func timePtr(t time.Time) *time.Time { return &t }

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newLookupID returns 12 random base62 characters, unique in practice.
func newLookupID() string {
	out := make([]byte, 0, 12)
	var buf [16]byte
	for len(out) < cap(out) {
		_, _ = rand.Read(buf[:]) // never fails: it crashes the program instead
		for _, b := range buf {
			if b < 248 && len(out) < cap(out) { // 248 = 4*62: no modulo bias
				out = append(out, base62[b%62])
			}
		}
	}
	return string(out)
}

// newKey returns a valid-looking active key of owner "org-1" created at
// createdAt, with a fresh UUID v7, a unique lookup ID, two groups, metadata
// and no LastUsedAt or ExpiresAt. It is safe to call from any goroutine.
func newKey(createdAt time.Time) *apikey.Key {
	lookupID := newLookupID()
	var secret [32]byte
	_, _ = rand.Read(secret[:])
	return &apikey.Key{
		ID:        uuid.Must(uuid.NewV7()),
		Owner:     "org-1",
		Name:      "key " + lookupID[:6],
		Groups:    []string{"read", "write"},
		Active:    true,
		Preview:   "acme_test_" + lookupID[:4] + "…" + hex.EncodeToString(secret[:2]),
		LookupID:  lookupID,
		Hash:      "$sha256$" + hex.EncodeToString(secret[:]),
		CreatedAt: createdAt,
		CreatedBy: "admin@example.com",
		UpdatedAt: createdAt,
		Metadata:  map[string]string{"plan": "pro", "note": `héllo "quoted" <b>&amp;</b> \ ✓`},
	}
}

// ifGroups returns a guard on exactly these groups; nil stands for a key
// without groups, which is still a guard.
func ifGroups(groups []string) *apikey.Guard {
	if groups == nil {
		groups = []string{}
	}
	return &apikey.Guard{Groups: groups}
}

// create stores k, failing the test at once if the store refuses it.
func create(t *testing.T, s apikey.Store, k *apikey.Key) {
	t.Helper()
	if err := s.Create(t.Context(), creation(k), k, 0); err != nil {
		t.Fatalf("Create(%s): %v", k.ID, err)
	}
}

// createKeys creates one key per creation time, in the order given, and
// returns them in that order.
func createKeys(t *testing.T, s apikey.Store, createdAt ...time.Time) []*apikey.Key {
	t.Helper()
	keys := make([]*apikey.Key, len(createdAt))
	for i, c := range createdAt {
		keys[i] = newKey(c)
		create(t, s, keys[i])
	}
	return keys
}

// get returns the stored key with the given ID, failing the test at once if
// there is none.
func get(t *testing.T, s apikey.Store, id uuid.UUID) *apikey.Key {
	t.Helper()
	k, err := s.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	if k == nil {
		t.Fatalf("Get(%s) returned a nil key and no error", id)
	}
	return k
}

// assertStored checks that the store holds want, field by field.
func assertStored(t *testing.T, s apikey.Store, want *apikey.Key) bool {
	t.Helper()
	got, err := s.Get(t.Context(), want.ID)
	if !check.NoError(t, err, "Get(%s)", want.ID) {
		return false
	}
	return assertKey(t, want, got, "Get(%s)", want.ID)
}

// assertKey checks every field of got against want. Times must be equal
// instants and in UTC. The message says where got came from.
func assertKey(t *testing.T, want, got *apikey.Key, format string, args ...any) bool {
	t.Helper()
	where := fmt.Sprintf(format, args...)
	if !check.NotNil(t, got, where) {
		return false
	}
	ok := check.Equal(t, want.ID.String(), got.ID.String(), "ID, "+where)
	ok = check.Equal(t, want.Owner, got.Owner, "Owner, "+where) && ok
	ok = check.Equal(t, want.Name, got.Name, "Name, "+where) && ok
	ok = check.Equal(t, want.Groups, got.Groups, "Groups, "+where) && ok
	ok = check.Equal(t, want.Active, got.Active, "Active, "+where) && ok
	ok = check.Equal(t, want.Preview, got.Preview, "Preview, "+where) && ok
	ok = check.Equal(t, want.LookupID, got.LookupID, "LookupID, "+where) && ok
	ok = check.Equal(t, want.Hash, got.Hash, "Hash, "+where) && ok
	ok = assertTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt, %s", where) && ok
	ok = check.Equal(t, want.CreatedBy, got.CreatedBy, "CreatedBy, "+where) && ok
	if len(want.Metadata) > 0 || len(got.Metadata) > 0 { // nil and empty are the same
		ok = check.Equal(t, want.Metadata, got.Metadata, "Metadata, "+where) && ok
	}
	ok = assertTime(t, want.UpdatedAt, got.UpdatedAt, "UpdatedAt, %s", where) && ok
	ok = assertTimePtr(t, want.LastUsedAt, got.LastUsedAt, "LastUsedAt, %s", where) && ok
	ok = assertTimePtr(t, want.ExpiresAt, got.ExpiresAt, "ExpiresAt, %s", where) && ok
	ok = check.Equal(t, want.RolledFrom.String(), got.RolledFrom.String(), "RolledFrom, "+where) && ok
	ok = check.Equal(t, want.RolledTo.String(), got.RolledTo.String(), "RolledTo, "+where) && ok
	ok = assertTimePtr(t, want.RolledAt, got.RolledAt, "RolledAt, %s", where) && ok
	ok = assertTimePtr(t, want.GraceEndsAt, got.GraceEndsAt, "GraceEndsAt, %s", where) && ok
	return ok
}

// assertTime checks that got is the instant want, in UTC.
func assertTime(t *testing.T, want, got time.Time, format string, args ...any) bool {
	t.Helper()
	where := fmt.Sprintf(format, args...)
	ok := check.Equal(t, time.UTC, got.Location(), "location of %s, %s", got, where)
	return check.True(t, want.Equal(got), "want %s, got %s: %s",
		want.Format(time.RFC3339Nano), got.Format(time.RFC3339Nano), where) && ok
}

// assertTimePtr checks that want and got are both nil, or both the same
// instant in UTC.
func assertTimePtr(t *testing.T, want, got *time.Time, format string, args ...any) bool {
	t.Helper()
	where := fmt.Sprintf(format, args...)
	switch {
	case want == nil:
		return check.Nil(t, got, where)
	case got == nil:
		return check.Fail(t, "got nil, want "+want.Format(time.RFC3339Nano), where)
	default:
		return assertTime(t, *want, *got, "%s", where)
	}
}

// ids returns the IDs of keys as strings, which print readably.
func ids(keys []*apikey.Key) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.ID.String()
	}
	return out
}

// inListOrder returns a copy of keys sorted the way List orders them: by
// CreatedAt, then by the bytes of the ID.
func inListOrder(keys []*apikey.Key) []*apikey.Key {
	sorted := slices.Clone(keys)
	slices.SortFunc(sorted, func(a, b *apikey.Key) int { return compareKeyToCursor(a, cursorOf(b)) })
	return sorted
}

// compareKeyToCursor orders a key against a cursor position as List does:
// by CreatedAt, then by the bytes of the ID.
func compareKeyToCursor(k *apikey.Key, c apikey.Cursor) int {
	if n := k.CreatedAt.Compare(c.CreatedAt); n != 0 {
		return n
	}
	return bytes.Compare(k.ID[:], c.ID[:])
}

// cursorOf returns the position just after k.
func cursorOf(k *apikey.Key) apikey.Cursor {
	return apikey.Cursor{CreatedAt: k.CreatedAt, ID: k.ID}
}

// listAll pages through every key matching q (whose After and Limit it
// sets) with pages of limit keys, and returns the keys in the order listed.
// It fails the test if a page is larger than limit, if a page shorter than
// limit is not the last one (a caller stops there), or if the listing does
// not end after total keys.
func listAll(t *testing.T, s apikey.Store, q apikey.ListQuery, limit, total int) []*apikey.Key {
	t.Helper()
	var all []*apikey.Key
	q.After = apikey.Cursor{}
	q.Limit = limit
	for pages := 0; ; pages++ {
		if pages > total+1 {
			t.Fatalf("List with limit %d went on for %d pages with %d keys: the cursor is not followed", limit, pages, total)
		}
		keys, err := s.List(t.Context(), q)
		if err != nil {
			t.Fatalf("List(%+v): %v", q, err)
		}
		if len(keys) > limit {
			t.Fatalf("List with limit %d returned %d keys", limit, len(keys))
		}
		all = append(all, keys...)
		if len(keys) < limit {
			if len(keys) > 0 {
				q.After = cursorOf(keys[len(keys)-1])
				rest, err := s.List(t.Context(), q)
				if check.NoError(t, err, "List after a short page") {
					check.Empty(t, ids(rest), "keys after a page of %d with limit %d: a short page must be the last", len(keys), limit)
				}
			}
			return all
		}
		q.After = cursorOf(keys[len(keys)-1])
	}
}
