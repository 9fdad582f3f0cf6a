package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestListSortsFiltersAndStates is the tab at scale, through the API:
// newest first by default, oldest first and by name on request, expiring
// before a time in expiry order, status=active as the keys that work now,
// each key's state (why it stopped working), and search by preview, owner
// scoped.
func TestListSortsFiltersAndStates(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newEnvWithManager(t, []apikey.Option{apikey.WithClock(clock)}, nil)
	ctx := context.Background()
	issue := func(name string, expires time.Duration) *apikey.Key {
		t.Helper()
		req := apikey.IssueRequest{Name: name, Groups: []string{"reports:read"}, CreatedBy: "test"}
		if expires != 0 {
			req.ExpiresAt = now.Add(expires)
		}
		k, plaintext, err := e.m.Issue(ctx, req)
		require.NoError(t, err)
		e.remember(k.ID, plaintext)
		mu.Lock()
		now = now.Add(time.Second)
		mu.Unlock()
		return k
	}
	issue("soon", 2*time.Hour)
	later := issue("later", 30*24*time.Hour)
	issue("gone", time.Hour)
	off := issue("off", 0)
	old := issue("old", 0)
	require.NoError(t, e.m.Deactivate(ctx, off.ID))
	succ, plaintext, err := e.m.Roll(ctx, old.ID, apikey.RollRequest{Grace: time.Minute, CreatedBy: "test"})
	require.NoError(t, err)
	e.remember(succ.ID, plaintext)
	mu.Lock()
	now = now.Add(90 * time.Minute) // gone expired, old's grace is over
	mu.Unlock()

	type row struct{ name, state string }
	list := func(query string) []row {
		t.Helper()
		r := e.do(req{method: "GET", path: "/admin/api/keys?" + query, key: e.root})
		require.Equal(t, http.StatusOK, r.StatusCode, "body: %s", r.body)
		var out []row
		for _, k := range r.json(t)["keys"].([]any) {
			k := k.(map[string]any)
			out = append(out, row{k["name"].(string), k["state"].(string)})
		}
		return out
	}
	names := func(rows []row) []string {
		var out []string
		for _, r := range rows {
			out = append(out, r.name)
		}
		return out
	}

	all := list("")
	assert.Equal(t, []string{"old", "old", "off", "gone", "later", "soon", "Reader", "Limited admin", "Root admin"}, names(all),
		"newest first by default; a roll's successor is the newest")
	assert.Equal(t, []row{{"old", "active"}, {"old", "rolled"}, {"off", "inactive"}, {"gone", "expired"}, {"later", "active"}}, all[:5],
		"each key's state says why it stopped working")
	assert.Equal(t, []string{"Root admin", "Limited admin", "Reader", "soon", "later", "gone", "off", "old", "old"}, names(list("sort=created")))
	assert.Equal(t, []string{"Limited admin", "Reader", "Root admin", "gone", "later", "off", "old", "old", "soon"}, names(list("sort=name")),
		"by name, byte for byte")
	assert.Equal(t, []string{"old", "later", "soon", "Reader", "Limited admin", "Root admin"}, names(list("status=active")),
		"active: the keys that work now, not the expired, rolled or deactivated")
	before := url.QueryEscape(now.Add(24 * time.Hour).Format(time.RFC3339))
	assert.Equal(t, []string{"gone", "soon"}, names(list("expiring_before="+before)), "in expiry order")
	assert.Equal(t, []string{"soon"}, names(list("status=active&expiring_before="+before)))
	assert.Equal(t, []string{"gone"}, names(list("limit=1&expiring_before="+before)))

	// Search by preview, as a leak report gives it, in either form.
	got, err := e.m.Get(ctx, later.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"later"}, names(list("preview="+url.QueryEscape(got.Preview))))
	assert.Equal(t, []string{"later"}, names(list("preview="+url.QueryEscape(strings.Replace(got.Preview, "…", "...", 1)))))
	assert.Empty(t, list("preview="+url.QueryEscape("ak_zzzz…zzzz")))
	e.do(req{method: "GET", path: "/admin/api/keys?preview=nonsense", key: e.root}).problem(t, http.StatusBadRequest, "invalid_request")

	// Another organization's key is not found by its preview.
	other, otherPlain, err := e.m.Issue(ctx, apikey.IssueRequest{Name: "Globex", CreatedBy: "test", Owner: "globex", Groups: []string{"reports:read"}})
	require.NoError(t, err)
	e.remember(other.ID, otherPlain)
	assert.Empty(t, list("preview="+url.QueryEscape(other.Preview)), "owner-scoped")

	// Refusals.
	for _, q := range []string{"sort=oldest", "expiring_before=tomorrow", "sort=name&expiring_before=" + before} {
		e.do(req{method: "GET", path: "/admin/api/keys?" + q, key: e.root}).problem(t, http.StatusBadRequest, "invalid_request")
	}
	// A cursor of one order is refused by another.
	r := e.do(req{method: "GET", path: "/admin/api/keys?limit=1&sort=name", key: e.root})
	cursor := r.json(t)["next_cursor"].(string)
	e.do(req{method: "GET", path: "/admin/api/keys?sort=created&cursor=" + cursor, key: e.root}).problem(t, http.StatusBadRequest, "invalid_cursor")
}

// plainStore hides every optional capability of its Store.
type plainStore struct{ apikey.Store }

// TestListWithoutSortedLister: a Store without the capability lists oldest
// first by default, and refuses an order or filter it cannot serve (501)
// rather than answer an unfiltered list.
func TestListWithoutSortedLister(t *testing.T) {
	e := newEnv(t, func(s apikey.Store) apikey.Store { return plainStore{s} })
	r := e.do(req{method: "GET", path: "/admin/api/keys", key: e.root})
	require.Equal(t, http.StatusOK, r.StatusCode, "body: %s", r.body)
	var names []string
	for _, k := range r.json(t)["keys"].([]any) {
		names = append(names, k.(map[string]any)["name"].(string))
	}
	assert.Equal(t, []string{"Root admin", "Limited admin", "Reader"}, names, "oldest first")
	for _, q := range []string{"sort=-created", "sort=name", "status=active", "preview=ak_abcd...wxyz", "expiring_before=2030-01-01T00:00:00Z"} {
		e.do(req{method: "GET", path: "/admin/api/keys?" + q, key: e.root}).problem(t, http.StatusNotImplemented, "unsupported")
	}
}
