package memstore_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/apikit/apikey/storetest"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) apikey.Store { return memstore.New() })
}

// The conformance suite allows a store to return 0 or 1 key for a limit
// below 1; memstore promises 1.
func TestListLimitBelowOneIsOne(t *testing.T) {
	s := memstore.New()
	for i := range 3 {
		k := benchKey(i)
		require.NoError(t, s.Create(t.Context(), creation(k), k, 0))
	}
	for _, limit := range []int{0, -1} {
		keys, err := s.List(t.Context(), apikey.ListQuery{Limit: limit})
		require.NoError(t, err)
		assert.Len(t, keys, 1, "limit %d", limit)
	}
}

func TestGetByLookupIDAllocatesNothing(t *testing.T) {
	s := memstore.New()
	k := benchKey(0)
	require.NoError(t, s.Create(t.Context(), creation(k), k, 0))
	ctx := t.Context()
	hit := testing.AllocsPerRun(100, func() { _, _ = s.GetByLookupID(ctx, k.LookupID) })
	assert.Equal(t, 0.0, hit, "allocations of a hit")
	miss := testing.AllocsPerRun(100, func() { _, _ = s.GetByLookupID(ctx, "nosuchlookup") })
	assert.Equal(t, 0.0, miss, "allocations of a miss")
}

// benchKey returns a key shaped like one the Manager issues: two groups, a
// 12-character lookup ID and a hash, created i seconds after a fixed time.
func benchKey(i int) *apikey.Key {
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	return &apikey.Key{
		ID:        uuid.Must(uuid.NewV7()),
		Name:      "benchmark key",
		Groups:    []string{"read", "write"},
		Active:    true,
		Preview:   "acme_live_abcd…wxyz",
		LookupID:  fmt.Sprintf("L%011d", i),
		Hash:      "$sha256$0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		CreatedAt: created,
		CreatedBy: "bench",
		UpdatedAt: created,
	}
}

// benchSizes are the store sizes of the lookup benchmarks: one that fits in
// the CPU cache, showing the cost of the code, and the million keys of the
// performance goal, where cache misses and the collector's marking of a
// large heap dominate.
var benchSizes = []int{1_000, 1_000_000}

// benchLookupIDs fills s (if not nil) and m (if not nil) with n keys and
// returns their lookup IDs in a scrambled order, so that lookups miss the
// CPU cache as they would in a service. The order is fixed, the same for a
// store and its baseline.
func benchLookupIDs(b *testing.B, n int, s *memstore.Store, m map[string]*apikey.Key) []string {
	b.Helper()
	lookupIDs := make([]string, n)
	for i := range n {
		k := benchKey(i)
		lookupIDs[i] = k.LookupID
		if s != nil {
			if err := s.Create(b.Context(), creation(k), k, 0); err != nil {
				b.Fatal(err)
			}
		}
		if m != nil {
			m[k.LookupID] = k
		}
	}
	for i := n - 1; i > 0; i-- {
		j := (i * 7919) % (i + 1)
		lookupIDs[i], lookupIDs[j] = lookupIDs[j], lookupIDs[i]
	}
	return lookupIDs
}

// BenchmarkGetByLookupID is the store's share of the verification path: one
// read-locked map lookup and one Clone.
func BenchmarkGetByLookupID(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			s := memstore.New()
			lookupIDs := benchLookupIDs(b, n, s, nil)
			ctx := b.Context()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				k, err := s.GetByLookupID(ctx, lookupIDs[i%n])
				if err != nil || k == nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkGetByLookupIDBaseline is the floor for BenchmarkGetByLookupID:
// the same lookups in a plain map, without a lock, plus the same Clone.
func BenchmarkGetByLookupIDBaseline(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			m := make(map[string]*apikey.Key, n)
			lookupIDs := benchLookupIDs(b, n, nil, m)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				k := m[lookupIDs[i%n]].Clone()
				if k == nil {
					b.Fatal("missing key")
				}
				i++
			}
		})
	}
}

// BenchmarkGetByLookupIDParallel shows the cost of the read lock when every
// CPU verifies keys at once.
func BenchmarkGetByLookupIDParallel(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			s := memstore.New()
			lookupIDs := benchLookupIDs(b, n, s, nil)
			ctx := b.Context()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := s.GetByLookupID(ctx, lookupIDs[i%n]); err != nil {
						b.Error(err)
						return
					}
					i += 7
				}
			})
		})
	}
}

// BenchmarkGetByLookupIDParallelBaseline is the floor for
// BenchmarkGetByLookupIDParallel: a plain map read by every CPU, no lock.
func BenchmarkGetByLookupIDParallelBaseline(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			m := make(map[string]*apikey.Key, n)
			lookupIDs := benchLookupIDs(b, n, nil, m)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if m[lookupIDs[i%n]].Clone() == nil {
						b.Error("missing key")
						return
					}
					i += 7
				}
			})
		})
	}
}

// BenchmarkListAtScale lists a 50-key page of 1,000,000 keys for each
// combination of filters, in the shapes of the sqlstore benchmark of the
// same name: every tenth key inactive, 1,000 owners, a group held by the
// newest 1,000 keys, one spread through time, one held by one key in
// eight. Compare every case with "none", the unfiltered page. It also
// reports the heap each key takes, indexes included.
func BenchmarkListAtScale(b *testing.B) {
	const n = 1_000_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := memstore.New()
	for i := range n {
		k := benchKey(i)
		k.CreatedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
		k.Owner = fmt.Sprintf("org-%d", i%1000)
		k.Active = i%10 != 0
		k.Groups = []string{"read"}
		if i >= n-1000 {
			k.Groups = append(k.Groups, "newest")
		}
		if i%1000 == 0 {
			k.Groups = append(k.Groups, "spread")
		}
		if i%8 == 0 {
			k.Groups = append(k.Groups, "eighth")
		}
		// Names and previews of their own; a third of the keys expire, one
		// in a thousand has already (not yet pruned).
		k.Name = fmt.Sprintf("key %d", i)
		k.Preview = fmt.Sprintf("acme_live_%04d…%04d", i%10000, i/10000)
		switch {
		case i%1000 == 1:
			k.ExpiresAt = new(k.CreatedAt.Add(-24 * time.Hour))
		case i%3 == 0:
			k.ExpiresAt = new(k.CreatedAt.Add(time.Duration(1+i%97) * 24 * time.Hour))
		}
		if err := s.Create(b.Context(), creation(k), k, 0); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	middle := apikey.Cursor{CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(n / 2 * time.Millisecond)}
	now := middle.CreatedAt
	for _, tc := range []struct {
		name string
		q    apikey.ListQuery
	}{
		{"none", apikey.ListQuery{}},
		{"status", apikey.ListQuery{Status: apikey.StatusInactive}},
		{"owner+status", apikey.ListQuery{Owner: "org-7", Status: apikey.StatusActive}},
		{"group-newest", apikey.ListQuery{Group: "newest"}},
		{"group-spread", apikey.ListQuery{Group: "spread"}},
		{"group-eighth+status", apikey.ListQuery{Group: "eighth", Status: apikey.StatusInactive}},
		{"owner+group-eighth+status", apikey.ListQuery{Owner: "org-8", Group: "eighth", Status: apikey.StatusActive}},
		{"deep/group-newest", apikey.ListQuery{Group: "newest", After: middle}},

		// ListSorted: the orders and filters of the tab at scale.
		{"sorted/-created", apikey.ListQuery{Sort: apikey.SortCreatedDesc}},
		{"sorted/-created+working", apikey.ListQuery{Sort: apikey.SortCreatedDesc, Status: apikey.StatusActive, WorkingAt: now}},
		{"sorted/created+working", apikey.ListQuery{Status: apikey.StatusActive, WorkingAt: now}},
		{"sorted/-created+owner+group-eighth+working", apikey.ListQuery{Sort: apikey.SortCreatedDesc, Owner: "org-8", Group: "eighth", Status: apikey.StatusActive, WorkingAt: now}},
		{"sorted/name+owner", apikey.ListQuery{Sort: apikey.SortName, Owner: "org-7"}},
		{"sorted/expires+owner", apikey.ListQuery{Sort: apikey.SortExpiry, Owner: "org-7"}},
		{"sorted/expiring_before+owner", apikey.ListQuery{Sort: apikey.SortExpiry, Owner: "org-7", ExpiringBefore: now.Add(30 * 24 * time.Hour)}},
		{"sorted/expiring_before+owner+working", apikey.ListQuery{Sort: apikey.SortExpiry, Owner: "org-7", ExpiringBefore: now.Add(30 * 24 * time.Hour), Status: apikey.StatusActive, WorkingAt: now}},
		{"sorted/preview+owner", apikey.ListQuery{Owner: "org-7", Preview: "sk_live_0007…0000"}},
	} {
		tc.q.Limit = 50
		sorted := tc.q.Sort != apikey.SortCreated || !tc.q.WorkingAt.IsZero() || !tc.q.ExpiringBefore.IsZero() || tc.q.Preview != ""
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if sorted {
					_, err = s.ListSorted(b.Context(), tc.q)
				} else {
					_, err = s.List(b.Context(), tc.q)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-B/key")
		})
	}
}
