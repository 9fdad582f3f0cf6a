package apikey

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// LifecycleStore is a [Store] that can roll keys, change their expiry and
// prune the keys that stopped working: what [Manager.Roll],
// [Manager.SetExpiry] and [Manager.Prune] need. A Manager over a Store
// without these methods returns an error wrapping errors.ErrUnsupported
// from those three, and does everything else as before. memstore and
// sqlstore implement it; the conformance suite (package storetest) checks
// it for every Store that does.
//
// Beyond the contract of Store, a LifecycleStore stores and returns the
// fields RolledFrom, RolledTo, RolledAt and GraceEndsAt of every key,
// including those given to Create, and GetByLookupID returns them: the
// Manager refuses a key past its grace period from them.
type LifecycleStore interface {
	Store

	// Roll gives the key oldID a successor, in one atomic step (one
	// transaction, one lock): it creates successor (whose CreatedAt and
	// UpdatedAt the Manager set to c.At), and sets the old key's RolledTo
	// to successor.ID, its RolledAt and UpdatedAt to c.At and its
	// GraceEndsAt to graceEndsAt. Either all of
	// this happens or nothing does.
	//
	// It returns, changing nothing: ErrNotFound if oldID does not exist or
	// fails the owner of guard; ErrConflict if guard's groups are not the
	// old key's; ErrAlreadyRolled if the old key has a successor already
	// (a key is rolled at most once); ErrInactive if the old key is
	// deactivated; ErrDuplicate if the successor's ID or LookupID is in
	// use. Checks are made in this order. Roll does not check the owner's
	// quota: the successor replaces a key. guard may be nil (no check).
	Roll(ctx context.Context, c Change, oldID uuid.UUID, successor *Key, graceEndsAt time.Time, guard *Guard) error

	// SetExpiresAt sets (or, with nil, removes) the expiry time of a key
	// and sets its UpdatedAt to c.At, or returns ErrNotFound. With a
	// non-nil guard it is conditional (see [Guard]).
	SetExpiresAt(ctx context.Context, c Change, id uuid.UUID, expiresAt *time.Time, guard *Guard) error

	// Prune finds the keys that stopped working before q.EndedBefore (see
	// [PruneQuery]) and, unless q.DryRun, deletes them. It returns the keys
	// it deleted (or, in a dry run, would delete), at most q.Limit of them
	// (a Limit below 1 is 1), ordered by ID as 16 bytes, all with an ID
	// above q.After. A key is deleted only if it is still eligible at the
	// moment it is deleted (its expiry extended in the meantime keeps it),
	// and a key that is not deleted is not returned.
	Prune(ctx context.Context, c Change, q PruneQuery) ([]*Key, error)
}

// PruneQuery selects the keys [LifecycleStore.Prune] deletes.
type PruneQuery struct {
	// Owner, if not empty, limits pruning to this owner's keys (byte for
	// byte).
	Owner string

	// EndedBefore is the cut-off: a key is eligible if its ExpiresAt or
	// its GraceEndsAt is strictly before it.
	EndedBefore time.Time

	// After is the ID to continue after (as 16 bytes); uuid.Nil starts at
	// the first.
	After uuid.UUID

	// Limit is the size of the batch; a Store treats a value below 1 as 1.
	Limit int

	// DryRun finds the keys without deleting them.
	DryRun bool
}
