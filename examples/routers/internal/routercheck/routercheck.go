// Package routercheck is the checklist that every router program under
// examples/routers passes: real requests, on loopback, against the
// program's own routes.
package routercheck

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Serve starts the program's routes for auth, with a handler that calls
// handled each time it runs, and returns their base URL
// ("http://127.0.0.1:port"); it stops them with t.Cleanup.
type Serve func(t *testing.T, auth *apikey.Authenticator, handled func()) string

// Run checks the routes that Serve starts:
//
//	GET /me       a key is required          "hello <name>"
//	GET /reports  a key holding reports:read  "hello <name>"
//	GET /catalog  optional                   "hello <name>" or "hello anonymous"
//
// A refused request gets the library's standard response and never reaches
// a handler.
func Run(t *testing.T, serve Serve) {
	ctx := context.Background()
	m, err := apikey.New(memstore.New())
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	other, err := apikey.New(memstore.New())
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })
	auth, err := m.Authenticator(apikey.AuthConfig{})
	require.NoError(t, err)

	issue := func(m *apikey.Manager, name, group string) (*apikey.Key, string) {
		k, plaintext, err := m.Issue(ctx, apikey.IssueRequest{Name: name, Groups: []string{group}, CreatedBy: "routercheck"})
		require.NoError(t, err)
		return k, plaintext
	}
	_, good := issue(m, "good", "reports:read")
	_, billing := issue(m, "billing", "billing:read")
	_, unknown := issue(other, "elsewhere", "reports:read")
	revokedKey, revoked := issue(m, "revoked", "reports:read")
	keys := []string{good, billing, unknown, revoked}

	var calls atomic.Int64
	base := serve(t, auth, func() { calls.Add(1) })

	refused := func(t *testing.T, path string, status int, challenge string, header ...string) {
		t.Helper()
		before := calls.Load()
		r := get(t, base+path, header...)
		assert.Equal(t, before, calls.Load(), "GET %s: the handler ran for a refused request", path)
		assert.Equal(t, status, r.status, "GET %s: %s", path, r.body)
		assert.Equal(t, challenge, r.header.Get("WWW-Authenticate"), "GET %s", path)
		assert.Equal(t, "application/problem+json", r.header.Get("Content-Type"), "GET %s", path)
		assert.Equal(t, "no-store", r.header.Get("Cache-Control"), "GET %s", path)
		for _, key := range keys {
			assert.NotContains(t, r.body, key, "a response never echoes a key")
		}
	}
	ok := func(t *testing.T, path, want string, header ...string) {
		t.Helper()
		before := calls.Load()
		r := get(t, base+path, header...)
		assert.Equal(t, before+1, calls.Load(), "GET %s: the handler ran once", path)
		assert.Equal(t, http.StatusOK, r.status, "GET %s: %s", path, r.body)
		assert.Equal(t, want, strings.TrimSpace(r.body), "GET %s", path)
	}
	const (
		noKey   = `Bearer realm="api"`
		request = `Bearer realm="api", error="invalid_request"`
		token   = `Bearer realm="api", error="invalid_token"`
		scope   = `Bearer realm="api", error="insufficient_scope", scope="reports:read"`
	)

	t.Run("no key 401", func(t *testing.T) {
		refused(t, "/me", 401, noKey)
		refused(t, "/reports", 401, noKey)
	})
	t.Run("bad key 401", func(t *testing.T) {
		refused(t, "/me", 401, token, "Authorization", "Bearer "+unknown)
		refused(t, "/me", 401, token, "X-API-Key", "ak_madeUp")
	})
	t.Run("missing group 403", func(t *testing.T) {
		refused(t, "/reports", 403, scope, "Authorization", "Bearer "+billing)
	})
	t.Run("good key 200, the key in the handler", func(t *testing.T) {
		ok(t, "/reports", "hello good", "Authorization", "Bearer "+good)
		ok(t, "/me", "hello billing", "X-API-Key", billing)
	})
	t.Run("two keys 400", func(t *testing.T) {
		refused(t, "/me", 400, request, "Authorization", "Bearer "+good, "X-API-Key", good)
		refused(t, "/me", 400, request, "X-API-Key", good, "X-API-Key", billing)
	})
	t.Run("key in the query string 401", func(t *testing.T) {
		refused(t, "/me?api_key="+good, 401, noKey)
		refused(t, "/me?access_token="+good, 401, noKey)
	})
	t.Run("optional route", func(t *testing.T) {
		ok(t, "/catalog", "hello anonymous")
		ok(t, "/catalog", "hello good", "X-API-Key", good)
		refused(t, "/catalog", 401, token, "X-API-Key", unknown)
		refused(t, "/catalog", 400, request, "X-API-Key", good, "Authorization", "Bearer "+good)
	})
	t.Run("deactivated key 401 at once", func(t *testing.T) {
		ok(t, "/reports", "hello revoked", "X-API-Key", revoked)
		require.NoError(t, m.Deactivate(ctx, revokedKey.ID))
		refused(t, "/reports", 401, token, "X-API-Key", revoked)
		refused(t, "/catalog", 401, token, "X-API-Key", revoked)
	})
}

type response struct {
	status int
	header http.Header
	body   string
}

// get sends a GET with the header pairs, repeated names added, not replaced.
func get(t *testing.T, url string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{resp.StatusCode, resp.Header, string(body)}
}
