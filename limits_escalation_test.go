package apikey_test

import (
	"context"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// plan is what the operator sells each owner (WithOwnerLimits): 2 requests
// a minute per key, and 100 credits a month shared by the owner's keys.
func plan(string) apikey.Limits {
	return apikey.Limits{
		Rates:   []apikey.RateLimit{{Name: "requests", Limit: 2, Period: time.Minute}},
		Credits: &apikey.CreditPolicy{Scope: apikey.ScopeOwner, Refill: &apikey.Refill{Amount: 100, Interval: apikey.RefillMonthly}},
	}
}

// An administrator limited to one owner cannot loosen the limits the
// operator set for that owner: not by overriding a rate limit of the plan
// with a looser one, not by replacing the plan's credit policy, not by
// adding to the owner's shared balance or to a key's balance under the
// plan. Trusted code (the operator) can.
func TestAdministratorCannotLoosenTheOwnersPlan(t *testing.T) {
	tt := newTenants(t, apikey.WithOwnerLimits(plan))
	loose := &apikey.Limits{Rates: []apikey.RateLimit{{Name: "requests", Limit: 1_000_000, Period: time.Minute}}}
	ownCredits := &apikey.Limits{Credits: &apikey.CreditPolicy{}}
	for name, l := range map[string]*apikey.Limits{"looser rate": loose, "credit policy": ownCredits} {
		err := tt.m.SetLimits(tt.adminA, tt.keyA.ID, l)
		assert.ErrorIs(t, err, apikey.ErrEscalation, name)
		_, _, err = tt.m.Issue(tt.adminA, apikey.IssueRequest{Name: "x", Groups: []string{"reports:read"}, Limits: l})
		assert.ErrorIs(t, err, apikey.ErrEscalation, name)
	}
	k, err := tt.m.Get(context.Background(), tt.keyA.ID)
	require.NoError(t, err)
	assert.Nil(t, k.Limits, "the refused change left the key as it was")

	set := int64(1_000_000)
	_, err = tt.m.ChangeCredits(tt.adminA, apikey.CreditAccount{Owner: "org-a"}, &set, 0)
	assert.ErrorIs(t, err, apikey.ErrEscalation, "the owner's shared balance is the operator's")
	_, err = tt.m.ChangeCredits(tt.adminA, apikey.CreditAccount{Owner: "org-a"}, nil, 1000)
	assert.ErrorIs(t, err, apikey.ErrEscalation)
	_, err = tt.m.ChangeCredits(tt.adminA, apikey.CreditAccount{KeyID: tt.keyA.ID}, &set, 0)
	assert.ErrorIs(t, err, apikey.ErrEscalation, "under the plan's credit policy a key's balance is the operator's too")

	// A tighter limit, or one of another name, is the administrator's to set.
	tight := &apikey.Limits{Rates: []apikey.RateLimit{{Name: "requests", Limit: 1, Period: time.Minute}, {Name: "writes", Limit: 50, Period: time.Second}}}
	require.NoError(t, tt.m.SetLimits(tt.adminA, tt.keyA.ID, tight))
	require.NoError(t, tt.m.SetLimits(tt.adminA, tt.keyA.ID, nil))

	// The operator sets what they like.
	require.NoError(t, tt.m.SetLimits(context.Background(), tt.keyA.ID, loose))
	_, err = tt.m.ChangeCredits(context.Background(), apikey.CreditAccount{Owner: "org-a"}, &set, 0)
	require.NoError(t, err)
}
