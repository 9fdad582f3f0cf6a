package apikey_test

import (
	"context"
	"testing"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An administrator of one owner cannot read another owner's balances, the
// owner's or its keys': they do not exist for them.
func TestCreditsOfAnotherOwnerAreNotFound(t *testing.T) {
	tt := newTenants(t)
	ctx := context.Background()
	balance := int64(4242)
	_, err := tt.m.ChangeCredits(ctx, apikey.CreditAccount{Owner: "org-b"}, &balance, 0)
	require.NoError(t, err)
	_, err = tt.m.ChangeCredits(ctx, apikey.CreditAccount{KeyID: tt.keyB.ID}, &balance, 0)
	require.NoError(t, err)

	for name, account := range map[string]apikey.CreditAccount{
		"owner's balance":     {Owner: "org-b"},
		"key's balance":       {Owner: "org-b", KeyID: tt.keyB.ID},
		"key's, under A's ID": {Owner: "org-a", KeyID: tt.keyB.ID},
	} {
		b, err := tt.m.Credits(tt.adminA, account)
		assert.ErrorIs(t, err, apikey.ErrNotFound, name)
		assert.Zero(t, b.Remaining, name)
	}
	// Their own owner's administrator reads them.
	b, err := tt.m.Credits(tt.adminB, apikey.CreditAccount{Owner: "org-b", KeyID: tt.keyB.ID})
	require.NoError(t, err)
	assert.Equal(t, balance, b.Remaining)
}
