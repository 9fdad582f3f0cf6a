package apikey_test

import (
	"context"
	"testing"

	"github.com/apikit/apikey"
)

// unmeteredStore hides memstore's UsageStore methods (metering off) and
// keeps it in memory, so that the two Managers of BenchmarkVerifyMetering
// differ by metering only.
type unmeteredStore struct{ apikey.Store }

func (unmeteredStore) InMemory() bool { return true }

// BenchmarkVerifyMetering measures Verify with usage metering (memstore,
// a UsageStore) against Verify without it (the same store behind
// unmeteredStore), in the same run, hot and cold.
func BenchmarkVerifyMetering(b *testing.B) {
	loadBenchFixture(b)
	for _, tc := range []struct {
		name  string
		store apikey.Store
		hot   bool
	}{
		{"metered/hot", benchFixture.store, true},
		{"unmetered/hot", unmeteredStore{benchFixture.store}, true},
		{"metered/cold", benchFixture.store, false},
		{"unmetered/cold", unmeteredStore{benchFixture.store}, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m, err := apikey.New(tc.store, apikey.WithLastUsedFlushInterval(-1))
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			order := keyOrder(tc.hot)
			ctx := context.Background()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := m.Verify(ctx, benchFixture.plaintexts[order[i&(len(order)-1)]]); err != nil {
					b.Fatal(err)
				}
				if i&(1<<16-1) == 1<<16-1 {
					// A flush per 65,536 verifications, as a service's
					// background flush does: the recorder stays bounded.
					b.StopTimer()
					if err := m.Flush(ctx); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			}
		})
	}
}
