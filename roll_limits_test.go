package apikey_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Rolling a key keeps its limits: the successor is the same client's key,
// and a roll must not be the way to shed a rate limit or a credit policy.
func TestRollKeepsLimits(t *testing.T) {
	m := newManager(t, memstore.New())
	auth, err := m.Authenticator(apikey.AuthConfig{})
	require.NoError(t, err)
	l := &apikey.Limits{Rates: []apikey.RateLimit{{Name: "requests", Limit: 1, Period: time.Hour}}, Credits: &apikey.CreditPolicy{}}
	k, _ := limitedKey(t, m, l)
	admin := apikey.NewActorContext(context.Background(), apikey.Actor{Name: "admin", Groups: []string{"read"}})
	successor, plaintext, err := m.Roll(admin, k.ID, apikey.RollRequest{})
	require.NoError(t, err)
	assert.Equal(t, l, successor.Limits, "the returned successor")
	stored, err := m.Get(context.Background(), successor.ID)
	require.NoError(t, err)
	assert.Equal(t, l, stored.Limits, "the stored successor")

	// No credits were ever given to the successor: it is refused.
	w := get(auth.Middleware(okHandler), plaintext)
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
}
