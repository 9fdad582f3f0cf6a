package memstore_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/require"
)

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestPruneEventsReturnsMemory checks that pruning the audit trail gives
// its memory back to the collector, not only its elements.
func TestPruneEventsReturnsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("issues 50,000 keys")
	}
	s := memstore.New()
	ctx := context.Background()
	for i := range 50_000 {
		require.NoError(t, s.Create(ctx, apikey.Change{At: time.Now().UTC()}, benchKey(i), 0))
	}
	withEvents := heapInUse()
	n, err := s.PruneEvents(ctx, time.Now().Add(24*time.Hour*365*100), 1_000_000)
	require.NoError(t, err)
	require.Equal(t, 50_000, n)
	pruned := heapInUse()
	t.Logf("heap: %d B with 50,000 keys and their events, %d B after pruning the events (%d B per key freed)",
		withEvents, pruned, (int64(withEvents)-int64(pruned))/50_000)
	require.Less(t, pruned, withEvents-50_000*100, "pruning 50,000 events frees at least 100 B each")
	runtime.KeepAlive(s)
}

// BenchmarkHeapPerKey reports the heap one key takes with its issued event
// (a key without limits or usage counts, shaped like benchKey with an owner
// among 1,000), indexes included, at 1,000,000 keys (APIKEY_BENCH_KEYS
// changes that), and what is left after PruneEvents removes the events.
func BenchmarkHeapPerKey(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("APIKEY_BENCH_KEYS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	for b.Loop() {
		before := heapInUse()
		s := memstore.New()
		for i := range n {
			k := benchKey(i)
			k.Owner = fmt.Sprintf("org-%d", i%1000)
			if err := s.Create(ctx, creation(k), k, 0); err != nil {
				b.Fatal(err)
			}
		}
		withEvents := heapInUse()
		if _, err := s.PruneEvents(ctx, time.Now().Add(24*time.Hour*365*100), n); err != nil {
			b.Fatal(err)
		}
		pruned := heapInUse()
		b.ReportMetric(float64(withEvents-before)/float64(n), "heap-B/key")
		b.ReportMetric(float64(pruned-before)/float64(n), "pruned-heap-B/key")
		runtime.KeepAlive(s)
	}
}
