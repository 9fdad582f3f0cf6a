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

// limits changes an existing key's limits and credits: what it stores is
// what a server enforces, every change is an event, and bad flags change
// nothing.
func TestLimitsCommand(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *testDB) {
		ctx := context.Background()
		d.migrate(t)
		plaintext := d.create(t, "--name", "ci", "--group", "read")
		m := d.manager(t)
		k, err := m.Verify(ctx, plaintext)
		require.NoError(t, err)
		id := k.ID.String()
		account := apikey.CreditAccount{Owner: k.Owner, KeyID: k.ID}

		r := d.mustRun(t, "limits", id)
		assert.Contains(t, r.stdout, "Limits of key "+k.Preview)
		assert.Contains(t, r.stdout, ": no limits.")

		r = d.mustRun(t, "limits", id, "--rate-limit", "5/1m", "--credits", "3")
		assert.Contains(t, r.stdout, "Changed the limits of key")
		assert.Contains(t, r.stdout, "rate limit requests: 5 per 1m0s, credits 3.")
		k, err = m.Get(ctx, k.ID)
		require.NoError(t, err)
		require.NotNil(t, k.Limits)
		assert.Equal(t, []apikey.RateLimit{{Name: "requests", Limit: 5, Period: time.Minute}}, k.Limits.Rates)
		require.NotNil(t, k.Limits.Credits)
		b, err := m.Credits(ctx, account)
		require.NoError(t, err)
		assert.Equal(t, int64(3), b.Remaining)

		// The server enforces them: 3 credits, then refused.
		for range 3 {
			k, err := m.Verify(ctx, plaintext)
			require.NoError(t, err)
			_, err = m.CheckLimits(ctx, k, 1)
			require.NoError(t, err)
		}
		k, err = m.Verify(ctx, plaintext)
		require.NoError(t, err)
		_, err = m.CheckLimits(ctx, k, 1)
		require.ErrorIs(t, err, apikey.ErrNoCredits)

		// Same name replaces, a new name adds; --add-credits adds, and
		// subtracts never below zero.
		r = d.mustRun(t, "limits", k.Preview, "--rate-limit", "requests=50/1m", "--rate-limit", "writes=10/1s", "--add-credits", "7", "--refill", "100/monthly:15")
		assert.Contains(t, r.stdout, "rate limit requests: 50 per 1m0s, rate limit writes: 10 per 1s, credits 7 (refill 100 monthly on day 15).")
		r = d.mustRun(t, "limits", id, "--add-credits", "-2")
		assert.Contains(t, r.stdout, "credits 5 (refill")
		r = d.mustRun(t, "limits", id, "--add-credits", "-100")
		assert.Contains(t, r.stdout, "credits 0 (refill")
		k, err = m.Get(ctx, k.ID)
		require.NoError(t, err)
		assert.Equal(t, []apikey.RateLimit{{Name: "requests", Limit: 50, Period: time.Minute}, {Name: "writes", Limit: 10, Period: time.Second}}, k.Limits.Rates)
		assert.Equal(t, &apikey.Refill{Amount: 100, Interval: apikey.RefillMonthly, Day: 15}, k.Limits.Credits.Refill)

		// Bad input is refused and changes nothing.
		for _, bad := range [][]string{
			{"--rate-limit", "5/forever"},
			{"--rate-limit", "0/1m"},
			{"--credits", "5", "--add-credits", "1"},
			{"--credits", "-1"},
			{"--refill", "5/weekly"},
			{"--add-credits", "lots"},
		} {
			r := d.run(t, append([]string{"limits", id}, bad...)...)
			assert.NotEqual(t, 0, r.code, "%v: %s", bad, r)
		}
		r = d.run(t, "limits")
		assert.Equal(t, 2, r.code, "no key: %s", r)
		after, err := m.Get(ctx, k.ID)
		require.NoError(t, err)
		assert.Equal(t, k.Limits, after.Limits, "unchanged")

		// --clear alone removes them all.
		r = d.mustRun(t, "limits", id, "--clear")
		assert.Contains(t, r.stdout, ": no limits.")
		k, err = m.Get(ctx, k.ID)
		require.NoError(t, err)
		assert.Nil(t, k.Limits)
		k, err = m.Verify(ctx, plaintext)
		require.NoError(t, err)
		_, err = m.CheckLimits(ctx, k, 1)
		assert.NoError(t, err, "no limits, no credits needed")

		r = d.mustRun(t, "events", "--key", id)
		assert.Equal(t, 3, strings.Count(r.stdout, string(apikey.EventLimitsChanged)), "set, changed, cleared: %s", r.stdout)
		assert.Equal(t, 4, strings.Count(r.stdout, string(apikey.EventCreditsChanged)), "set, +7, -2, -100: %s", r.stdout)
	})
}
