package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAnotherOrganizationsKeyIsNotFound: the administrators of two owners
// share one admin API; each one's key IDs are 404 on every route for the
// other, lists never show them, and nothing is changed.
func TestAnotherOrganizationsKeyIsNotFound(t *testing.T) {
	e := newEnv(t, nil)
	// e.root administers the default owner; globexAdmin administers org
	// "globex", with the same groups.
	k, globexAdmin, err := e.m.Issue(context.Background(), apikey.IssueRequest{Name: "Globex admin", CreatedBy: "test", Owner: "globex",
		Groups: []string{"apikeys:admin", "billing:read", "billing:write", "reports:read"}})
	require.NoError(t, err)
	e.remember(k.ID, globexAdmin)

	r := e.do(req{method: "POST", path: "/admin/api/keys", key: globexAdmin,
		body: map[string]any{"name": "Globex CI", "groups": []string{"reports:read"}, "metadata": map[string]string{"plan": "pro"}}})
	require.Equal(t, http.StatusCreated, r.StatusCode, string(r.body))
	created := r.json(t)
	globexKey := created["key"].(map[string]any)
	e.remember(uuid.MustParse(globexKey["id"].(string)), created["plaintext"].(string))
	assert.Equal(t, "globex", globexKey["owner"], "the key belongs to its administrator's organization")
	assert.Equal(t, map[string]any{"plan": "pro"}, globexKey["metadata"])

	me := e.do(req{method: "GET", path: "/admin/api/me", key: globexAdmin}).json(t)
	assert.Equal(t, "globex", me["owner"])
	me = e.do(req{method: "GET", path: "/admin/api/me", key: e.root}).json(t)
	assert.Equal(t, apikey.DefaultOwner, me["owner"])

	for _, rt := range []req{
		{method: "GET", path: keyPath(globexKey, "")},
		{method: "PUT", path: keyPath(globexKey, "/name"), body: map[string]any{"name": "taken"}},
		{method: "PUT", path: keyPath(globexKey, "/groups"), body: map[string]any{"groups": []string{"billing:write"}}},
		{method: "POST", path: keyPath(globexKey, "/activate")},
		{method: "POST", path: keyPath(globexKey, "/deactivate")},
		{method: "DELETE", path: keyPath(globexKey, ""), body: map[string]any{"confirm": "Globex CI"}},
	} {
		rt.key = e.root
		res := e.do(rt)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, "%s %s: %s", rt.method, rt.path, res.body)
		assert.Contains(t, string(res.body), "There is no API key with this ID", rt.method+" "+rt.path)
	}
	// The same routes for a key ID that exists nowhere answer the same.
	res := e.do(req{method: "GET", path: "/admin/api/keys/0191c0de-7e57-7000-8000-000000000000", key: e.root})
	assert.Equal(t, http.StatusNotFound, res.StatusCode)

	for _, query := range []string{"", "?owner=globex", "?status=active", "?group=reports:read"} {
		body := string(e.do(req{method: "GET", path: "/admin/api/keys" + query, key: e.root}).body)
		assert.NotContains(t, body, globexKey["id"].(string), "the default owner's list%s", query)
		assert.NotContains(t, body, "Globex", query)
	}
	body := string(e.do(req{method: "GET", path: "/admin/api/keys", key: globexAdmin}).body)
	assert.Contains(t, body, "Globex CI")
	assert.NotContains(t, body, "Root admin", "globex sees only its own keys")
	assert.Equal(t, 2, strings.Count(body, `"owner":"globex"`))

	got := e.do(req{method: "GET", path: keyPath(globexKey, ""), key: globexAdmin}).json(t)
	assert.Equal(t, "Globex CI", got["name"], "unchanged")
	assert.Equal(t, "active", got["status"], "unchanged")
}
