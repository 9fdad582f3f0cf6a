package sqlstore_test

import (
	"sync"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUsageTwoManagers meters 10,000 verifications through each of two
// Managers sharing one database, flushing as they go: the stored totals
// are exactly 20,000, and no flush writes more than one row per key,
// hour and outcome.
func TestUsageTwoManagers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		db := b.open(t)
		store := newStore(t, db, b.dialect)
		const (
			keys      = 10
			perMgr    = 10000
			flushEach = 250 // verifications of the first worker between flushes
			workers   = 4
		)
		c := &clock{now: time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)}
		opts := []apikey.Option{apikey.WithClock(c.Now), apikey.WithVerifyCache(apikey.VerifyCache{TTL: time.Hour})}
		managers := []*apikey.Manager{newManager(t, store, opts...), newManager(t, store, opts...)}
		var plaintexts []string
		var ids []apikey.KeyUsage
		for i := range keys {
			k, p, err := managers[0].Issue(ctx, apikey.IssueRequest{Name: "k" + string(rune('a'+i)), Groups: []string{"read"}, CreatedBy: "test"})
			require.NoError(t, err)
			plaintexts = append(plaintexts, p)
			ids = append(ids, apikey.KeyUsage{KeyID: k.ID})
		}
		var wg sync.WaitGroup
		for _, m := range managers {
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perMgr / workers {
						if _, err := m.Verify(ctx, plaintexts[(i+w)%keys]); err != nil {
							t.Error(err)
							return
						}
						if w == 0 && i%flushEach == flushEach-1 {
							if err := m.Flush(ctx); err != nil {
								t.Error(err)
								return
							}
						}
					}
				}()
			}
		}
		wg.Wait()
		for _, m := range managers {
			require.NoError(t, m.Close())
		}
		r, err := managers[0].Usage(ctx, apikey.UsageQuery{From: c.Now().Add(-time.Hour), To: c.Now()})
		require.NoError(t, err)
		assert.Equal(t, apikey.UsageCounts{Verified: 2 * perMgr}, r.Total, "the owner's total")
		var sum int64
		for _, k := range ids {
			kr, err := managers[0].Usage(ctx, apikey.UsageQuery{KeyID: k.KeyID, From: c.Now().Add(-time.Hour), To: c.Now()})
			require.NoError(t, err)
			sum += kr.Total.Verified
		}
		assert.Equal(t, int64(2*perMgr), sum, "the sum of the keys")
		for i, m := range managers {
			s := m.Stats()
			const buckets = 1 // one hour, one outcome
			assert.LessOrEqual(t, s.UsageRows, keys*buckets*s.UsageFlushes, "manager %d: rows written <= keys x buckets x flushes", i)
			assert.Positive(t, s.UsageFlushes)
			t.Logf("manager %d: %d usage flushes wrote %d rows", i, s.UsageFlushes, s.UsageRows)
		}
	})
}
