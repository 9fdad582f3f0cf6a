package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// limitsBody is GET /api/keys/{id}/limits.
type limitsBody struct {
	Limits *struct {
		Rates []struct {
			Name   string `json:"name"`
			Limit  int64  `json:"limit"`
			Period string `json:"period"`
			Scope  string `json:"scope"`
		} `json:"rates"`
		Credits *apikey.CreditPolicy `json:"credits"`
	} `json:"limits"`
	Effective *struct {
		Rates []struct {
			Name string `json:"name"`
		} `json:"rates"`
	} `json:"effective"`
	Credits *apikey.CreditBalance `json:"credits"`
}

// TestLimitsRoutes: an administrator reads and sets a key's limits and
// credits; bad input is 422; every change is an event; the key's JSON
// shows its limits; the owner's defaults are in /api/me and in the
// effective limits.
func TestLimitsRoutes(t *testing.T) {
	e := newEnvWithManager(t, []apikey.Option{apikey.WithOwnerLimits(func(owner string) apikey.Limits {
		return apikey.Limits{Rates: []apikey.RateLimit{{Name: "org", Limit: 1000, Period: 60e9, Scope: apikey.ScopeOwner}}}
	})}, nil)
	k, plaintext := e.create("CI deploy", "reports:read")

	var got limitsBody
	r := e.do(req{method: "GET", path: keyPath(k, "/limits"), key: e.root})
	require.Equal(t, http.StatusOK, r.StatusCode, "%s", r.body)
	require.NoError(t, json.Unmarshal(r.body, &got))
	assert.Nil(t, got.Limits, "no limits of its own")
	require.NotNil(t, got.Effective)
	require.Len(t, got.Effective.Rates, 1)
	assert.Equal(t, "org", got.Effective.Rates[0].Name, "the owner's default applies")
	assert.Nil(t, got.Credits)

	me := e.do(req{method: "GET", path: "/admin/api/me", key: e.root}).json(t)
	assert.Contains(t, string(mustJSON(t, me["owner_limits"])), `"name":"org"`)

	r = e.do(req{method: "PUT", path: keyPath(k, "/limits"), key: e.root, body: map[string]any{
		"rates":   []map[string]any{{"name": "requests", "limit": 2, "period": "1m"}},
		"credits": map[string]any{},
	}})
	require.Equal(t, http.StatusOK, r.StatusCode, "%s", r.body)
	require.NoError(t, json.Unmarshal(r.body, &got))
	require.NotNil(t, got.Limits)
	require.Len(t, got.Limits.Rates, 1)
	assert.Equal(t, "requests", got.Limits.Rates[0].Name)
	assert.Equal(t, int64(2), got.Limits.Rates[0].Limit)
	assert.Equal(t, "1m0s", got.Limits.Rates[0].Period)
	assert.Equal(t, "key", got.Limits.Rates[0].Scope)
	assert.NotNil(t, got.Limits.Credits)
	assert.Len(t, got.Effective.Rates, 2, "the key's limit and the owner's")
	assert.Nil(t, got.Credits, "no balance yet")

	r = e.do(req{method: "POST", path: keyPath(k, "/credits"), key: e.root, body: map[string]any{"set": 10}})
	require.Equal(t, http.StatusOK, r.StatusCode, "%s", r.body)
	assert.Equal(t, float64(10), r.json(t)["remaining"])
	r = e.do(req{method: "POST", path: keyPath(k, "/credits"), key: e.root, body: map[string]any{"add": -3}})
	require.Equal(t, http.StatusOK, r.StatusCode, "%s", r.body)
	assert.Equal(t, float64(7), r.json(t)["remaining"])
	r = e.do(req{method: "POST", path: keyPath(k, "/credits"), key: e.root, body: map[string]any{"add": -100}})
	require.Equal(t, http.StatusOK, r.StatusCode, "%s", r.body)
	assert.Equal(t, float64(0), r.json(t)["remaining"], "never below zero")
	r = e.do(req{method: "POST", path: keyPath(k, "/credits"), key: e.root, body: map[string]any{"add": 5}})
	require.Equal(t, http.StatusOK, r.StatusCode, "%s", r.body)

	// The key spends them: the balance shown is the store's.
	for range 2 {
		_, err := e.m.Verify(context.Background(), plaintext)
		require.NoError(t, err)
		k2, err := e.m.Get(context.Background(), uuid.MustParse(k["id"].(string)))
		require.NoError(t, err)
		_, err = e.m.CheckLimits(context.Background(), k2, 1)
		require.NoError(t, err)
	}
	r = e.do(req{method: "GET", path: keyPath(k, "/limits"), key: e.root})
	require.NoError(t, json.Unmarshal(r.body, &got))
	require.NotNil(t, got.Credits)
	assert.Equal(t, int64(3), got.Credits.Remaining)

	key := e.do(req{method: "GET", path: keyPath(k, ""), key: e.root}).json(t)
	assert.Contains(t, string(mustJSON(t, key["limits"])), `"name":"requests"`, "the key's JSON shows its limits")
	list := string(e.do(req{method: "GET", path: "/admin/api/keys", key: e.root}).body)
	assert.Contains(t, list, `"limits":{"rates":[{"name":"requests"`)

	events := string(e.do(req{method: "GET", path: keyPath(k, "/events"), key: e.root}).body)
	assert.Contains(t, events, string(apikey.EventLimitsChanged))
	assert.Equal(t, 4, strings.Count(events, `"`+string(apikey.EventCreditsChanged)+`"`), "four changes of credits: %s", events)

	for _, bad := range []any{
		map[string]any{"rates": []map[string]any{{"name": "requests", "limit": 0, "period": "1m"}}},
		map[string]any{"rates": []map[string]any{{"name": "requests", "limit": 5, "period": "soon"}}},
		map[string]any{"rates": []map[string]any{{"name": "a b", "limit": 5, "period": "1m"}}},
		map[string]any{"rates": []map[string]any{{"name": "x", "limit": 5, "period": "1m"}, {"name": "x", "limit": 5, "period": "1s"}}},
		map[string]any{"credits": map[string]any{"refill": map[string]any{"amount": 0, "interval": "monthly"}}},
		map[string]any{"credits": map[string]any{"refill": map[string]any{"amount": 5, "interval": "weekly"}}},
	} {
		e.do(req{method: "PUT", path: keyPath(k, "/limits"), key: e.root, body: bad}).problem(t, http.StatusUnprocessableEntity, "invalid_limits")
	}
	for _, bad := range []any{map[string]any{}, map[string]any{"set": 1, "add": 1}, map[string]any{"set": -1}, map[string]any{"add": int64(apikey.MaxCredits) + 1}} {
		r := e.do(req{method: "POST", path: keyPath(k, "/credits"), key: e.root, body: bad})
		assert.Equal(t, http.StatusUnprocessableEntity, r.StatusCode, "%v: %s", bad, r.body)
	}

	// Clearing: {} removes the key's own limits; the owner's remain.
	r = e.do(req{method: "PUT", path: keyPath(k, "/limits"), key: e.root, body: "{}"})
	require.Equal(t, http.StatusOK, r.StatusCode, "%s", r.body)
	require.NoError(t, json.Unmarshal(r.body, &got))
	assert.Nil(t, got.Limits)
	assert.Len(t, got.Effective.Rates, 1)
}

// TestLimitsAtCreation: POST /api/keys takes limits and a first balance.
func TestLimitsAtCreation(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do(req{method: "POST", path: "/admin/api/keys", key: e.root, body: map[string]any{
		"name": "Metered", "groups": []string{"reports:read"},
		"limits":  map[string]any{"rates": []map[string]any{{"name": "requests", "limit": 5, "period": "1s"}}, "credits": map[string]any{}},
		"credits": 42,
	}})
	require.Equal(t, http.StatusCreated, r.StatusCode, "%s", r.body)
	v := r.json(t)
	k := v["key"].(map[string]any)
	e.remember(uuid.MustParse(k["id"].(string)), v["plaintext"].(string))
	assert.Contains(t, string(mustJSON(t, k["limits"])), `"period":"1s"`)
	var got limitsBody
	require.NoError(t, json.Unmarshal(e.do(req{method: "GET", path: keyPath(k, "/limits"), key: e.root}).body, &got))
	require.NotNil(t, got.Credits)
	assert.Equal(t, int64(42), got.Credits.Remaining)

	before := e.count()
	e.do(req{method: "POST", path: "/admin/api/keys", key: e.root, body: map[string]any{
		"name": "No policy", "groups": []string{"reports:read"}, "credits": 3,
	}}).problem(t, http.StatusUnprocessableEntity, "invalid_credits")
	e.do(req{method: "POST", path: "/admin/api/keys", key: e.root, body: map[string]any{
		"name": "Bad", "groups": []string{"reports:read"}, "limits": map[string]any{"rates": []map[string]any{{"name": "r", "limit": -1, "period": "1s"}}},
	}}).problem(t, http.StatusUnprocessableEntity, "invalid_limits")
	assert.Equal(t, before, e.count(), "nothing issued")
}

// TestLimitsOfAnotherOrganization: an administrator of another owner gets
// 404 on every limits route, and changes nothing.
func TestLimitsOfAnotherOrganization(t *testing.T) {
	e := newEnv(t, nil)
	gk, globexAdmin, err := e.m.Issue(context.Background(), apikey.IssueRequest{Name: "Globex admin", CreatedBy: "test", Owner: "globex",
		Groups: []string{"apikeys:admin", "reports:read"}})
	require.NoError(t, err)
	e.remember(gk.ID, globexAdmin)
	k, _ := e.create("CI deploy", "reports:read")
	r := e.do(req{method: "PUT", path: keyPath(k, "/limits"), key: e.root, body: map[string]any{"credits": map[string]any{}}})
	require.Equal(t, http.StatusOK, r.StatusCode, "%s", r.body)
	r = e.do(req{method: "POST", path: keyPath(k, "/credits"), key: e.root, body: map[string]any{"set": 5}})
	require.Equal(t, http.StatusOK, r.StatusCode, "%s", r.body)

	for _, rt := range []req{
		{method: "GET", path: keyPath(k, "/limits")},
		{method: "PUT", path: keyPath(k, "/limits"), body: map[string]any{"rates": []map[string]any{{"name": "requests", "limit": 1, "period": "1h"}}}},
		{method: "POST", path: keyPath(k, "/credits"), body: map[string]any{"set": 1000}},
		{method: "POST", path: keyPath(k, "/credits"), body: map[string]any{"add": 1000}},
	} {
		rt.key = globexAdmin
		res := e.do(rt)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, "%s %s: %s", rt.method, rt.path, res.body)
		assert.NotContains(t, string(res.body), "remaining", rt.method+" "+rt.path)
	}
	var got limitsBody
	require.NoError(t, json.Unmarshal(e.do(req{method: "GET", path: keyPath(k, "/limits"), key: e.root}).body, &got))
	require.NotNil(t, got.Limits)
	assert.Empty(t, got.Limits.Rates, "unchanged")
	require.NotNil(t, got.Credits)
	assert.Equal(t, int64(5), got.Credits.Remaining, "unchanged")
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
