package apikey_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestErrorsCarryData checks that escalation and validation failures carry
// their details as fields, and still match their sentinels.
func TestErrorsCarryData(t *testing.T) {
	m := newManager(t, memstore.New(), apikey.WithGroups(
		apikey.Group{Name: "reports:read"}, apikey.Group{Name: "billing:read"}, apikey.Group{Name: "billing:write"}))
	ctx := context.Background()
	k, _ := issue(t, m, "wide", "reports:read", "billing:read", "billing:write")
	alice := apikey.NewActorContext(ctx, apikey.Actor{Name: "alice", Groups: []string{"reports:read"}})

	_, _, err := m.Issue(alice, apikey.IssueRequest{Name: "x", Groups: []string{"billing:write", "reports:read", "billing:read"}})
	var esc *apikey.EscalationError
	require.True(t, errors.As(err, &esc))
	assert.ErrorIs(t, err, apikey.ErrEscalation)
	assert.True(t, esc.Granting)
	assert.Equal(t, []string{"billing:read", "billing:write"}, esc.Missing)

	for name, change := range map[string]func() error{
		"Rename":     func() error { return m.Rename(alice, k.ID, "y") },
		"Deactivate": func() error { return m.Deactivate(alice, k.ID) },
		"Delete":     func() error { return m.Delete(alice, k.ID) },
		"SetGroups":  func() error { return m.SetGroups(alice, k.ID, []string{"reports:read"}) },
	} {
		err := change()
		require.True(t, errors.As(err, &esc), name)
		assert.ErrorIs(t, err, apikey.ErrEscalation, name)
		assert.False(t, esc.Granting, name)
		assert.Equal(t, []string{"billing:read", "billing:write"}, esc.Missing, name)
	}

	var v *apikey.ValidationError
	for _, tc := range []struct {
		req      apikey.IssueRequest
		field    string
		sentinel error
		reason   string
	}{
		{apikey.IssueRequest{Name: "", Groups: []string{"reports:read"}, CreatedBy: "a"}, "Name", apikey.ErrInvalidName, "must be 1 to 255 characters"},
		{apikey.IssueRequest{Name: "n", Groups: []string{"reports:read"}, CreatedBy: " "}, "CreatedBy", apikey.ErrInvalidName, "must not be blank"},
		{apikey.IssueRequest{Name: "n", Groups: []string{"bad group"}, CreatedBy: "a"}, "Groups", apikey.ErrInvalidGroup, `"bad group" may contain only`},
		{apikey.IssueRequest{Name: "n", Groups: []string{"billing:wirte"}, CreatedBy: "a"}, "Groups", apikey.ErrUnknownGroup, `"billing:wirte" is not a registered group`},
		{apikey.IssueRequest{Name: "n", Groups: []string{"reports:read"}, CreatedBy: "a", ExpiresAt: time.Unix(1, 0)}, "ExpiresAt", apikey.ErrInvalidExpiry, "must be in the future"},
	} {
		_, _, err := m.Issue(ctx, tc.req)
		require.True(t, errors.As(err, &v), "%v", err)
		assert.ErrorIs(t, err, tc.sentinel)
		assert.Equal(t, tc.field, v.Field)
		if tc.reason == "" {
			assert.Empty(t, v.Reason)
		} else {
			assert.Contains(t, v.Reason, tc.reason)
		}
	}
}
