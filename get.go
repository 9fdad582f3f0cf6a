package apikey

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// Get returns the key with the given ID. A key of another owner than the
// acting administrator's is ErrNotFound, as a missing key. The error wraps
// ErrNotFound or ErrStoreFailure.
func (m *Manager) Get(ctx context.Context, id uuid.UUID) (*Key, error) {
	k, err := m.store.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, m.storeError("get", err)
	}
	if scope := ownerScope(ctx); scope != "" && k.Owner != scope {
		return nil, notFound(id)
	}
	return k, nil
}

// notFound is the one error of every operation on a key that does not
// exist for the caller, whether no key has the ID or it is another owner's:
// not even its text tells them apart.
func notFound(id uuid.UUID) error {
	return fmt.Errorf("apikey: key %s: %w", id, ErrNotFound)
}

// ownerScope returns the owner whose keys the actor in ctx may see, or ""
// for every owner (no actor: trusted code; or an actor with AllOwners).
func ownerScope(ctx context.Context) string {
	if actor, ok := ActorFromContext(ctx); ok {
		return actor.scope()
	}
	return ""
}
