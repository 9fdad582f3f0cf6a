// Package memstore is an in-memory [apikey.Store].
//
// It suits tests, examples and single-process services whose keys may be
// lost on restart. Lookups by ID and by lookup ID are map lookups; the
// verification path ([Store.GetByLookupID]) takes a read lock and allocates
// nothing: it returns the stored record itself, which is immutable (see
// [Store]).
//
// The context passed to each method is ignored: no call blocks on anything
// but the store's own lock, which is held only briefly.
package memstore

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// Store is an in-memory [apikey.Store]. The zero value is not usable: create
// one with [New]. A Store is safe for concurrent use.
//
// It keeps its own copies of the keys it is given. Get, List and Prune hand
// out copies, which callers may mutate. GetByLookupID, the verification
// path, returns the stored record itself, shared by every caller, as the
// Store contract allows: a stored record is immutable. Every change builds
// a new record and puts it in the place of the old one (copy on write), so
// a record once returned never changes, and holders of it never see a
// change, nor race with one.
type Store struct {
	mu         sync.RWMutex
	byID       map[uuid.UUID]*apikey.Key
	byLookupID map[string]*apikey.Key
	// lists holds the keys sorted by (CreatedAt, ID), the order of List,
	// once per combination of List's owner, group and status filters (see
	// indexKey). New keys are usually the latest, so insertion is usually
	// an append. A list is held by pointer, so that adding a key to it
	// hashes its indexKey once.
	lists map[indexKey]*[]*apikey.Key

	// events is the audit trail (see events.go).
	events eventLog

	// credits holds the credit balances (see limits.go), under its own
	// lock so that spending never waits for s.mu.
	credits credits

	// usage holds the usage counts, under a lock of its own (see
	// usage.go).
	usage usageTable
}

var (
	_ apikey.Store       = (*Store)(nil)
	_ apikey.CountStore  = (*Store)(nil)
	_ apikey.MemoryStore = (*Store)(nil)
)

// New returns an empty Store.
func New() *Store {
	return &Store{
		byID:       make(map[uuid.UUID]*apikey.Key),
		byLookupID: make(map[string]*apikey.Key),
		lists:      make(map[indexKey]*[]*apikey.Key),
		credits:    credits{balances: make(map[apikey.CreditAccount]*apikey.CreditBalance)},
	}
}

// InMemory reports true: the Store answers every call from memory, so the
// Manager calls it without a verification deadline (see [apikey.MemoryStore]).
func (s *Store) InMemory() bool { return true }

// Create stores a copy of k, with its times converted to UTC. It returns
// [apikey.ErrDuplicate] if a key with the same ID or LookupID exists.
func (s *Store) Create(_ context.Context, ch apikey.Change, k *apikey.Key, maxPerOwner int) error {
	if k == nil {
		return fmt.Errorf("memstore: create: nil key")
	}
	c := utcCopy(k)

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byID[c.ID]; ok {
		return fmt.Errorf("memstore: create key %s: %w", c.ID, apikey.ErrDuplicate)
	}
	if _, ok := s.byLookupID[c.LookupID]; ok {
		return fmt.Errorf("memstore: create key %s: lookup ID in use: %w", c.ID, apikey.ErrDuplicate)
	}
	if maxPerOwner > 0 && len(s.keysOf(indexKey{owner: c.Owner})) >= maxPerOwner {
		return fmt.Errorf("memstore: create key %s: %w", c.ID, apikey.ErrQuotaExceeded)
	}
	s.byID[c.ID] = c
	s.byLookupID[c.LookupID] = c
	s.index(c)
	s.recordIssued(ch, c)
	return nil
}

// insertOrdered inserts k into keys at its place in creation order.
func insertOrdered(keys []*apikey.Key, k *apikey.Key) []*apikey.Key {
	c := apikey.Cursor{CreatedAt: k.CreatedAt, ID: k.ID}
	if n := len(keys); n == 0 || compareToCursor(keys[n-1], c) < 0 {
		return append(keys, k) // the usual case: the newest key
	}
	i, _ := position(keys, c)
	return slices.Insert(keys, i, k)
}

// removeOrdered removes k from keys, which hold it in creation order.
func removeOrdered(keys []*apikey.Key, k *apikey.Key) []*apikey.Key {
	if i, found := position(keys, apikey.Cursor{CreatedAt: k.CreatedAt, ID: k.ID}); found {
		keys[i] = nil // let the collector have it before the slice shrinks
		keys = slices.Delete(keys, i, i+1)
	}
	return keys
}

// Get returns a copy of the key with the given ID, or [apikey.ErrNotFound].
func (s *Store) Get(_ context.Context, id uuid.UUID) (*apikey.Key, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.byID[id]
	if !ok {
		return nil, notFound(id)
	}
	return k.Clone(), nil
}

// GetByLookupID returns the key with the given lookup ID, compared byte for
// byte, or [apikey.ErrNotFound] itself, unwrapped. It returns the stored
// record, shared and immutable (see [apikey.Store]), not a copy: the
// verification path allocates nothing, hit or miss. Callers must not modify
// it; Clone it to get a copy of their own.
func (s *Store) GetByLookupID(_ context.Context, lookupID string) (*apikey.Key, error) {
	s.mu.RLock()
	k, ok := s.byLookupID[lookupID]
	s.mu.RUnlock()
	if !ok {
		return nil, apikey.ErrNotFound
	}
	return k, nil
}

// List returns copies of at most q.Limit keys matching q's filters, ordered
// by CreatedAt then ID (compared as bytes), starting strictly after q.After.
// A Limit below 1 is treated as 1.
//
// The cursor is a position, not a key: it stays valid when the key it was
// taken from is deleted.
func (s *Store) List(_ context.Context, q apikey.ListQuery) ([]*apikey.Key, error) {
	limit := max(q.Limit, 1)

	s.mu.RLock()
	defer s.mu.RUnlock()
	name := strings.ToLower(q.Name)
	ordered := s.list(q)
	start := 0
	if !q.After.IsZero() {
		i, found := position(ordered, q.After)
		if found {
			i++
		}
		start = i
	}
	var out []*apikey.Key
	for _, k := range ordered[start:] {
		if name != "" && !strings.Contains(strings.ToLower(k.Name), name) {
			continue
		}
		if out == nil {
			out = make([]*apikey.Key, 0, min(limit, len(ordered)-start))
		}
		out = append(out, k.Clone())
		if len(out) == limit {
			break
		}
	}
	if out == nil {
		out = []*apikey.Key{}
	}
	return out, nil
}

// Count returns how many keys match q's filters (After and Limit ignored):
// the length of one list, or, with a name search, the names compared in it.
func (s *Store) Count(_ context.Context, q apikey.ListQuery) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if q.Sort != apikey.SortCreated || !q.ExpiringBefore.IsZero() || !q.WorkingAt.IsZero() || q.Preview != "" {
		q.After = apikey.Cursor{}
		n := 0
		s.each(q, 0, func(*apikey.Key) bool { n++; return true })
		return n, nil
	}
	keys := s.list(q)
	if q.Name == "" {
		return len(keys), nil
	}
	name, n := strings.ToLower(q.Name), 0
	for _, k := range keys {
		if strings.Contains(strings.ToLower(k.Name), name) {
			n++
		}
	}
	return n, nil
}

// Delete removes the key with the given ID, or returns [apikey.ErrNotFound];
// with a non-nil guard, only if the key passes it (see [apikey.Guard]).
func (s *Store) Delete(_ context.Context, ch apikey.Change, id uuid.UUID, guard *apikey.Guard) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.guarded(id, guard)
	if err != nil {
		return err
	}
	delete(s.byID, id)
	delete(s.byLookupID, k.LookupID)
	s.unindex(k)
	e := apikey.NewEvent(ch, apikey.EventDeleted, k)
	e.Old = apikey.RemovedValues(k)
	s.record(e)
	return nil
}

// SetName sets the name of a key and its UpdatedAt to ch.At, or returns
// [apikey.ErrNotFound] (or [apikey.ErrConflict], see Delete).
func (s *Store) SetName(_ context.Context, ch apikey.Change, id uuid.UUID, name string, guard *apikey.Guard) error {
	return s.update(id, guard, func(k *apikey.Key) {
		e := apikey.NewEvent(ch, apikey.EventRenamed, k)
		e.Old.Name, e.New.Name = k.Name, name
		s.record(e)
		k.Name = name
		k.UpdatedAt = ch.At.UTC()
	})
}

// SetGroups stores a copy of groups, in the order given, and sets UpdatedAt
// of a key, or returns [apikey.ErrNotFound] (or [apikey.ErrConflict], see
// Delete).
func (s *Store) SetGroups(_ context.Context, ch apikey.Change, id uuid.UUID, groups []string, guard *apikey.Guard) error {
	groups = slices.Clone(groups) // copied before the lock is taken
	return s.update(id, guard, func(k *apikey.Key) {
		e := apikey.NewEvent(ch, apikey.EventGroupsChanged, k)
		e.Old.Groups, e.New.Groups = slices.Clone(k.Groups), slices.Clone(groups)
		s.record(e)
		s.unindex(k)
		k.Groups = groups
		k.UpdatedAt = ch.At.UTC()
		s.index(k)
	})
}

// SetActive sets the status and UpdatedAt of a key, or returns
// [apikey.ErrNotFound] (or [apikey.ErrConflict], see Delete).
func (s *Store) SetActive(_ context.Context, ch apikey.Change, id uuid.UUID, active bool, guard *apikey.Guard) error {
	kind := apikey.EventDeactivated
	if active {
		kind = apikey.EventActivated
	}
	return s.update(id, guard, func(k *apikey.Key) {
		s.record(apikey.NewEvent(ch, kind, k))
		if k.Active != active {
			s.unindex(k)
			k.Active = active
			s.index(k)
		}
		k.UpdatedAt = ch.At.UTC()
	})
}

// SetHash replaces the stored hash of a key, leaving UpdatedAt alone, or
// returns [apikey.ErrNotFound].
func (s *Store) SetHash(_ context.Context, id uuid.UUID, hash string) error {
	return s.update(id, nil, func(k *apikey.Key) {
		k.Hash = hash
	})
}

// RecordLastUsed sets LastUsedAt of each key in uses to the given time,
// unless the stored time is already later. IDs of keys that do not exist are
// ignored.
func (s *Store) RecordLastUsed(_ context.Context, uses map[uuid.UUID]time.Time) error {
	if len(uses) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, at := range uses {
		k, ok := s.byID[id]
		if !ok || k.LastUsedAt != nil && !at.After(*k.LastUsedAt) {
			continue
		}
		// A new record: the old one may be held by a verification.
		c := k.Clone()
		t := at.UTC()
		c.LastUsedAt = &t
		s.replace(c)
	}
	return nil
}

// update applies change to a copy of the stored key with the given ID
// under the write lock, and puts the copy in its place: a stored record is
// never changed in place, since GetByLookupID hands it out (copy on write).
// Each update touches only its own fields: a rename cannot undo a
// concurrent deactivation. change may unindex and index the copy it is
// given: lists find a record by its creation time and ID, which never
// change.
func (s *Store) update(id uuid.UUID, guard *apikey.Guard, change func(*apikey.Key)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, err := s.guarded(id, guard)
	if err != nil {
		return err
	}
	c := k.Clone()
	change(c)
	s.replace(c)
	return nil
}

// replace puts c, a changed copy of a stored record, in the place of that
// record in the maps and in every list c belongs to. The caller holds s.mu for
// writing, and has already moved c to other lists if its owner, groups or
// status changed.
func (s *Store) replace(c *apikey.Key) {
	s.byID[c.ID] = c
	s.byLookupID[c.LookupID] = c
	at := apikey.Cursor{CreatedAt: c.CreatedAt, ID: c.ID}
	for ik := range indexKeys(c) {
		if keys := s.keysOf(ik); keys != nil {
			if i, found := position(keys, at); found {
				keys[i] = c
			}
		}
	}
}

// guarded returns the stored key with the given ID if it exists and passes
// guard: ErrNotFound for a key of another owner, ErrConflict for groups that
// changed. The caller holds s.mu for writing, so the check and the change
// it guards are one atomic step.
func (s *Store) guarded(id uuid.UUID, guard *apikey.Guard) (*apikey.Key, error) {
	k, ok := s.byID[id]
	if !ok {
		return nil, notFound(id)
	}
	if guard == nil {
		return k, nil
	}
	if guard.Owner != "" && k.Owner != guard.Owner {
		return nil, notFound(id)
	}
	if guard.Groups != nil && !slices.Equal(k.Groups, guard.Groups) {
		return nil, fmt.Errorf("memstore: key %s: %w", id, apikey.ErrConflict)
	}
	return k, nil
}

// position returns the index in keys (in creation order) of the first key
// at or after c, and whether the key there is exactly at c. The caller
// holds s.mu.
func position(keys []*apikey.Key, c apikey.Cursor) (int, bool) {
	return slices.BinarySearchFunc(keys, c, compareToCursor)
}

// compareToCursor orders a key against a position in the order of List.
func compareToCursor(k *apikey.Key, c apikey.Cursor) int {
	if n := k.CreatedAt.Compare(c.CreatedAt); n != 0 {
		return n
	}
	return bytes.Compare(k.ID[:], c.ID[:])
}

func notFound(id uuid.UUID) error {
	return fmt.Errorf("memstore: key %s: %w", id, apikey.ErrNotFound)
}
