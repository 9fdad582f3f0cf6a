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
//     never returns one it keeps, so callers may mutate what they pass and
//     get, with one exception: GetByLookupID, the verification path, may
//     return a record it shares with other
//     callers (memstore does, so that a verification allocates nothing)
//     provided that the record is immutable: once returned, neither the
//     Store nor anyone else ever changes it, its Groups, its times or its
//     Metadata (a change stores a new record in its place). The Manager
//     never modifies what GetByLookupID returns, and says so to its own
//     callers ([Manager.Verify]).
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
//     64 bytes, Hash 512 bytes, LookupID 64 bytes, Owner 128 bytes,
//     Metadata as JSON 4096 bytes (see [MaxMetadataBytes]).
//   - Optional capabilities are named interfaces found by type assertion:
//     [CountStore] (for [Manager.Count]), [MemoryStore] (verification
//     without a deadline), [LifecycleStore] (roll, expiry, prune) and
//     [EventStore] (the audit trail). A feature that needs one its Store
//     lacks fails with an error wrapping errors.ErrUnsupported.
//   - Changes are explicit: every method that changes a key (Create,
//     Delete, SetName, SetGroups, SetActive, and LifecycleStore's Roll,
//     SetExpiresAt and Prune) takes a [Change], made by the Manager with
//     one clock read: the change's UpdatedAt (and, for Create and Roll,
//     what the Manager set as CreatedAt) is Change.At, and so is the time
//     of its event. A Store reads nothing about a change from the context,
//     which carries cancellation and deadlines only. SetHash and
//     RecordLastUsed are not changes: the key is the same key.
//   - Owners: every key has one (Owner, never empty), set by Create and
//     never changed. Owners compare byte for byte. An owner guard (see
//     [Guard]) makes a key of another owner indistinguishable from a key
//     that does not exist: ErrNotFound, and nothing changed.
type Store interface {
	// Create stores a new key. It returns ErrDuplicate if a key with the
	// same ID or LookupID exists. Deleted keys do not count: a Store deletes
	// for good.
	//
	// If maxPerOwner is above zero, Create stores the key only if its owner
	// holds fewer than maxPerOwner keys, counted atomically with the
	// insert, and otherwise returns ErrQuotaExceeded: of N concurrent
	// creates for an owner at its limit, exactly the allowed number succeed.
	Create(ctx context.Context, c Change, k *Key, maxPerOwner int) error

	// Get returns the key with the given ID, or ErrNotFound.
	Get(ctx context.Context, id uuid.UUID) (*Key, error)

	// GetByLookupID returns the key with the given lookup ID, or
	// ErrNotFound. It is the one store call on the verification path and
	// must be a single indexed lookup. It may return a shared record that
	// nobody changes (see the contract above); its caller never modifies
	// what it returns.
	GetByLookupID(ctx context.Context, lookupID string) (*Key, error)

	// List returns the first min(q.Limit, remaining) keys matching q's
	// Owner, Status, Group and Name filters (the Manager passes it no other
	// filter and no other Sort unless the Store is a [SortedLister]),
	// ordered by CreatedAt then by ID compared as 16 bytes (the
	// order of the lowercase hex strings), starting strictly after q.After.
	// A page shorter than q.Limit is the last. Keys created or
	// deleted while a caller pages through the list never cause a key that
	// exists throughout to be skipped or returned twice.
	List(ctx context.Context, q ListQuery) ([]*Key, error)

	// Delete removes the key with the given ID, or returns ErrNotFound.
	// With a non-nil guard it is conditional (see [Guard]).
	Delete(ctx context.Context, c Change, id uuid.UUID, guard *Guard) error

	// SetName sets the name of a key and its UpdatedAt to c.At, or returns
	// ErrNotFound. With a non-nil guard it is conditional (see [Guard]).
	SetName(ctx context.Context, c Change, id uuid.UUID, name string, guard *Guard) error

	// SetGroups replaces the groups of a key and sets its UpdatedAt to
	// c.At, or returns ErrNotFound. The groups are stored in the order
	// given. With a non-nil guard it is conditional (see [Guard]).
	SetGroups(ctx context.Context, c Change, id uuid.UUID, groups []string, guard *Guard) error

	// SetActive sets the status of a key and its UpdatedAt to c.At, or
	// returns ErrNotFound. With a non-nil guard it is conditional (see
	// [Guard]).
	SetActive(ctx context.Context, c Change, id uuid.UUID, active bool, guard *Guard) error

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

// CountStore is a [Store] that counts keys, for [Manager.Count] (the admin
// tab's total); without it, Manager.Count returns an error wrapping
// errors.ErrUnsupported. memstore and sqlstore implement it.
type CountStore interface {
	Store

	// Count returns how many keys match q's filters, exactly as List
	// selects them (q.After and q.Limit ignored). Its cost may grow with
	// the keys counted.
	Count(ctx context.Context, q ListQuery) (int, error)
}

// MemoryStore is a [Store] that may answer GetByLookupID from memory.
// memstore implements it.
type MemoryStore interface {
	Store

	// InMemory reports true if GetByLookupID never does I/O and never
	// waits for a lock that is held across I/O. The Manager then calls
	// GetByLookupID directly, without the verification deadline's timer or
	// the sharing of concurrent lookups, which serve a Store that can be
	// slow. A Store that returns false is treated as any other Store.
	InMemory() bool
}

// Guard makes a change conditional: Delete, SetName, SetGroups and SetActive
// check it atomically with the change (in the same transaction, under the
// same lock) and change nothing when it fails. The Manager authorizes a
// change for an administrator and passes what it checked here, so that no
// concurrent change can slip between the check and the change.
type Guard struct {
	// Owner, if not empty, restricts the change to a key of this owner: a
	// key of another owner is ErrNotFound, exactly as a missing key.
	Owner string

	// Groups, if not nil, requires the key's groups to be still exactly
	// these (same groups, same order); otherwise the change returns
	// ErrConflict. A concurrent grant of more groups cannot be ridden.
	Groups []string

	// MaxKeys, if above zero, is checked by Roll only: the owner may hold
	// at most MaxKeys keys that still work (active, not expired, not
	// rolled or in their grace period) when the roll begins, counted atomically with it; otherwise
	// Roll returns ErrQuotaExceeded. The Manager sets it to the owner
	// quota (see WithOwnerQuota), so that a roll adds at most the one key
	// in its grace period beyond the quota, and repeated rolls add none.
	MaxKeys int
}

// ListQuery selects a page of keys from a Store.
type ListQuery struct {
	// Owner, if not empty, lists only the keys of this owner (byte for
	// byte). A Store serves it from an index in creation order, so that one
	// owner's page costs the same however many owners there are.
	Owner string

	// Status filters by status; the zero value lists every key.
	Status Status

	// Group, if not empty, lists only keys that hold exactly this group
	// (byte for byte: no case folding, no pattern matching).
	Group string

	// Name, if not empty, lists only keys whose name contains it, with
	// ASCII letters matched regardless of case (A-Z as a-z) and every other
	// character literally: "%" and "_" are no wildcards. Other letters may
	// match regardless of case too where the database's lower() folds them
	// (PostgreSQL, MySQL, memstore; not SQLite).
	Name string

	// Sort is the order of the list; the zero value, SortCreated, is the
	// order of [Store.List], and any other needs a [SortedLister].
	Sort ListSort

	// ExpiringBefore, if not zero, lists only keys whose ExpiresAt is
	// before it; Sort is then SortExpiry. It needs a [SortedLister].
	ExpiringBefore time.Time

	// WorkingAt, if not zero, lists only keys that work at that time (see
	// [Key.Works]): Active, not expired, not past a grace period. It needs
	// a [SortedLister]. The Manager sets it, with Status StatusActive, for
	// the active status filter.
	WorkingAt time.Time

	// Preview, if not empty, lists only keys whose Preview is exactly it
	// (byte for byte). It needs a [SortedLister].
	Preview string

	// After is the position to continue from, in the order Sort; the zero
	// Cursor starts at the first key.
	After Cursor

	// Limit is the maximum number of keys to return; a Store must treat a
	// value below 1 as 1.
	Limit int
}

// Cursor is a position in one order of keys (see [ListSort]): the fields of
// that order of the last key a caller has seen, the others zero. CreatedAt
// and ID in the creation orders, Name and ID in SortName, ExpiresAt and ID
// in SortExpiry. Callers of the Manager never see it: [Page.Next] is an
// opaque string that names its order too, so that an order added later
// brings its own cursor shape without breaking a caller.
type Cursor struct {
	CreatedAt time.Time
	Name      string
	ExpiresAt time.Time
	ID        uuid.UUID
}

// IsZero reports whether c is the zero Cursor, the start of the list.
func (c Cursor) IsZero() bool {
	return c.CreatedAt.IsZero() && c.Name == "" && c.ExpiresAt.IsZero() && c.ID == uuid.Nil
}

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
