package apikey

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Store persists keys. The Manager is its only caller in normal use; a Store
// does no validation of names or groups, no hashing and no authorization.
//
// Every implementation must pass the conformance suite in package storetest.
// Its contract, beyond what each method says:
//
//   - Methods are safe for concurrent use.
//   - A Store never keeps a reference to a *Key or slice it was given, and
//     never returns one it keeps: callers may mutate what they pass and get.
//   - Times are stored and returned in UTC with at least microsecond
//     precision. The Manager truncates every time it writes to microseconds.
//   - Every update is one atomic change of one field: a concurrent rename
//     never undoes a concurrent deactivation.
//   - Errors other than the sentinels named below (connection failures,
//     context cancellation) are returned wrapped, never swallowed: the
//     Manager fails closed on them. A method that returns an error returns
//     a nil *Key with it.
//   - Lookup IDs, group names and IDs compare byte for byte: no case
//     folding, no trimming of trailing spaces, no pattern matching.
//   - An update that leaves a value as it was still succeeds; only a
//     missing key is ErrNotFound.
//   - Lengths a Store must hold: Name and CreatedBy 255 characters of
//     UTF-8 (up to 1020 bytes), each group 128 bytes and 64 groups, Preview
//     64 bytes, Hash 512 bytes, LookupID 64 bytes.
type Store interface {
	// Create stores a new key. It returns ErrDuplicate if a key with the
	// same ID or LookupID exists. Deleted keys do not count: a Store deletes
	// for good.
	Create(ctx context.Context, k *Key) error

	// Get returns the key with the given ID, or ErrNotFound.
	Get(ctx context.Context, id uuid.UUID) (*Key, error)

	// GetByLookupID returns the key with the given lookup ID, or
	// ErrNotFound. It is the one store call on the verification path and
	// must be a single indexed lookup.
	GetByLookupID(ctx context.Context, lookupID string) (*Key, error)

	// List returns the first min(q.Limit, remaining) keys matching q's
	// filters, ordered by CreatedAt then by ID compared as 16 bytes (the
	// order of the lowercase hex strings), starting strictly after q.After.
	// A page shorter than q.Limit is the last. Keys created or
	// deleted while a caller pages through the list never cause a key that
	// exists throughout to be skipped or returned twice.
	List(ctx context.Context, q ListQuery) ([]*Key, error)

	// Delete removes the key with the given ID, or returns ErrNotFound.
	// With a non-nil ifGroups it is conditional (see below).
	Delete(ctx context.Context, id uuid.UUID, ifGroups []string) error

	// SetName sets the name and UpdatedAt of a key, or returns ErrNotFound.
	// With a non-nil ifGroups it is conditional (see below).
	SetName(ctx context.Context, id uuid.UUID, name string, at time.Time, ifGroups []string) error

	// SetGroups replaces the groups and sets UpdatedAt of a key, or returns
	// ErrNotFound. The groups are stored in the order given. With a non-nil
	// ifGroups it is conditional (see below).
	SetGroups(ctx context.Context, id uuid.UUID, groups []string, at time.Time, ifGroups []string) error

	// SetActive sets the status and UpdatedAt of a key, or returns
	// ErrNotFound. With a non-nil ifGroups it is conditional (see below).
	SetActive(ctx context.Context, id uuid.UUID, active bool, at time.Time, ifGroups []string) error

	// Conditional changes: when ifGroups is not nil, Delete, SetName,
	// SetGroups and SetActive change the key only if its groups are still
	// exactly ifGroups (same groups, same order), checked atomically with
	// the change, and otherwise change nothing and return ErrConflict. The
	// Manager authorizes a change against the key's groups and passes them
	// here, so that a concurrent grant of more groups cannot slip between
	// the check and the change.

	// SetHash replaces the stored hash of a key (the Manager re-hashes a key
	// with its current Hasher after a successful verification), or returns
	// ErrNotFound. UpdatedAt is left alone: the key did not change.
	SetHash(ctx context.Context, id uuid.UUID, hash string) error

	// RecordLastUsed sets LastUsedAt of each key in uses to the given time,
	// unless the stored time is already later: last-used times never move
	// backwards. It does not change UpdatedAt. IDs of keys that no longer
	// exist are ignored.
	RecordLastUsed(ctx context.Context, uses map[uuid.UUID]time.Time) error
}

// ListQuery selects a page of keys from a Store.
type ListQuery struct {
	// Status filters by status; the zero value lists every key.
	Status Status

	// Group, if not empty, lists only keys that hold exactly this group
	// (byte for byte: no case folding, no pattern matching).
	Group string

	// After is the position to continue from; the zero Cursor starts at the
	// first key.
	After Cursor

	// Limit is the maximum number of keys to return; a Store must treat a
	// value below 1 as 1.
	Limit int
}

// Cursor is a position in the creation order of keys: the CreatedAt and ID
// of the last key a caller has seen.
type Cursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

// IsZero reports whether c is the zero Cursor, the start of the list.
func (c Cursor) IsZero() bool { return c.CreatedAt.IsZero() && c.ID == uuid.Nil }

// Status is a filter on a key's Active flag.
type Status int

// Status values. The zero value, StatusAny, does not filter.
const (
	StatusAny Status = iota
	StatusActive
	StatusInactive
)

// String returns "any", "active" or "inactive".
func (s Status) String() string {
	switch s {
	case StatusActive:
		return "active"
	case StatusInactive:
		return "inactive"
	default:
		return "any"
	}
}

// Matches reports whether a key with the given Active flag passes the filter.
func (s Status) Matches(active bool) bool {
	switch s {
	case StatusActive:
		return active
	case StatusInactive:
		return !active
	default:
		return true
	}
}
