package storetest

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

var _ apikey.LifecycleStore = (*refStore)(nil)

func (s *refStore) Roll(ctx context.Context, c apikey.Change, oldID uuid.UUID, successor *apikey.Key, graceEndsAt time.Time, guard *apikey.Guard) error {
	switch {
	case s.has("roll-guard-ignored"):
		guard = nil
	case s.has("roll-owner-ignored") && guard != nil:
		guard = &apikey.Guard{Groups: guard.Groups}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.locate(oldID, guard)
	if err != nil {
		return err
	}
	old := s.keys[i]
	if old.RolledTo != uuid.Nil && !s.has("roll-twice") {
		return fmt.Errorf("ref: %w", apikey.ErrAlreadyRolled)
	}
	if !old.Active && !s.has("roll-inactive") {
		return fmt.Errorf("ref: %w", apikey.ErrInactive)
	}
	if guard != nil && guard.MaxKeys > 0 && !s.has("roll-quota-ignored") {
		now := s.utc(successor.CreatedAt)
		working := 0
		for _, k := range s.keys {
			if k.Owner == old.Owner && k.Active && !k.Expired(now) &&
				(k.RolledTo == uuid.Nil || k.GraceEndsAt != nil && k.GraceEndsAt.After(now)) {
				working++
			}
		}
		if working > guard.MaxKeys {
			return fmt.Errorf("ref: %w", apikey.ErrQuotaExceeded)
		}
	}
	if s.has("roll-guard-then-change") {
		// The checks above under one lock, the change under another: a
		// concurrent change slips in between (a millisecond: the window
		// stays open under a loaded machine too).
		s.mu.Unlock()
		runtime.Gosched()
		time.Sleep(time.Millisecond)
		s.mu.Lock()
		if i = s.find(oldID); i < 0 {
			return s.notFound()
		}
		old = s.keys[i]
	}
	mark := func() {
		rolledAt := s.utc(successor.CreatedAt)
		grace := s.utc(graceEndsAt)
		if !s.has("roll-no-link") {
			old.RolledTo = successor.ID
		}
		old.RolledAt = &rolledAt
		if !s.has("roll-grace-ignored") {
			old.GraceEndsAt = &grace
		}
		old.UpdatedAt = rolledAt
	}
	if s.has("roll-partial") {
		mark() // before the successor is known to be insertable
	}
	if s.find(successor.ID) >= 0 || s.findLookup(successor.LookupID) != nil {
		return fmt.Errorf("ref: %w", apikey.ErrDuplicate)
	}
	if !s.has("roll-partial") {
		mark()
	}
	s.keys = append(s.keys, s.copyIn(successor))
	e := apikey.NewEvent(c, apikey.EventRolled, old)
	grace := graceEndsAt.UTC()
	e.New.Successor, e.New.GraceEndsAt = successor.ID, &grace
	s.record(ctx, e)
	s.recordIssued(ctx, c, successor)
	return nil
}

func (s *refStore) SetExpiresAt(ctx context.Context, c apikey.Change, id uuid.UUID, expiresAt *time.Time, guard *apikey.Guard) error {
	if s.has("setexpires-guard-ignored") {
		guard = nil
	}
	event := func(k *apikey.Key) apikey.Event {
		e := apikey.NewEvent(c, apikey.EventExpiryChanged, k)
		e.Old.ExpiresAt, e.New.ExpiresAt = copyTime(k.ExpiresAt), copyTime(expiresAt)
		return e
	}
	return s.update(ctx, id, guard, event, func(k *apikey.Key) bool {
		switch {
		case expiresAt != nil:
			t := s.utc(*expiresAt)
			k.ExpiresAt = &t
		case !s.has("setexpires-cannot-clear"):
			k.ExpiresAt = nil
		}
		if !s.has("setexpires-no-updatedat") {
			k.UpdatedAt = s.utc(c.At)
		}
		return true
	})
}

func (s *refStore) Prune(ctx context.Context, c apikey.Change, q apikey.PruneQuery) ([]*apikey.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ended := func(t *time.Time) bool {
		if t == nil {
			return false
		}
		if s.has("prune-inclusive") {
			return !t.After(q.EndedBefore)
		}
		return t.Before(q.EndedBefore)
	}
	var found []*apikey.Key
	for _, k := range s.keys {
		if q.Owner != "" && k.Owner != q.Owner && !s.has("prune-owner-ignored") {
			continue
		}
		if bytes.Compare(k.ID[:], q.After[:]) <= 0 && !s.has("prune-after-ignored") {
			continue
		}
		if ended(k.ExpiresAt) || (ended(k.GraceEndsAt) && !s.has("prune-ignores-grace")) {
			found = append(found, k)
		}
	}
	slices.SortFunc(found, func(a, b *apikey.Key) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	if limit := max(q.Limit, 1); len(found) > limit && !s.has("prune-limit-ignored") {
		found = found[:limit]
	}
	out := make([]*apikey.Key, len(found))
	for i, k := range found {
		out[i] = s.copyOut(k)
		if !q.DryRun || s.has("prune-dry-run-deletes") {
			j := s.find(k.ID)
			s.recordRemoved(ctx, c, apikey.EventPruned, s.keys[j])
			s.ghosts = append(s.ghosts, s.keys[j])
			s.keys = slices.Delete(s.keys, j, j+1)
		}
	}
	return out, nil
}
