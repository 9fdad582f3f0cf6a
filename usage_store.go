package apikey

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// UsageOutcome is what became of one use of a key, as usage metering
// counts it (see [Manager.Usage]): verified, or one of the refusals a key
// can be blamed for. Uses of malformed, unknown or forged keys are not
// metered: no key can be blamed for them ([Stats.Invalid] counts them).
type UsageOutcome string

// The outcomes of a use. Their text is what a [UsageStore] stores.
const (
	// UsageVerified is a use that was let through: Verify accepted the
	// key and no later check (a scope, a limit) refused it.
	UsageVerified UsageOutcome = "verified"

	// UsageInactive is a use of a deactivated key.
	UsageInactive UsageOutcome = "inactive"

	// UsageExpired is a use of an expired key.
	UsageExpired UsageOutcome = "expired"

	// UsageMissingScope is a use of a verified key that a scope check of
	// the middleware ([Authenticator.RequireAll], [Authenticator.RequireAny])
	// refused: the key lacked a group.
	UsageMissingScope UsageOutcome = "missing_scope"

	// UsageRateLimited is a use of a verified key refused by a rate limit.
	UsageRateLimited UsageOutcome = "rate_limited"

	// UsageCreditsExhausted is a use of a verified key refused because its
	// credits were spent.
	UsageCreditsExhausted UsageOutcome = "credits_exhausted"
)

// usageOutcomes lists the outcomes in the order of their index in the
// recorder (see outcomeIndex).
var usageOutcomes = [numOutcomes]UsageOutcome{
	UsageVerified, UsageInactive, UsageExpired, UsageMissingScope, UsageRateLimited, UsageCreditsExhausted,
}

// numOutcomes is the number of outcomes.
const numOutcomes = 6

// Indexes of the outcomes in the recorder's counts.
const (
	outcomeVerified = iota
	outcomeInactive
	outcomeExpired
	outcomeMissingScope
	outcomeRateLimited
	outcomeCreditsExhausted
)

// UsageRow is the count of one key's uses of one outcome in one hour: the
// unit a [UsageStore] adds up and stores.
type UsageRow struct {
	KeyID uuid.UUID

	// Owner is the key's owner, stored with the row for the owner's
	// totals (they outlive the key).
	Owner string

	// Hour is the start of the hour (UTC) the uses fell in.
	Hour time.Time

	Outcome UsageOutcome

	// Count is the number of uses to add. It may be negative in a batch:
	// a use that Verify counted as verified and a later check refused
	// moves from UsageVerified to the refusal, and if the flush fell in
	// between, the move reaches the Store as -1 verified in a later
	// batch. A stored count, the sum of every batch, is never negative.
	Count int64
}

// UsageBatch is the usage counts one flush writes: at most one row per key,
// hour and outcome.
type UsageBatch struct {
	// ID identifies the batch: a batch whose write is retried (the Store
	// committed it but its reply was lost) carries the same ID, and a
	// Store applies a batch ID at most once.
	ID uuid.UUID

	// AppliedAt is when the Manager writes the batch, for the Store's
	// record of applied batches (pruned by PruneUsage).
	AppliedAt time.Time

	// Rows are the counts to add, sorted by key ID (as 16 bytes), hour and
	// outcome, so that concurrent batches lock rows in one order.
	Rows []UsageRow
}

// UsageFilter selects the usage rows of one key, or of one owner, in a
// range of hours.
type UsageFilter struct {
	// KeyID, if not uuid.Nil, selects this key's rows (Owner is then
	// ignored); otherwise Owner selects the owner's.
	KeyID uuid.UUID
	Owner string

	// From and To bound the hours: From <= Hour < To.
	From, To time.Time
}

// KeyUsage is one key's uses over a range of hours (see [Manager.Usage]).
type KeyUsage struct {
	KeyID uuid.UUID `json:"key_id"`

	// Verified counts the uses let through; Refused the others (every
	// outcome but UsageVerified).
	Verified int64 `json:"verified"`
	Refused  int64 `json:"refused"`
}

// UsageStore is a [Store] that keeps usage counts: the optional capability
// behind usage metering. A Manager whose Store is a UsageStore counts the
// uses of keys in memory and adds them with every last-used flush; with
// any other Store, metering is off and [Manager.Usage] returns an error
// wrapping errors.ErrUnsupported. memstore and sqlstore are UsageStores.
//
// Its contract, beyond what each method says:
//
//   - A stored row is identified by key ID, hour and outcome (byte for
//     byte), and holds the sum of the counts of every batch applied with
//     it, with the owner of its first row.
//   - Concurrent RecordUsage calls, from any number of Managers, add up:
//     no count is ever lost or counted twice.
//   - Usage rows are independent of keys: they stay after the key is
//     deleted, until PruneUsage removes them.
type UsageStore interface {
	Store

	// RecordUsage adds the counts of b's rows to the stored rows (a row
	// that does not exist yet is created with the count), and records
	// b.ID as applied, in one atomic step: either all of it or nothing. If
	// b.ID was applied before, it changes nothing and returns nil: a batch
	// retried after its reply was lost is never added twice.
	RecordUsage(ctx context.Context, b UsageBatch) error

	// ReadUsage returns the rows f selects: for a key, its rows (owner
	// included); for an owner, one row per hour and outcome holding the
	// sum over the owner's keys, with KeyID uuid.Nil. Rows with a count of
	// zero may be left out; the order is any.
	ReadUsage(ctx context.Context, f UsageFilter) ([]UsageRow, error)

	// BusiestKeys returns at most limit keys (a limit below 1 is 1) of
	// f.Owner with uses in f's range, the most used first (by the sum of
	// every outcome), ties by key ID as 16 bytes. f.KeyID is ignored.
	BusiestKeys(ctx context.Context, f UsageFilter, limit int) ([]KeyUsage, error)

	// PruneUsage deletes at most limit rows (a limit below 1 is 1) whose
	// hour is strictly before before, and the record of every batch
	// applied strictly before before, and returns how many rows it
	// deleted.
	PruneUsage(ctx context.Context, before time.Time, limit int) (int, error)
}
