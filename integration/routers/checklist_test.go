// Package routers_test checks the Authenticator inside third-party
// routers, which the library module does not depend on. Every router serves
// the same three routes on loopback and passes the same checklist, with
// real requests through net/http's client.
package routers_test

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

// fixture is a Manager, its Authenticator and keys in every state.
type fixture struct {
	m       *apikey.Manager
	auth    *apikey.Authenticator
	good    string // "good": reports:read
	billing string // "billing": billing:read, no reports:read
	unknown string // another Manager's key
	revoked string // "revoked": reports:read, deactivated during the checklist
	revokeK *apikey.Key

	// handled counts the calls of the application's handlers: a refused
	// request must never reach one.
	handled atomic.Int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{}
	f.m = newManager(t)
	var err error
	f.auth, err = f.m.Authenticator(apikey.AuthConfig{})
	require.NoError(t, err)
	f.good = issue(t, f.m, "good", "reports:read")
	f.billing = issue(t, f.m, "billing", "billing:read")
	f.unknown = issue(t, newManager(t), "elsewhere", "reports:read")
	f.revokeK, f.revoked, err = f.m.Issue(context.Background(), apikey.IssueRequest{Name: "revoked", Groups: []string{"reports:read"}, CreatedBy: "tester"})
	require.NoError(t, err)
	return f
}

func newManager(t *testing.T) *apikey.Manager {
	t.Helper()
	m, err := apikey.New(memstore.New())
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func issue(t *testing.T, m *apikey.Manager, name string, groups ...string) string {
	t.Helper()
	_, plaintext, err := m.Issue(context.Background(), apikey.IssueRequest{Name: name, Groups: groups, CreatedBy: "tester"})
	require.NoError(t, err)
	return plaintext
}

// greet is what every route answers: the name of the key the handler sees,
// or "anonymous".
func (f *fixture) greet(route string, k *apikey.Key) string {
	f.handled.Add(1)
	if k == nil {
		return route + " for anonymous"
	}
	return route + " for " + k.Name
}

// response is what a client received.
type response struct {
	status int
	header http.Header
	body   string
}

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

const (
	challengeNoKey   = `Bearer realm="api"`
	challengeRequest = `Bearer realm="api", error="invalid_request"`
	challengeToken   = `Bearer realm="api", error="invalid_token"`
	challengeScope   = `Bearer realm="api", error="insufficient_scope", scope="reports:read"`
)

// checklist runs the issue's list against a server at base that serves
//
//	GET /me       authenticated             "me for <name>"
//	GET /reports  authenticated, reports:read  "reports for <name>"
//	GET /maybe    optional                  "maybe for <name>" or "maybe for anonymous"
func (f *fixture) checklist(t *testing.T, base string) {
	refused := func(t *testing.T, r response, status int, challenge string) {
		t.Helper()
		assert.Equal(t, status, r.status, "body: %s", r.body)
		assert.Equal(t, challenge, r.header.Get("WWW-Authenticate"))
		assert.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
		assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
		for _, key := range []string{f.good, f.billing, f.unknown, f.revoked} {
			assert.NotContains(t, r.body, key, "a response never echoes a key")
		}
	}
	noHandler := func(t *testing.T, do func() response, status int, challenge string) {
		t.Helper()
		before := f.handled.Load()
		refused(t, do(), status, challenge)
		assert.Equal(t, before, f.handled.Load(), "the handler ran for a refused request")
	}

	t.Run("no key 401 with challenge", func(t *testing.T) {
		noHandler(t, func() response { return get(t, base+"/me") }, 401, challengeNoKey)
		noHandler(t, func() response { return get(t, base+"/reports") }, 401, challengeNoKey)
	})
	t.Run("bad key 401", func(t *testing.T) {
		noHandler(t, func() response { return get(t, base+"/me", "Authorization", "Bearer "+f.unknown) }, 401, challengeToken)
		noHandler(t, func() response { return get(t, base+"/me", "X-API-Key", "ak_madeUp") }, 401, challengeToken)
	})
	t.Run("missing group 403", func(t *testing.T) {
		noHandler(t, func() response { return get(t, base+"/reports", "Authorization", "Bearer "+f.billing) }, 403, challengeScope)
	})
	t.Run("good key 200 with the key in the handler", func(t *testing.T) {
		r := get(t, base+"/reports", "Authorization", "Bearer "+f.good)
		assert.Equal(t, 200, r.status)
		assert.Equal(t, "reports for good", r.body)
		r = get(t, base+"/me", "X-API-Key", f.billing)
		assert.Equal(t, 200, r.status)
		assert.Equal(t, "me for billing", r.body)
	})
	t.Run("two keys 400", func(t *testing.T) {
		noHandler(t, func() response { return get(t, base+"/me", "Authorization", "Bearer "+f.good, "X-API-Key", f.good) }, 400, challengeRequest)
		noHandler(t, func() response { return get(t, base+"/me", "X-API-Key", f.good, "X-API-Key", f.billing) }, 400, challengeRequest)
	})
	t.Run("query-string key 401", func(t *testing.T) {
		noHandler(t, func() response { return get(t, base+"/me?api_key="+f.good) }, 401, challengeNoKey)
		noHandler(t, func() response { return get(t, base+"/me?access_token="+f.good) }, 401, challengeNoKey)
	})
	t.Run("optional route", func(t *testing.T) {
		r := get(t, base+"/maybe")
		assert.Equal(t, 200, r.status)
		assert.Equal(t, "maybe for anonymous", r.body)
		r = get(t, base+"/maybe", "X-API-Key", f.good)
		assert.Equal(t, 200, r.status)
		assert.Equal(t, "maybe for good", r.body)
		noHandler(t, func() response { return get(t, base+"/maybe", "X-API-Key", f.unknown) }, 401, challengeToken)
		noHandler(t, func() response { return get(t, base+"/maybe", "X-API-Key", f.good, "Authorization", "Bearer "+f.good) }, 400, challengeRequest)
	})
	t.Run("deactivated key 401 at once", func(t *testing.T) {
		r := get(t, base+"/reports", "X-API-Key", f.revoked)
		require.Equal(t, 200, r.status)
		require.NoError(t, f.m.Deactivate(context.Background(), f.revokeK.ID))
		noHandler(t, func() response { return get(t, base+"/reports", "X-API-Key", f.revoked) }, 401, challengeToken)
		noHandler(t, func() response { return get(t, base+"/maybe", "X-API-Key", f.revoked) }, 401, challengeToken)
	})
	// Sanity: the checklist saw bodies, not empty responses.
	assert.True(t, strings.HasPrefix(get(t, base+"/me").body, "{"), "problem documents are JSON")
}
