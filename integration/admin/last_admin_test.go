package admin_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// idOf returns the ID of the key with this name, as the root admin lists it.
func (e *env) idOf(name string) string {
	e.t.Helper()
	for _, k := range e.do(req{method: "GET", path: "/admin/api/keys?limit=500", key: e.root}).json(e.t)["keys"].([]any) {
		if k := k.(map[string]any); k["name"] == name {
			return k["id"].(string)
		}
	}
	e.t.Fatalf("no key named %q", name)
	return ""
}

// TestLastAdministratorKeyIsKept: the API refuses to deactivate or delete
// the last active key that can administer the organization, or to take the
// admin group from it, unless the request says "force": true.
func TestLastAdministratorKeyIsKept(t *testing.T) {
	e := newEnv(t, nil)
	root := "/admin/api/keys/" + e.idOf("Root admin")
	limited := "/admin/api/keys/" + e.idOf("Limited admin")

	// Another organization's administrator does not count for this one.
	k, globex, err := e.m.Issue(context.Background(), apikey.IssueRequest{Name: "Globex admin", CreatedBy: "test", Owner: "globex",
		Groups: []string{"apikeys:admin", "reports:read"}})
	require.NoError(t, err)
	e.remember(k.ID, globex)
	// Nor does an expired administrator key: issued by a Manager whose
	// clock is a day behind, it expired an hour ago.
	past, err := apikey.New(e.store, apikey.WithGroups(testGroups...), apikey.WithLastUsedFlushInterval(-1),
		apikey.WithClock(func() time.Time { return time.Now().Add(-24 * time.Hour) }))
	require.NoError(t, err)
	t.Cleanup(func() { _ = past.Close() })
	k, expired, err := past.Issue(context.Background(), apikey.IssueRequest{Name: "Expired admin", CreatedBy: "test",
		Groups: []string{"apikeys:admin"}, ExpiresAt: time.Now().Add(-time.Hour)})
	require.NoError(t, err)
	e.remember(k.ID, expired)
	// Nor an inactive one.
	inactive, _ := e.create("Inactive admin", "apikeys:admin")
	require.Equal(t, http.StatusOK, e.do(req{method: "POST", path: keyPath(inactive, "/deactivate"), key: e.root}).StatusCode)

	// With two administrator keys, either may go.
	r := e.do(req{method: "POST", path: limited + "/deactivate", key: e.root})
	require.Equal(t, http.StatusOK, r.StatusCode, "body: %s", r.body)

	status := func(path string) string {
		t.Helper()
		return e.do(req{method: "GET", path: path, key: e.root}).json(t)["status"].(string)
	}
	// Root admin is now the last: refused, on every route that would lose it.
	for _, rt := range []req{
		{method: "POST", path: root + "/deactivate"},
		{method: "POST", path: root + "/deactivate", body: `{}`},
		{method: "POST", path: root + "/deactivate", body: `{"force": false}`},
		{method: "DELETE", path: root, body: `{"confirm": "Root admin"}`},
		{method: "PUT", path: root + "/groups", body: `{"groups": ["reports:read"]}`},
	} {
		rt.key = e.root
		detail := e.do(rt).problem(t, http.StatusConflict, "last_administrator")
		assert.Contains(t, detail, `"force": true`)
		assert.Equal(t, "active", status(root), "%s %s", rt.method, rt.path)
	}
	// Keeping the admin group is no loss; nor is activating.
	r = e.do(req{method: "PUT", path: root + "/groups", key: e.root, body: `{"groups": ["apikeys:admin", "billing:read", "billing:write", "reports:read"]}`})
	require.Equal(t, http.StatusOK, r.StatusCode, "body: %s", r.body)

	// Once another key can administer, the root key may go.
	require.Equal(t, http.StatusOK, e.do(req{method: "POST", path: limited + "/activate", key: e.root}).StatusCode)
	r = e.do(req{method: "POST", path: root + "/deactivate", key: e.root})
	require.Equal(t, http.StatusOK, r.StatusCode, "body: %s", r.body)
	// Now Limited admin is the last, and signs in to remove itself: forced.
	e.do(req{method: "DELETE", path: limited, key: e.limited, body: `{"confirm": "Limited admin"}`}).problem(t, http.StatusConflict, "last_administrator")
	r = e.do(req{method: "DELETE", path: limited, key: e.limited, body: `{"confirm": "Limited admin", "force": true}`})
	require.Equal(t, http.StatusNoContent, r.StatusCode, "body: %s", r.body)
	assert.Equal(t, http.StatusUnauthorized, e.do(req{method: "GET", path: "/admin/api/me", key: e.limited}).StatusCode)
}

// TestLastAdministratorForced: deactivating the last administrator key
// with "force": true goes through.
func TestLastAdministratorForced(t *testing.T) {
	e := newEnv(t, nil)
	root := "/admin/api/keys/" + e.idOf("Root admin")
	limited := "/admin/api/keys/" + e.idOf("Limited admin")
	require.Equal(t, http.StatusNoContent, e.do(req{method: "DELETE", path: limited, key: e.root, body: `{"confirm": "Limited admin"}`}).StatusCode)
	r := e.do(req{method: "PUT", path: root + "/groups", key: e.root, body: `{"groups": ["reports:read"], "force": true}`})
	require.Equal(t, http.StatusOK, r.StatusCode, "body: %s", r.body)
	assert.Equal(t, []any{"reports:read"}, r.json(t)["groups"])
}

// TestAdministratorsDeactivatingEachOther: two administrators who
// deactivate each other's keys at the same time through one handler never
// both succeed.
func TestAdministratorsDeactivatingEachOther(t *testing.T) {
	e := newEnv(t, nil)
	// Two administrators with the same groups, so that each may change the
	// other's key; the limited one has fewer and is deleted.
	second := e.issue("Second admin", "apikeys:admin", "billing:read", "billing:write", "reports:read")
	require.NoError(t, e.m.Delete(context.Background(), uuid.MustParse(e.idOf("Limited admin"))))
	rootID, secondID := e.idOf("Root admin"), e.idOf("Second admin")
	for range 10 {
		var wg sync.WaitGroup
		codes := make([]int, 2)
		start := make(chan struct{})
		for i, rt := range []req{
			{method: "POST", path: "/admin/api/keys/" + secondID + "/deactivate", key: e.root},
			{method: "POST", path: "/admin/api/keys/" + rootID + "/deactivate", key: second},
		} {
			wg.Go(func() {
				<-start
				codes[i] = e.do(rt).StatusCode
			})
		}
		close(start)
		wg.Wait()
		// The first succeeds; the second is refused as the last
		// administrator (409), or because its own key is now inactive (401).
		assert.Contains(t, codes, http.StatusOK, "%v", codes)
		assert.NotEqual(t, []int{http.StatusOK, http.StatusOK}, codes)
		active := 0
		for _, id := range []string{rootID, secondID} {
			k, err := e.m.Get(context.Background(), uuid.MustParse(id))
			require.NoError(t, err)
			if k.Active {
				active++
			}
		}
		require.Equal(t, 1, active, "one administrator key stays active: %v", codes)
		// Both active again for the next round (trusted code, no actor).
		require.NoError(t, e.m.Activate(context.Background(), uuid.MustParse(rootID)))
		require.NoError(t, e.m.Activate(context.Background(), uuid.MustParse(secondID)))
	}
}

// TestSelfAndSearch: the key the request is signed in with is marked, and
// the list searches names within the organization.
func TestSelfAndSearch(t *testing.T) {
	e := newEnv(t, nil)
	for _, name := range []string{"Billing sync", "billing export", "Reports 100%", "Reports_x"} {
		e.create(name, "reports:read")
	}
	k, globex, err := e.m.Issue(context.Background(), apikey.IssueRequest{Name: "Globex billing", CreatedBy: "test", Owner: "globex",
		Groups: []string{"apikeys:admin", "reports:read"}})
	require.NoError(t, err)
	e.remember(k.ID, globex)

	self := map[string]bool{}
	for _, k := range e.do(req{method: "GET", path: "/admin/api/keys", key: e.limited}).json(t)["keys"].([]any) {
		k := k.(map[string]any)
		self[k["name"].(string)] = k["self"].(bool)
	}
	assert.Equal(t, map[string]bool{"Root admin": false, "Limited admin": true, "Reader": false,
		"Billing sync": false, "billing export": false, "Reports 100%": false, "Reports_x": false}, self)
	one := e.do(req{method: "GET", path: "/admin/api/keys/" + e.idOf("Root admin"), key: e.root}).json(t)
	assert.Equal(t, true, one["self"])

	search := func(key, query string) []string {
		t.Helper()
		r := e.do(req{method: "GET", path: "/admin/api/keys?sort=created&" + query, key: key})
		require.Equal(t, http.StatusOK, r.StatusCode, "body: %s", r.body)
		var out []string
		for _, k := range r.json(t)["keys"].([]any) {
			out = append(out, k.(map[string]any)["name"].(string))
		}
		return out
	}
	assert.Equal(t, []string{"Billing sync", "billing export"}, search(e.root, "name=BILLING"))
	assert.Equal(t, []string{"Globex billing"}, search(globex, "name=billing"), "owner-scoped")
	assert.Equal(t, []string{"Reports 100%"}, search(e.root, "name=%25"), "% is literal")
	assert.Equal(t, []string{"Reports_x"}, search(e.root, "name=_"), "_ is literal")
	assert.Empty(t, search(e.root, "name=nothing"))
	assert.Equal(t, []string{"Billing sync"}, search(e.root, "name=billing&limit=1"), "paged in creation order")
	e.do(req{method: "GET", path: "/admin/api/keys?name=%20%20", key: e.root}).problem(t, http.StatusBadRequest, "invalid_request")
	e.do(req{method: "GET", path: "/admin/api/keys?name=a%07b", key: e.root}).problem(t, http.StatusBadRequest, "invalid_request")
}
