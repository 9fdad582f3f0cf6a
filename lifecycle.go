package apikey

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
)

// RollRequest describes a roll (see [Manager.Roll]).
type RollRequest struct {
	// Grace is how long the old key keeps working after the roll: zero
	// stops it at once (a leaked key), and it never works past its own
	// expiry. It may not be negative.
	Grace time.Duration

	// ExpiresAt, if not zero, is the successor's expiry time, within the
	// owner's expiry policy. Zero gives the successor the old key's expiry
	// time (never a later one, and never none for a key that had one), or,
	// for an old key without one, the policy's default lifetime.
	ExpiresAt time.Time

	// CreatedBy names the administrator rolling the key, recorded as the
	// successor's CreatedBy. It is ignored when the context carries an
	// Actor, whose name is recorded instead; otherwise it is required.
	CreatedBy string
}

// lifecycle returns the Store as a LifecycleStore, or an error wrapping
// errors.ErrUnsupported.
func (m *Manager) lifecycle(op string) (LifecycleStore, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	ls, ok := m.store.(LifecycleStore)
	if !ok {
		return nil, fmt.Errorf("apikey: %s: the Store (%T) is not a LifecycleStore: %w", op, m.store, errors.ErrUnsupported)
	}
	return ls, nil
}

// Roll replaces a key with a successor and returns the successor's record
// and its plaintext, once, as Issue does. The successor has the old key's
// owner, name, groups, metadata and limits, and its expiry (see
// [RollRequest.ExpiresAt]); the two are linked by RolledFrom and RolledTo.
// A key's own credit balance and rate counters stay the old key's: the
// successor starts with fresh counters and no balance of its own.
// The old key keeps working for req.Grace, then is refused as expired
// (ErrExpired); a grace of zero stops it at once. Requests authenticated by
// it in the meantime carry Deprecation and Sunset headers (see
// [Authenticator]).
//
// Rolling is one atomic Store call: on any error the old key is as it was
// and no successor exists. It is a change of the old key, with the rules of
// every change: an actor may roll only their owner's keys (another owner's
// is ErrNotFound), and only keys whose groups they all hold
// (ErrEscalation). The successor gets exactly the groups the old key held
// when the roll was authorized: a concurrent change of them makes the
// Store refuse the roll, which is then authorized again.
//
// A key is rolled at most once: rolling a key that has a successor
// (in its grace period or after) is refused with ErrAlreadyRolled; roll
// the successor, or deactivate the old key to end its grace at once.
// Rolling a deactivated key is refused with ErrInactive.
//
// The error wraps ErrNotFound, ErrEscalation, ErrAlreadyRolled,
// ErrInactive, ErrInvalidExpiry, ErrExpiryPolicy, ErrInvalidName (for
// CreatedBy), ErrConflict, ErrStoreFailure, or errors.ErrUnsupported for a
// Store that is not a [LifecycleStore].
func (m *Manager) Roll(ctx context.Context, id uuid.UUID, req RollRequest) (*Key, string, error) {
	ls, err := m.lifecycle("roll")
	if err != nil {
		return nil, "", err
	}
	if req.Grace < 0 {
		return nil, "", &ValidationError{Field: "Grace", Reason: "must not be negative", Err: ErrInvalidExpiry}
	}
	createdBy := req.CreatedBy
	if actor, ok := ActorFromContext(ctx); ok {
		createdBy = actor.Name
	}
	if err := ValidateName(createdBy); err != nil {
		var v *ValidationError
		if errors.As(err, &v) {
			v.Field = "CreatedBy"
		}
		return nil, "", err
	}
	for attempt := 0; ; attempt++ {
		old, guard, err := m.authorizeRoll(ctx, id)
		if err != nil {
			return nil, "", err
		}
		change := m.change(ctx)
		now := change.At
		expiresAt, err := m.resolveExpiry(expiryRequest{
			owner: old.Owner, requested: req.ExpiresAt, inherited: old.ExpiresAt,
			useDefault: true, createdAt: now, now: now,
		})
		if err != nil {
			return nil, "", err
		}
		successor, plaintext, err := m.newSecret()
		if err != nil {
			return nil, "", err
		}
		successor.Owner = old.Owner
		successor.Name = old.Name
		successor.Groups = slices.Clone(guard.Groups)
		successor.Active = true
		successor.CreatedAt, successor.UpdatedAt = now, now
		successor.CreatedBy = createdBy
		successor.ExpiresAt = expiresAt
		successor.Metadata = maps.Clone(old.Metadata)
		successor.Limits = old.Limits.Clone() // a roll is no way to shed a limit
		successor.RolledFrom = old.ID

		m.invalidate(id)
		err = ls.Roll(ctx, change, id, successor, now.Add(req.Grace), guard)
		m.invalidate(id)
		if (errors.Is(err, ErrConflict) || errors.Is(err, ErrDuplicate)) && attempt < maxConflictRetries {
			continue
		}
		if errors.Is(err, ErrNotFound) {
			return nil, "", notFound(id)
		}
		if errors.Is(err, ErrInactive) || errors.Is(err, ErrAlreadyRolled) || errors.Is(err, ErrQuotaExceeded) {
			return nil, "", fmt.Errorf("apikey: roll key %s: %w", id, err)
		}
		if err != nil {
			return nil, "", m.storeError("roll", err)
		}
		m.misses.forget(successor.LookupID)
		if req.ExpiresAt.IsZero() {
			// The successor inherited the expiry read when the roll was
			// authorized. If another administrator shortened the old
			// key's lifetime since, the successor must not outlive it:
			// shorten it too, before anyone has its plaintext.
			if err := m.keepInheritedExpiry(ctx, ls, id, successor); err != nil {
				return nil, "", err
			}
		}
		return successor, plaintext, nil
	}
}

// keepInheritedExpiry gives a successor that inherited its expiry the old
// key's current one if that is earlier. If that fails, the successor is
// deleted: nobody has its plaintext yet, and a key that outlives the one it
// replaces must not remain.
func (m *Manager) keepInheritedExpiry(ctx context.Context, ls LifecycleStore, oldID uuid.UUID, successor *Key) error {
	old, err := m.store.Get(ctx, oldID)
	if err == nil && (old.ExpiresAt == nil || successor.ExpiresAt != nil && !successor.ExpiresAt.After(*old.ExpiresAt)) {
		return nil
	}
	if err == nil {
		if err = ls.SetExpiresAt(ctx, m.change(ctx), successor.ID, old.ExpiresAt, nil); err == nil {
			successor.ExpiresAt = old.ExpiresAt
			m.invalidate(successor.ID)
			return nil
		}
	}
	_ = m.store.Delete(context.WithoutCancel(ctx), m.change(ctx), successor.ID, nil)
	m.invalidate(successor.ID)
	return m.storeError("roll", err)
}

// authorizeRoll loads the key to roll and checks, as authorizeChange does,
// that the actor in ctx may change it. The guard it returns always names
// the key's groups, actor or not: they are what the successor gets, and
// the Store refuses the roll if they changed in the meantime.
func (m *Manager) authorizeRoll(ctx context.Context, id uuid.UUID) (*Key, *Guard, error) {
	k, err := m.store.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, notFound(id)
	}
	if err != nil {
		return nil, nil, m.storeError("get", err)
	}
	guard := &Guard{Groups: k.Groups, MaxKeys: m.ownerQuota}
	if actor, ok := ActorFromContext(ctx); ok {
		guard.Owner = actor.scope()
		if guard.Owner != "" && k.Owner != guard.Owner {
			return nil, nil, notFound(id)
		}
		if missing := actor.lacks(k.Groups); missing != nil {
			return nil, nil, &EscalationError{Missing: missing}
		}
	}
	if guard.Groups == nil {
		guard.Groups = []string{}
	}
	switch {
	case k.Rolled():
		return nil, nil, fmt.Errorf("apikey: roll key %s: %w", id, ErrAlreadyRolled)
	case !k.Active:
		return nil, nil, fmt.Errorf("apikey: roll key %s: %w", id, ErrInactive)
	case k.Expired(m.now()):
		// A successor would revive a key its lifetime has ended, past the
		// maximum lifetime of the expiry policy: issue a new key instead.
		return nil, nil, fmt.Errorf("apikey: roll key %s: %w", id, ErrExpired)
	}
	return k, guard, nil
}

// newSecret returns a key record with a new ID, lookup ID, preview and
// hash, and its plaintext; the caller fills in the rest.
func (m *Manager) newSecret() (*Key, string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, "", fmt.Errorf("apikey: new ID: %w", err)
	}
	plaintext, lookupID := generateKey(m.prefix, m.secretChars)
	hash, err := m.hasher.Hash(plaintext)
	if err != nil {
		return nil, "", fmt.Errorf("apikey: hash: %w", err)
	}
	return &Key{ID: id, Preview: preview(plaintext, len(m.prefix)), LookupID: lookupID, Hash: hash}, plaintext, nil
}

// SetExpiry sets the expiry time of a key, or removes it with the zero
// time. The time is validated as [IssueRequest.ExpiresAt] is, and must keep
// the key within its owner's expiry policy, counted from the key's
// creation (see [ExpiryPolicy]); removing the expiry under a maximum
// lifetime is refused. The change follows the rules of every change
// (owner, escalation). The error wraps ErrInvalidExpiry, ErrExpiryPolicy,
// ErrNotFound, ErrEscalation, ErrConflict, ErrStoreFailure, or
// errors.ErrUnsupported for a Store that is not a [LifecycleStore].
func (m *Manager) SetExpiry(ctx context.Context, id uuid.UUID, expiresAt time.Time) error {
	ls, err := m.lifecycle("set expiry")
	if err != nil {
		return err
	}
	k, err := m.Get(ctx, id)
	if err != nil {
		return err
	}
	now := m.now()
	t, err := m.resolveExpiry(expiryRequest{owner: k.Owner, requested: expiresAt, createdAt: k.CreatedAt, now: now})
	if err != nil {
		return err
	}
	return m.update(ctx, id, "set expiry", func(c Change, guard *Guard) error {
		return ls.SetExpiresAt(ctx, c, id, t, guard)
	})
}

// Default and maximum batch sizes of [Manager.Prune].
const (
	DefaultPruneBatch = 100
	MaxPruneBatch     = 1000
)

// PruneOptions selects the keys [Manager.Prune] deletes.
type PruneOptions struct {
	// OlderThan is how long a key must have stopped working (expired, or
	// past its grace period) to be deleted; zero deletes every key that
	// has stopped. It may not be negative.
	OlderThan time.Duration

	// Owner, if not empty, prunes only this owner's keys. An actor
	// limited to one owner prunes only that owner's keys whatever Owner
	// says (another owner's prune deletes nothing).
	Owner string

	// DryRun returns the keys that would be deleted, deleting none.
	DryRun bool

	// BatchSize is the number of keys deleted by one Store call (one
	// transaction): DefaultPruneBatch if zero, at most MaxPruneBatch.
	BatchSize int
}

// Prune deletes the keys that have stopped working (expired, or past their
// grace period after a roll) for longer than opts.OlderThan, in batches,
// and returns them, ordered by ID; with opts.DryRun it returns them and
// deletes none. A key whose expiry is extended while Prune runs is kept.
// Prune checks no groups: the keys it deletes authenticate nothing any
// more. Trusted code (no actor) or an operator prunes every owner's keys
// unless opts.Owner says otherwise.
//
// If an error stops Prune midway, the batches already deleted stay
// deleted; it returns them with the error, which wraps ErrStoreFailure
// (or errors.ErrUnsupported for a Store that is not a [LifecycleStore]).
func (m *Manager) Prune(ctx context.Context, opts PruneOptions) ([]*Key, error) {
	ls, err := m.lifecycle("prune")
	if err != nil {
		return nil, err
	}
	batch := opts.BatchSize
	switch {
	case batch == 0:
		batch = DefaultPruneBatch
	case batch < 0 || batch > MaxPruneBatch:
		return nil, fmt.Errorf("apikey: prune batch size must be 1 to %d", MaxPruneBatch)
	}
	if opts.OlderThan < 0 {
		return nil, fmt.Errorf("apikey: prune: negative age %v", opts.OlderThan)
	}
	owner := opts.Owner
	if owner != "" {
		if err := ValidateOwner(owner); err != nil {
			return nil, err
		}
	}
	if scope := ownerScope(ctx); scope != "" {
		if owner != "" && owner != scope {
			return []*Key{}, nil
		}
		owner = scope
	}
	change := m.change(ctx)
	now := change.At
	q := PruneQuery{Owner: owner, EndedBefore: now.Add(-opts.OlderThan), Limit: batch, DryRun: opts.DryRun}
	out := []*Key{}
	for {
		keys, err := ls.Prune(ctx, change, q)
		if !opts.DryRun {
			for _, k := range keys {
				m.invalidate(k.ID)
			}
		}
		out = append(out, keys...)
		if err != nil {
			return out, m.storeError("prune", err)
		}
		if len(keys) < batch {
			slices.SortFunc(out, func(a, b *Key) int { return bytes.Compare(a.ID[:], b.ID[:]) })
			return out, nil
		}
		q.After = keys[len(keys)-1].ID
	}
}
