package apikey_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A request refused by a rate limit or by exhausted credits is metered:
// Manager.Usage shows it as rate_limited or credits_exhausted after Flush,
// beside the verified uses that passed.
func TestLimitRefusalsAreMetered(t *testing.T) {
	ctx := t.Context()
	clock := newFakeClock() // 09:00
	m := newManager(t, memstore.New(), apikey.WithClock(clock.Now))
	auth, err := m.Authenticator(apikey.AuthConfig{})
	require.NoError(t, err)
	h := auth.Middleware(okHandler)

	rated, ratedKey := limitedKey(t, m, &apikey.Limits{Rates: []apikey.RateLimit{{Name: "requests", Limit: 2, Period: time.Hour}}})
	credited, creditedKey := limitedKey(t, m, &apikey.Limits{Credits: &apikey.CreditPolicy{}})
	one := int64(1)
	_, err = m.ChangeCredits(ctx, apikey.CreditAccount{KeyID: credited.ID}, &one, 0)
	require.NoError(t, err)

	for range 2 {
		require.Equal(t, http.StatusOK, get(h, ratedKey).Code)
	}
	for range 3 {
		require.Equal(t, http.StatusTooManyRequests, get(h, ratedKey).Code)
	}
	require.Equal(t, http.StatusOK, get(h, creditedKey).Code)
	for range 4 {
		require.Equal(t, http.StatusTooManyRequests, get(h, creditedKey).Code)
	}
	require.NoError(t, m.Flush(ctx))

	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	r, err := m.Usage(ctx, apikey.UsageQuery{KeyID: rated.ID, From: start, To: start.Add(time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, int64(3), r.Total.RateLimited)
	assert.Zero(t, r.Total.CreditsExhausted)
	assert.Equal(t, int64(3), r.Total.Refused())

	r, err = m.Usage(ctx, apikey.UsageQuery{KeyID: credited.ID, From: start, To: start.Add(time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, int64(4), r.Total.CreditsExhausted)
	assert.Zero(t, r.Total.RateLimited)
	assert.Equal(t, int64(4), r.Total.Refused())
}
