package admin_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUsageRoutes: a key's usage and the organization's totals and
// busiest keys through the API, after a flush; and the unused filter.
func TestUsageRoutes(t *testing.T) {
	e := newEnv(t, nil)
	k, plaintext := e.create("CI deploy", "reports:read")
	idle, _ := e.create("Idle", "reports:read")
	for range 7 {
		_, err := e.m.Verify(t.Context(), plaintext)
		require.NoError(t, err)
	}
	require.NoError(t, e.m.Flush(t.Context()))

	r := e.do(req{method: "GET", path: keyPath(k, "/usage?step=day"), key: e.root})
	require.Equal(t, http.StatusOK, r.StatusCode, "%s", r.body)
	var report apikey.UsageReport
	require.NoError(t, json.Unmarshal(r.body, &report))
	assert.Equal(t, int64(7), report.Total.Verified)
	assert.Len(t, report.Points, 30)
	assert.Equal(t, int64(7), report.Points[29].Verified, "today")

	r = e.do(req{method: "GET", path: "/admin/api/usage?top=3", key: e.limited})
	require.Equal(t, http.StatusOK, r.StatusCode, "%s", r.body)
	require.NoError(t, json.Unmarshal(r.body, &report))
	require.NotEmpty(t, report.Busiest)
	assert.Equal(t, k["id"], report.Busiest[0].KeyID.String(), "the busiest key")
	assert.LessOrEqual(t, len(report.Busiest), 3)

	r = e.do(req{method: "GET", path: "/admin/api/usage/unused?days=30", key: e.root})
	require.Equal(t, http.StatusOK, r.StatusCode, "%s", r.body)
	var unused struct {
		Keys []struct {
			ID string `json:"id"`
		} `json:"keys"`
		Truncated bool `json:"truncated"`
	}
	require.NoError(t, json.Unmarshal(r.body, &unused))
	var ids []string
	for _, u := range unused.Keys {
		ids = append(ids, u.ID)
	}
	assert.Contains(t, ids, idle["id"], "never used")
	assert.NotContains(t, ids, k["id"], "used today")
	assert.False(t, unused.Truncated)

	for _, path := range []string{keyPath(k, "/usage?step=week"), keyPath(k, "/usage?from=yesterday"), "/admin/api/usage?top=0",
		"/admin/api/usage?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "/admin/api/usage/unused?days=0"} {
		r = e.do(req{method: "GET", path: path, key: e.root})
		assert.Equal(t, http.StatusBadRequest, r.StatusCode, "GET %s: %s", path, r.body)
	}
	r = e.do(req{method: "GET", path: "/admin/api/keys/00000000-0000-4000-8000-000000000000/usage", key: e.root})
	assert.Equal(t, http.StatusNotFound, r.StatusCode)
}
