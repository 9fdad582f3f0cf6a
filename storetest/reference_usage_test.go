package storetest

import (
	"bytes"
	"cmp"
	"context"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

var _ apikey.UsageStore = (*refStore)(nil)

// refUsage is the usage of refStore: its rows and applied batch IDs,
// under refStore.mu.
type refUsage struct {
	rows    []apikey.UsageRow
	batches map[uuid.UUID]time.Time
}

func (s *refStore) RecordUsage(_ context.Context, b apikey.UsageBatch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &s.usage
	if _, ok := u.batches[b.ID]; ok && !s.has("usage-batch-twice") {
		return nil
	}
	if u.batches == nil {
		u.batches = make(map[uuid.UUID]time.Time)
	}
	u.batches[b.ID] = b.AppliedAt
	for _, r := range b.Rows {
		i := slices.IndexFunc(u.rows, func(x apikey.UsageRow) bool {
			return x.KeyID == r.KeyID && x.Hour.Equal(r.Hour) && x.Outcome == r.Outcome
		})
		if i < 0 {
			r.Hour = r.Hour.UTC()
			u.rows = append(u.rows, r)
			continue
		}
		switch {
		case s.has("usage-overwrites"):
			u.rows[i].Count = r.Count
		case s.has("usage-stale-add"):
			// Read, then write after letting others run: the lost update.
			n := u.rows[i].Count
			s.mu.Unlock()
			runtime.Gosched()
			time.Sleep(time.Millisecond)
			s.mu.Lock()
			u.rows[i].Count = n + r.Count
		default:
			u.rows[i].Count += r.Count
		}
	}
	return nil
}

func (s *refStore) inUsageRange(r apikey.UsageRow, f apikey.UsageFilter) bool {
	if s.has("usage-to-inclusive") {
		return !r.Hour.Before(f.From) && !r.Hour.After(f.To)
	}
	return !r.Hour.Before(f.From) && r.Hour.Before(f.To)
}

func (s *refStore) usageOwnerMatches(r apikey.UsageRow, owner string) bool {
	if s.has("usage-owner-prefix") {
		return strings.HasPrefix(r.Owner, owner)
	}
	return r.Owner == owner
}

func (s *refStore) ReadUsage(_ context.Context, f apikey.UsageFilter) ([]apikey.UsageRow, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []apikey.UsageRow{}
	for _, r := range s.usage.rows {
		if !s.inUsageRange(r, f) {
			continue
		}
		if f.KeyID != uuid.Nil {
			if r.KeyID == f.KeyID {
				out = append(out, r)
			}
			continue
		}
		if !s.usageOwnerMatches(r, f.Owner) {
			continue
		}
		i := slices.IndexFunc(out, func(x apikey.UsageRow) bool { return x.Hour.Equal(r.Hour) && x.Outcome == r.Outcome })
		if i < 0 {
			out = append(out, apikey.UsageRow{Owner: f.Owner, Hour: r.Hour, Outcome: r.Outcome, Count: r.Count})
		} else {
			out[i].Count += r.Count
		}
	}
	return out, nil
}

func (s *refStore) BusiestKeys(_ context.Context, f apikey.UsageFilter, limit int) ([]apikey.KeyUsage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []apikey.KeyUsage{}
	for _, r := range s.usage.rows {
		if !s.inUsageRange(r, f) || !s.usageOwnerMatches(r, f.Owner) {
			continue
		}
		i := slices.IndexFunc(out, func(k apikey.KeyUsage) bool { return k.KeyID == r.KeyID })
		if i < 0 {
			out = append(out, apikey.KeyUsage{KeyID: r.KeyID})
			i = len(out) - 1
		}
		if r.Outcome == apikey.UsageVerified {
			out[i].Verified += r.Count
		} else {
			out[i].Refused += r.Count
		}
	}
	slices.SortFunc(out, func(a, b apikey.KeyUsage) int {
		if s.has("busiest-by-verified") {
			if c := cmp.Compare(b.Verified, a.Verified); c != 0 {
				return c
			}
		} else if c := cmp.Compare(b.Verified+b.Refused, a.Verified+a.Refused); c != 0 {
			return c
		}
		return bytes.Compare(a.KeyID[:], b.KeyID[:])
	})
	if !s.has("busiest-limit-ignored") {
		out = out[:min(len(out), max(limit, 1))]
	}
	return out, nil
}

func (s *refStore) PruneUsage(_ context.Context, before time.Time, limit int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	limit = max(limit, 1)
	n := 0
	s.usage.rows = slices.DeleteFunc(s.usage.rows, func(r apikey.UsageRow) bool {
		old := r.Hour.Before(before)
		if s.has("prune-usage-inclusive") {
			old = !r.Hour.After(before)
		}
		if old && n < limit {
			n++
			return true
		}
		return false
	})
	if !s.has("prune-usage-keeps-batches") {
		for id, at := range s.usage.batches {
			if at.Before(before) {
				delete(s.usage.batches, id)
			}
		}
	}
	return n, nil
}
