package apikey_test

import (
	"errors"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateLimits(t *testing.T) {
	ok := []apikey.Limits{
		{},
		{Rates: []apikey.RateLimit{{Name: "requests", Limit: 100, Period: time.Minute}, {Name: "writes", Limit: 10, Period: time.Second, Scope: apikey.ScopeOwner}}},
		{Credits: &apikey.CreditPolicy{Refill: &apikey.Refill{Amount: 10, Interval: apikey.RefillMonthly, Day: 31}}},
	}
	for _, l := range ok {
		assert.NoError(t, apikey.ValidateLimits(&l), "%+v", l)
	}
	bad := []apikey.Limits{
		{Rates: []apikey.RateLimit{{Name: "", Limit: 1, Period: time.Second}}},
		{Rates: []apikey.RateLimit{{Name: "a/b", Limit: 1, Period: time.Second}}},
		{Rates: []apikey.RateLimit{{Name: "a", Limit: 0, Period: time.Second}}},
		{Rates: []apikey.RateLimit{{Name: "a", Limit: 1, Period: time.Microsecond}}},
		{Rates: []apikey.RateLimit{{Name: "a", Limit: 2000, Period: time.Millisecond}}},
		{Rates: []apikey.RateLimit{{Name: "a", Limit: 1, Period: time.Second}, {Name: "a", Limit: 2, Period: time.Second}}},
		{Rates: []apikey.RateLimit{{Name: "a", Limit: 1, Period: time.Second, Burst: -1}}},
		{Credits: &apikey.CreditPolicy{Refill: &apikey.Refill{Amount: 0, Interval: apikey.RefillDaily}}},
		{Credits: &apikey.CreditPolicy{Refill: &apikey.Refill{Amount: 1, Interval: "weekly"}}},
		{Credits: &apikey.CreditPolicy{Refill: &apikey.Refill{Amount: 1, Interval: apikey.RefillDaily, Day: 3}}},
		{Credits: &apikey.CreditPolicy{Refill: &apikey.Refill{Amount: 1, Interval: apikey.RefillMonthly, Day: 32}}},
	}
	for _, l := range bad {
		err := apikey.ValidateLimits(&l)
		var v *apikey.ValidationError
		require.True(t, errors.As(err, &v), "%+v: %v", l, err)
		assert.ErrorIs(t, err, apikey.ErrInvalidLimits)
		assert.Equal(t, "Limits", v.Field)
	}
}

func TestParseRateLimit(t *testing.T) {
	r, err := apikey.ParseRateLimit("5/1m")
	require.NoError(t, err)
	assert.Equal(t, apikey.RateLimit{Name: "requests", Limit: 5, Period: time.Minute}, r)
	r, err = apikey.ParseRateLimit("writes=10/1s")
	require.NoError(t, err)
	assert.Equal(t, apikey.RateLimit{Name: "writes", Limit: 10, Period: time.Second}, r)
	r, err = apikey.ParseRateLimit("1000/1d")
	require.NoError(t, err)
	assert.Equal(t, 24*time.Hour, r.Period)
	for _, s := range []string{"", "5", "x/1m", "5/forever", "=5/1m", "5/0s", "-1/1m"} {
		_, err := apikey.ParseRateLimit(s)
		assert.ErrorIs(t, err, apikey.ErrInvalidLimits, s)
	}
}
