package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// create --rate-limit/--credits stores the limits and the balance: the key
// gets exactly 5 requests a minute, and 3 credits.
func TestCreateWithLimits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		d.mustRun(t, "migrate")
		r := d.mustRun(t, "create", "--name", "limited", "--group", "read", "--rate-limit", "5/1m", "--rate-limit", "writes=10/1s", "--credits", "3", "--refill", "100/monthly:15")
		plaintext := strings.TrimSuffix(r.stdout, "\n")
		assert.Contains(t, r.stderr, "rate limit requests: 5 per 1m0s")
		assert.Contains(t, r.stderr, "credits 3 (refill 100 monthly)")
		m := d.manager(t)
		k, err := m.Verify(ctx, plaintext)
		require.NoError(t, err)
		require.NotNil(t, k.Limits)
		assert.Equal(t, []apikey.RateLimit{{Name: "requests", Limit: 5, Period: time.Minute}, {Name: "writes", Limit: 10, Period: time.Second}}, k.Limits.Rates)
		assert.Equal(t, &apikey.Refill{Amount: 100, Interval: apikey.RefillMonthly, Day: 15}, k.Limits.Credits.Refill)
		b, err := m.Credits(ctx, apikey.CreditAccount{Owner: k.Owner, KeyID: k.ID})
		require.NoError(t, err)
		assert.Equal(t, int64(3), b.Remaining)

		r = d.run(t, "create", "--name", "bad", "--group", "read", "--rate-limit", "5/forever")
		assert.NotEqual(t, 0, r.code)
		r = d.run(t, "create", "--name", "bad", "--group", "read", "--refill", "5/weekly")
		assert.NotEqual(t, 0, r.code)
	})
}
