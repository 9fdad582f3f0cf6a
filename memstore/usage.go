package memstore

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

var _ apikey.UsageStore = (*Store)(nil)

// usageTable is the usage counts of a Store: per key, the count of each
// hour and outcome, and the IDs of the batches applied. It has its own
// lock, so that a flush of usage never waits for, nor delays, a change of
// keys.
type usageTable struct {
	mu      sync.Mutex
	keys    map[uuid.UUID]*keyUsage
	batches map[uuid.UUID]time.Time // applied batch IDs, by AppliedAt
}

// keyUsage is the usage of one key.
type keyUsage struct {
	owner  string
	counts map[usageCell]int64
}

// usageCell is one hour and outcome of a key's usage.
type usageCell struct {
	hour    int64 // Unix time of the start of the hour
	outcome apikey.UsageOutcome
}

// RecordUsage adds b's rows to the stored counts and records b.ID, or
// does nothing if b.ID was applied before; atomically, under the usage
// lock.
func (s *Store) RecordUsage(_ context.Context, b apikey.UsageBatch) error {
	u := &s.usage
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.batches[b.ID]; ok {
		return nil
	}
	if u.batches == nil {
		u.batches = make(map[uuid.UUID]time.Time)
		u.keys = make(map[uuid.UUID]*keyUsage)
	}
	u.batches[b.ID] = b.AppliedAt.UTC()
	for _, r := range b.Rows {
		k := u.keys[r.KeyID]
		if k == nil {
			k = &keyUsage{owner: r.Owner, counts: make(map[usageCell]int64)}
			u.keys[r.KeyID] = k
		}
		k.counts[usageCell{r.Hour.Unix(), r.Outcome}] += r.Count
	}
	return nil
}

// ReadUsage returns the rows of f's key, or the sums per hour and outcome
// of f's owner.
func (s *Store) ReadUsage(_ context.Context, f apikey.UsageFilter) ([]apikey.UsageRow, error) {
	u := &s.usage
	u.mu.Lock()
	defer u.mu.Unlock()
	from, to := f.From.Unix(), f.To.Unix()
	rows := []apikey.UsageRow{}
	if f.KeyID != uuid.Nil {
		k := u.keys[f.KeyID]
		if k == nil {
			return rows, nil
		}
		for c, n := range k.counts {
			if c.hour >= from && c.hour < to {
				rows = append(rows, apikey.UsageRow{KeyID: f.KeyID, Owner: k.owner, Hour: time.Unix(c.hour, 0).UTC(), Outcome: c.outcome, Count: n})
			}
		}
		return rows, nil
	}
	sums := make(map[usageCell]int64)
	for _, k := range u.keys {
		if k.owner != f.Owner {
			continue
		}
		for c, n := range k.counts {
			if c.hour >= from && c.hour < to {
				sums[c] += n
			}
		}
	}
	for c, n := range sums {
		rows = append(rows, apikey.UsageRow{Owner: f.Owner, Hour: time.Unix(c.hour, 0).UTC(), Outcome: c.outcome, Count: n})
	}
	return rows, nil
}

// BusiestKeys returns f.Owner's most used keys in f's range.
func (s *Store) BusiestKeys(_ context.Context, f apikey.UsageFilter, limit int) ([]apikey.KeyUsage, error) {
	u := &s.usage
	u.mu.Lock()
	from, to := f.From.Unix(), f.To.Unix()
	busiest := []apikey.KeyUsage{}
	for id, k := range u.keys {
		if k.owner != f.Owner {
			continue
		}
		ku := apikey.KeyUsage{KeyID: id}
		for c, n := range k.counts {
			if c.hour < from || c.hour >= to {
				continue
			}
			if c.outcome == apikey.UsageVerified {
				ku.Verified += n
			} else {
				ku.Refused += n
			}
		}
		if ku.Verified != 0 || ku.Refused != 0 {
			busiest = append(busiest, ku)
		}
	}
	u.mu.Unlock()
	slices.SortFunc(busiest, func(a, b apikey.KeyUsage) int {
		if c := cmp.Compare(b.Verified+b.Refused, a.Verified+a.Refused); c != 0 {
			return c
		}
		return bytes.Compare(a.KeyID[:], b.KeyID[:])
	})
	return busiest[:min(len(busiest), max(limit, 1))], nil
}

// PruneUsage deletes at most limit rows of hours before before, and the
// batches applied before before.
func (s *Store) PruneUsage(_ context.Context, before time.Time, limit int) (int, error) {
	u := &s.usage
	u.mu.Lock()
	defer u.mu.Unlock()
	limit = max(limit, 1)
	cut := before.Unix()
	n := 0
	for id, k := range u.keys {
		for c := range k.counts {
			if n == limit {
				break
			}
			if c.hour < cut {
				delete(k.counts, c)
				n++
			}
		}
		if len(k.counts) == 0 {
			delete(u.keys, id)
		}
	}
	for id, at := range u.batches {
		if at.Before(before) {
			delete(u.batches, id)
		}
	}
	return n, nil
}
