package storetest

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/apikit/apikey"
)

var _ apikey.SortedLister = (*refStore)(nil)

// ListSorted is the reference: every key, filtered and sorted as the
// contract says, then the page after the cursor.
func (s *refStore) ListSorted(_ context.Context, q apikey.ListQuery) ([]*apikey.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]*apikey.Key, 0, len(s.keys))
	for _, k := range s.keys {
		keys = append(keys, k.Clone())
	}
	wq := q
	if s.has("working-ignores-grace") && !q.WorkingAt.IsZero() {
		wq.WorkingAt = time.Time{}
		for _, k := range keys {
			k.GraceEndsAt = nil
		}
	}
	if s.has("expiring-before-inclusive") && !q.ExpiringBefore.IsZero() {
		wq.ExpiringBefore = q.ExpiringBefore.Add(1)
	}
	out := wantSorted(keys, wq)
	if s.has("working-ignores-grace") && !q.WorkingAt.IsZero() {
		out = slices.DeleteFunc(out, func(k *apikey.Key) bool { return !k.Works(q.WorkingAt) })
		// Put the real keys back: only the filter was wrong.
		for i, k := range out {
			for _, stored := range s.keys {
				if stored.ID == k.ID {
					out[i] = stored.Clone()
				}
			}
		}
	}
	switch {
	case s.has("desc-as-asc") && q.Sort == apikey.SortCreatedDesc:
		slices.SortFunc(out, func(a, b *apikey.Key) int { return compareInSort(a, b, apikey.SortCreated) })
	case s.has("name-folds-case") && q.Sort == apikey.SortName:
		slices.SortStableFunc(out, func(a, b *apikey.Key) int {
			return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		})
	}
	start := 0
	if !q.After.IsZero() {
		if s.has("sorted-cursor-by-key") {
			start = slices.IndexFunc(out, func(k *apikey.Key) bool { return k.ID == q.After.ID }) + 1
		} else {
			at := &apikey.Key{CreatedAt: q.After.CreatedAt, Name: q.After.Name, ExpiresAt: &q.After.ExpiresAt, ID: q.After.ID}
			for start < len(out) && compareInSort(out[start], at, q.Sort) <= 0 {
				start++
			}
		}
	}
	out = out[start:]
	return out[:min(max(q.Limit, 1), len(out))], nil
}
