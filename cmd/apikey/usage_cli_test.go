package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUsage: a service's Manager verifies a key 7 times and is refused
// once for a missing scope through its middleware; after its flush,
// 'apikey usage --key K --json' totals 7 verified and 1 refused, and the
// owner's report lists the key as the busiest; on every database.
func TestUsage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *testDB) {
		d.migrate(t)
		plaintext := d.create(t, "--name", "ci", "--group", "deploy:write")
		k := d.listJSON(t)[0]
		m := d.manager(t)
		auth, err := m.Authenticator(apikey.AuthConfig{})
		require.NoError(t, err)
		ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
		h := auth.Middleware(ok)
		admin := auth.Middleware(auth.RequireAll("apikeys:admin")(ok))
		for range 7 {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("X-API-Key", plaintext)
			h.ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code)
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("X-API-Key", plaintext)
		admin.ServeHTTP(rec, req)
		require.Equal(t, http.StatusForbidden, rec.Code)
		require.NoError(t, m.Flush(t.Context()))

		r := d.mustRun(t, "usage", "--key", k.ID.String(), "--json")
		var report apikey.UsageReport
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &report), r.stdout)
		assert.Equal(t, apikey.UsageCounts{Verified: 7, MissingScope: 1}, report.Total)
		assert.Len(t, report.Points, 31, "30 days back from now, by day, today included")
		assert.NotContains(t, r.stdout, plaintext)

		r = d.mustRun(t, "usage", "--since", "24h", "--step", "hour")
		assert.Contains(t, r.stdout, "BUSIEST KEYS")
		assert.Contains(t, r.stdout, k.ID.String())
		lines := strings.Split(r.stdout, "\n")
		var total []string
		for _, l := range lines {
			if strings.HasPrefix(l, "total") {
				total = strings.Fields(l)
			}
		}
		assert.Equal(t, []string{"total", "7", "0", "0", "1", "0", "0"}, total, r.stdout)

		r = d.run(t, "usage", "--step", "week")
		assert.Equal(t, 2, r.code, r.String())
	})
}
