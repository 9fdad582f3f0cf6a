package apikey_test

import (
	"context"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// EffectiveLimits returns limits of the caller's own: changing them
// changes neither the shared record Verify returned nor what later
// requests are limited by.
func TestEffectiveLimitsAreACopy(t *testing.T) {
	m := newManager(t, memstore.New())
	_, plaintext := limitedKey(t, m, &apikey.Limits{
		Rates:   []apikey.RateLimit{{Name: "requests", Limit: 1, Period: time.Hour}},
		Credits: &apikey.CreditPolicy{Refill: &apikey.Refill{Amount: 1, Interval: apikey.RefillDaily}},
	})
	k, err := m.Verify(context.Background(), plaintext)
	require.NoError(t, err)
	l, err := m.EffectiveLimits(k)
	require.NoError(t, err)
	l.Rates[0].Limit = 1_000_000
	l.Credits.Scope = apikey.ScopeOwner
	l.Credits.Refill.Amount = 1_000_000

	again, err := m.Verify(context.Background(), plaintext)
	require.NoError(t, err)
	assert.Equal(t, int64(1), again.Limits.Rates[0].Limit)
	assert.Equal(t, apikey.ScopeKey, again.Limits.Credits.Scope)
	assert.Equal(t, int64(1), again.Limits.Credits.Refill.Amount)
}
