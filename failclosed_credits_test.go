package apikey_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// creditsDown is a memstore whose credit spends fail, as a database that
// went away between the lookup and the spend.
type creditsDown struct{ *memstore.Store }

func (creditsDown) SpendCredits(context.Context, apikey.CreditAccount, int64, *apikey.Refill, time.Time) (int64, bool, error) {
	return 0, false, errors.New("connection refused")
}

// A credit spend that fails refuses the request with 503, never 200 nor
// 401 nor 429, and gives back what the rate limits took.
func TestCreditSpendFailureFailsClosed(t *testing.T) {
	m := newManager(t, creditsDown{memstore.New()})
	auth, err := m.Authenticator(apikey.AuthConfig{})
	require.NoError(t, err)
	k, key := limitedKey(t, m, &apikey.Limits{
		Rates:   []apikey.RateLimit{{Name: "requests", Limit: 1, Period: time.Hour}},
		Credits: &apikey.CreditPolicy{},
	})
	balance := int64(10)
	_, err = m.ChangeCredits(context.Background(), apikey.CreditAccount{KeyID: k.ID}, &balance, 0)
	require.NoError(t, err)
	h := auth.Middleware(okHandler)
	for range 2 {
		w := get(h, key)
		assert.Equal(t, http.StatusServiceUnavailable, w.Code, "the rate limit was given back: still 503, not 429")
		assert.NotContains(t, w.Body.String(), key)
	}
	_, err = m.CheckLimits(context.Background(), k, 1)
	assert.ErrorIs(t, err, apikey.ErrLimiterUnavailable)
}
