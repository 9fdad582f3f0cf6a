package memstore

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

var _ apikey.LifecycleStore = (*Store)(nil)

// Roll creates successor and marks the key oldID as rolled to it, under
// one write lock: the checks (guard, not rolled yet, active, successor's ID
// and lookup ID free) and both changes are one atomic step. See
// [apikey.LifecycleStore] for the errors.
func (s *Store) Roll(_ context.Context, ch apikey.Change, oldID uuid.UUID, successor *apikey.Key, graceEndsAt time.Time, guard *apikey.Guard) error {
	if successor == nil {
		return fmt.Errorf("memstore: roll: nil successor")
	}
	c := utcCopy(successor)
	rolledAt := ch.At.UTC()
	graceEndsAt = graceEndsAt.UTC()

	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.guarded(oldID, guard)
	if err != nil {
		return err
	}
	switch {
	case old.RolledTo != uuid.Nil:
		return fmt.Errorf("memstore: roll key %s: %w", oldID, apikey.ErrAlreadyRolled)
	case !old.Active:
		return fmt.Errorf("memstore: roll key %s: %w", oldID, apikey.ErrInactive)
	}
	if guard != nil && guard.MaxKeys > 0 {
		working := 0
		for _, k := range s.keysOf(indexKey{owner: old.Owner}) {
			if k.Active && !k.Expired(rolledAt) && (k.RolledTo == uuid.Nil || k.GraceEndsAt != nil && k.GraceEndsAt.After(rolledAt)) {
				working++
			}
		}
		if working > guard.MaxKeys {
			return fmt.Errorf("memstore: roll key %s: %w", oldID, apikey.ErrQuotaExceeded)
		}
	}
	if _, ok := s.byID[c.ID]; ok {
		return fmt.Errorf("memstore: roll key %s: successor %s: %w", oldID, c.ID, apikey.ErrDuplicate)
	}
	if _, ok := s.byLookupID[c.LookupID]; ok {
		return fmt.Errorf("memstore: roll key %s: successor's lookup ID in use: %w", oldID, apikey.ErrDuplicate)
	}
	s.byID[c.ID] = c
	s.byLookupID[c.LookupID] = c
	s.index(c)
	// The old key keeps its owner, groups and status: it stays in the
	// same lists. It is replaced by a changed copy, never changed in place
	// (see update).
	rolled := old.Clone()
	rolled.RolledTo = c.ID
	rolled.RolledAt = &rolledAt
	rolled.GraceEndsAt = &graceEndsAt
	rolled.UpdatedAt = rolledAt
	s.replace(rolled)
	old = rolled
	e := apikey.NewEvent(ch, apikey.EventRolled, old)
	e.New.Successor, e.New.GraceEndsAt = c.ID, &graceEndsAt
	s.record(e)
	s.recordIssued(ch, c)
	return nil
}

// SetExpiresAt sets (nil: removes) the expiry time and sets UpdatedAt of a
// key, or returns [apikey.ErrNotFound] (or [apikey.ErrConflict], see
// Delete).
func (s *Store) SetExpiresAt(_ context.Context, ch apikey.Change, id uuid.UUID, expiresAt *time.Time, guard *apikey.Guard) error {
	var t *time.Time
	if expiresAt != nil {
		u := expiresAt.UTC()
		t = &u
	}
	return s.update(id, guard, func(k *apikey.Key) {
		e := apikey.NewEvent(ch, apikey.EventExpiryChanged, k)
		e.Old.ExpiresAt, e.New.ExpiresAt = cloneTime(k.ExpiresAt), cloneTime(t)
		s.record(e)
		k.ExpiresAt = t
		k.UpdatedAt = ch.At.UTC()
	})
}

// Prune deletes, under one write lock, at most q.Limit keys that stopped
// working before q.EndedBefore, with an ID above q.After, in the order of
// their IDs, and returns copies of them; with q.DryRun it deletes nothing.
// It scans every key (or every key of q.Owner): pruning is an occasional
// maintenance task, not a request path.
func (s *Store) Prune(_ context.Context, ch apikey.Change, q apikey.PruneQuery) ([]*apikey.Key, error) {
	limit := max(q.Limit, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []*apikey.Key
	for _, k := range s.keysOf(indexKey{owner: q.Owner}) {
		if bytes.Compare(k.ID[:], q.After[:]) > 0 && endedBefore(k, q.EndedBefore) {
			found = append(found, k)
		}
	}
	slices.SortFunc(found, func(a, b *apikey.Key) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	found = found[:min(limit, len(found))]
	out := make([]*apikey.Key, len(found))
	for i, k := range found {
		out[i] = k.Clone()
		if !q.DryRun {
			delete(s.byID, k.ID)
			delete(s.byLookupID, k.LookupID)
			s.unindex(k)
			e := apikey.NewEvent(ch, apikey.EventPruned, k)
			e.Old = apikey.RemovedValues(k)
			s.record(e)
		}
	}
	return out, nil
}

// endedBefore reports whether k stopped working (expired, or its grace
// ended) strictly before t.
func endedBefore(k *apikey.Key, t time.Time) bool {
	return k.ExpiresAt != nil && k.ExpiresAt.Before(t) || k.GraceEndsAt != nil && k.GraceEndsAt.Before(t)
}

// utcCopy returns a copy of k with its times in UTC.
func utcCopy(k *apikey.Key) *apikey.Key {
	c := k.Clone()
	c.CreatedAt = c.CreatedAt.UTC()
	c.UpdatedAt = c.UpdatedAt.UTC()
	for _, t := range []*time.Time{c.LastUsedAt, c.ExpiresAt, c.RolledAt, c.GraceEndsAt} {
		if t != nil {
			*t = t.UTC()
		}
	}
	return c
}
