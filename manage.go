package apikey

import (
	"context"
	"errors"

	"github.com/google/uuid"
)

// authorizeChange loads the key with the given ID and, if ctx carries an
// actor, refuses a key of another owner with ErrNotFound (as if it did not
// exist) and, with ErrEscalation, a key holding groups the actor does not
// hold. It returns what it authorized, for the Store to check again
// atomically with the change, or nil when there is no actor to check.
func (m *Manager) authorizeChange(ctx context.Context, id uuid.UUID) (*Guard, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	actor, ok := ActorFromContext(ctx)
	if !ok {
		return nil, nil
	}
	k, err := m.store.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, m.storeError("get", err)
	}
	scope := actor.scope()
	if scope != "" && k.Owner != scope {
		return nil, notFound(id)
	}
	if missing := actor.lacks(k.Groups); missing != nil {
		return nil, &EscalationError{Missing: missing}
	}
	g := &Guard{Owner: scope, Groups: k.Groups}
	if g.Groups == nil {
		g.Groups = []string{} // a guard, even on a key without groups
	}
	return g, nil
}

// Rename changes the name of a key. The error wraps ErrInvalidName,
// ErrNotFound, ErrEscalation, ErrConflict or ErrStoreFailure.
func (m *Manager) Rename(ctx context.Context, id uuid.UUID, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	return m.update(ctx, id, "rename", func(c Change, guard *Guard) error {
		return m.store.SetName(ctx, c, id, name, guard)
	})
}

// SetGroups replaces the groups of a key. The error wraps ErrInvalidGroup,
// ErrUnknownGroup, ErrNotFound, ErrEscalation, ErrConflict or
// ErrStoreFailure.
func (m *Manager) SetGroups(ctx context.Context, id uuid.UUID, groups []string) error {
	groups, err := m.checkGroups(ctx, groups)
	if err != nil {
		return err
	}
	return m.update(ctx, id, "set groups", func(c Change, guard *Guard) error {
		return m.store.SetGroups(ctx, c, id, groups, guard)
	})
}

// Activate lets a deactivated key authenticate requests again. The error
// wraps ErrNotFound, ErrEscalation, ErrConflict or ErrStoreFailure.
func (m *Manager) Activate(ctx context.Context, id uuid.UUID) error {
	return m.update(ctx, id, "activate", func(c Change, guard *Guard) error {
		return m.store.SetActive(ctx, c, id, true, guard)
	})
}

// Deactivate stops a key from authenticating requests: once it returns, no
// verification by this Manager that starts later succeeds. Another Manager
// (another instance, the command line) learns it from its Store: with a
// verification cache within its TTL, and without one at its next lookup; a
// verification there that joins a lookup already in flight (see Verify)
// shares what that lookup read, so the lag is at most that lookup's time,
// which the verification deadline bounds. The error wraps ErrNotFound,
// ErrEscalation, ErrConflict or ErrStoreFailure.
func (m *Manager) Deactivate(ctx context.Context, id uuid.UUID) error {
	return m.update(ctx, id, "deactivate", func(c Change, guard *Guard) error {
		return m.store.SetActive(ctx, c, id, false, guard)
	})
}

// Delete removes a key for good. The error wraps ErrNotFound, ErrEscalation,
// ErrConflict or ErrStoreFailure.
func (m *Manager) Delete(ctx context.Context, id uuid.UUID) error {
	return m.update(ctx, id, "delete", func(c Change, guard *Guard) error {
		return m.store.Delete(ctx, c, id, guard)
	})
}

// maxConflictRetries bounds how often update re-authorizes a change whose
// key changed between the check and the write.
const maxConflictRetries = 3

// update authorizes and applies a change to one key, and drops the key from
// the verification cache both before and after the change, so that no
// verification can keep using the old record once update returns. Each
// attempt is one [Change], with one clock read.
//
// With an actor, the Store makes the change only if the key still belongs
// to the actor's owner and holds the groups that were authorized; if another change came in between, the
// change is authorized again against the new groups.
func (m *Manager) update(ctx context.Context, id uuid.UUID, op string, apply func(c Change, guard *Guard) error) error {
	for attempt := 0; ; attempt++ {
		guard, err := m.authorizeChange(ctx, id)
		if err != nil {
			return err
		}
		m.invalidate(id)
		err = apply(m.change(ctx), guard)
		m.invalidate(id)
		if errors.Is(err, ErrConflict) && attempt < maxConflictRetries {
			continue
		}
		if errors.Is(err, ErrNotFound) {
			return notFound(id)
		}
		if err != nil {
			return m.storeError(op, err)
		}
		return nil
	}
}

func (m *Manager) invalidate(id uuid.UUID) {
	if m.cache != nil {
		m.cache.invalidate(id)
	}
	// A lookup in flight may have read the key before the change: no
	// verification that starts from now on may share it.
	m.lookups.forget()
}
