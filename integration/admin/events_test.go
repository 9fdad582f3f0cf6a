package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eventsPage is the body of an events route.
type eventsPage struct {
	Events []struct {
		Position  int64          `json:"position"`
		At        time.Time      `json:"at"`
		Owner     string         `json:"owner"`
		KeyID     uuid.UUID      `json:"key_id"`
		ActorName string         `json:"actor_name"`
		Reason    string         `json:"reason"`
		Kind      string         `json:"kind"`
		Old       map[string]any `json:"old"`
		New       map[string]any `json:"new"`
	} `json:"events"`
	NextAfter *int64 `json:"next_after"`
}

// events gets an events route and decodes its page, checking that every
// event has exactly the documented fields.
func (e *env) events(key, path string) eventsPage {
	e.t.Helper()
	r := e.do(req{method: "GET", path: path, key: key})
	require.Equal(e.t, http.StatusOK, r.StatusCode, "GET %s: %s", path, r.body)
	var raw struct {
		Events []map[string]json.RawMessage `json:"events"`
	}
	require.NoError(e.t, json.Unmarshal(r.body, &raw))
	for _, ev := range raw.Events {
		var fields []string
		for f := range ev {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		assert.Equal(e.t, []string{"actor_id", "actor_name", "at", "key_id", "kind", "new", "old", "owner", "position", "reason"}, fields)
	}
	var page eventsPage
	require.NoError(e.t, json.Unmarshal(r.body, &page))
	return page
}

// TestKeyHistory: a key's history through the API, with who changed what,
// old and new, paged, filtered by time; and no lookup ID in it.
func TestKeyHistory(t *testing.T) {
	e := newEnv(t, nil)
	k, _ := e.create("CI deploy", "reports:read")
	require.Equal(t, http.StatusOK, e.do(req{method: "PUT", path: keyPath(k, "/name"), key: e.root, body: map[string]any{"name": "CI deploy (prod)"}}).StatusCode)
	require.Equal(t, http.StatusOK, e.do(req{method: "PUT", path: keyPath(k, "/groups"), key: e.limited, body: map[string]any{"groups": []string{"reports:read"}}}).StatusCode)
	require.Equal(t, http.StatusOK, e.do(req{method: "POST", path: keyPath(k, "/deactivate"), key: e.root}).StatusCode)

	page := e.events(e.root, keyPath(k, "/events"))
	require.Len(t, page.Events, 4)
	assert.Nil(t, page.NextAfter, "one page")
	var kinds, actors []string
	for i, ev := range page.Events {
		kinds = append(kinds, ev.Kind)
		actors = append(actors, ev.ActorName)
		assert.Equal(t, k["id"], ev.KeyID.String())
		assert.Equal(t, apikey.DefaultOwner, ev.Owner)
		if i > 0 {
			assert.Greater(t, ev.Position, page.Events[i-1].Position, "oldest first")
		}
	}
	assert.Equal(t, []string{"issued", "renamed", "groups_changed", "deactivated"}, kinds)
	assert.Equal(t, []string{"Root admin", "Root admin", "Limited admin", "Root admin"}, actors)
	assert.Equal(t, "CI deploy", page.Events[0].New["name"])
	assert.Equal(t, []any{"reports:read"}, page.Events[0].New["groups"])
	assert.Equal(t, map[string]any{"name": "CI deploy"}, page.Events[1].Old)
	assert.Equal(t, map[string]any{"name": "CI deploy (prod)"}, page.Events[1].New)
	assert.Empty(t, page.Events[3].Old)
	assert.Empty(t, page.Events[3].New)

	// Paged one at a time, through next_after, the same events.
	var paged []int64
	path := keyPath(k, "/events?limit=1")
	for {
		p := e.events(e.root, path)
		for _, ev := range p.Events {
			paged = append(paged, ev.Position)
		}
		if p.NextAfter == nil {
			break
		}
		require.Len(t, p.Events, 1)
		path = keyPath(k, "/events?limit=1&after="+strconv.FormatInt(*p.NextAfter, 10))
	}
	var all []int64
	for _, ev := range page.Events {
		all = append(all, ev.Position)
	}
	assert.Equal(t, all, paged)

	// Past the end, and since a time to come: an empty page, not a 404.
	last := strconv.FormatInt(page.Events[3].Position, 10)
	assert.Empty(t, e.events(e.root, keyPath(k, "/events?after="+last)).Events)
	assert.Empty(t, e.events(e.root, keyPath(k, "/events?since=2999-01-01T00:00:00Z")).Events)
	assert.Len(t, e.events(e.root, keyPath(k, "/events?since="+page.Events[1].At.Format(time.RFC3339Nano))).Events, 3)

	stored, err := e.store.Get(context.Background(), uuid.MustParse(k["id"].(string)))
	require.NoError(t, err)
	body := string(e.do(req{method: "GET", path: keyPath(k, "/events"), key: e.root}).body)
	assert.NotContains(t, body, stored.LookupID, "the lookup ID is never shown")
	assert.NotContains(t, body, "lookup")
	assert.NotContains(t, body, "hash")

	for _, query := range []string{"?after=-1", "?after=x", "?limit=0", "?limit=1001", "?since=yesterday"} {
		r := e.do(req{method: "GET", path: keyPath(k, "/events"+query), key: e.root})
		assert.Equal(t, http.StatusBadRequest, r.StatusCode, "%s: %s", query, r.body)
		r = e.do(req{method: "GET", path: "/admin/api/events" + query, key: e.root})
		assert.Equal(t, http.StatusBadRequest, r.StatusCode, "%s: %s", query, r.body)
	}
	r := e.do(req{method: "POST", path: keyPath(k, "/events"), key: e.root})
	assert.Equal(t, http.StatusMethodNotAllowed, r.StatusCode)
	assert.Equal(t, "GET, HEAD", r.Header.Get("Allow"))
	// Reading history takes an administrator.
	e.do(req{method: "GET", path: keyPath(k, "/events"), key: e.reader}).problem(t, http.StatusForbidden, "forbidden")
	e.do(req{method: "GET", path: "/admin/api/events", key: e.reader}).problem(t, http.StatusForbidden, "forbidden")
}

// TestEventsOfAnotherOrganization: a key of another organization, deleted
// or not, has no history for an administrator (404, the very body of a key
// that never existed); their own deleted key's history stays readable; the
// activity list holds their own organization's events only.
func TestEventsOfAnotherOrganization(t *testing.T) {
	e := newEnv(t, nil)
	k, globexAdmin, err := e.m.Issue(context.Background(), apikey.IssueRequest{Name: "Globex admin", CreatedBy: "test", Owner: "globex",
		Groups: []string{"apikeys:admin", "billing:read", "billing:write", "reports:read"}})
	require.NoError(t, err)
	e.remember(k.ID, globexAdmin)
	create := func(admin, name string) map[string]any {
		r := e.do(req{method: "POST", path: "/admin/api/keys", key: admin, body: map[string]any{"name": name, "groups": []string{"reports:read"}}})
		require.Equal(t, http.StatusCreated, r.StatusCode, string(r.body))
		v := r.json(t)
		e.remember(uuid.MustParse(v["key"].(map[string]any)["id"].(string)), v["plaintext"].(string))
		return v["key"].(map[string]any)
	}
	del := func(admin string, key map[string]any) {
		r := e.do(req{method: "DELETE", path: keyPath(key, ""), key: admin, body: map[string]any{"confirm": key["name"]}})
		require.Equal(t, http.StatusNoContent, r.StatusCode, string(r.body))
	}
	globexLive := create(globexAdmin, "Globex live")
	globexGone := create(globexAdmin, "Globex gone")
	del(globexAdmin, globexGone)
	ownGone := create(e.root, "Own gone")
	del(e.root, ownGone)

	never := e.do(req{method: "GET", path: "/admin/api/keys/0191c0de-7e57-7000-8000-000000000000/events", key: e.root})
	never.problem(t, http.StatusNotFound, "not_found")
	for _, key := range []map[string]any{globexLive, globexGone} {
		for _, query := range []string{"", "?after=0", "?limit=1", "?since=2000-01-01T00:00:00Z"} {
			r := e.do(req{method: "GET", path: keyPath(key, "/events"+query), key: e.root})
			r.problem(t, http.StatusNotFound, "not_found")
			assert.Equal(t, string(never.body), string(r.body), "another organization's key is as one that never existed")
		}
	}
	// Globex reads its own, deleted or not.
	assert.Len(t, e.events(globexAdmin, keyPath(globexLive, "/events")).Events, 1)
	gone := e.events(globexAdmin, keyPath(globexGone, "/events"))
	require.Len(t, gone.Events, 2)
	assert.Equal(t, "deleted", gone.Events[1].Kind)
	assert.Equal(t, "Globex gone", gone.Events[1].Old["name"])
	// And the root administrator reads their own deleted key's history,
	// which globex cannot.
	own := e.events(e.root, keyPath(ownGone, "/events"))
	require.Len(t, own.Events, 2)
	assert.Equal(t, []string{"issued", "deleted"}, []string{own.Events[0].Kind, own.Events[1].Kind})
	r := e.do(req{method: "GET", path: keyPath(ownGone, "/events"), key: globexAdmin})
	assert.Equal(t, http.StatusNotFound, r.StatusCode)
	assert.Equal(t, string(never.body), string(r.body))

	// The activity list: the default organization's events only, whatever
	// the owner filter says.
	globexIDs := []string{k.ID.String(), globexLive["id"].(string), globexGone["id"].(string)}
	for _, query := range []string{"", "?owner=globex", "?limit=2"} {
		r := e.do(req{method: "GET", path: "/admin/api/events" + query, key: e.root})
		require.Equal(t, http.StatusOK, r.StatusCode, string(r.body))
		for _, id := range globexIDs {
			assert.NotContains(t, string(r.body), id, query)
		}
		assert.NotContains(t, string(r.body), "Globex", query)
		assert.NotContains(t, string(r.body), `"owner":"globex"`, query)
	}
	assert.Empty(t, e.events(e.root, "/admin/api/events?owner=globex").Events)
	activity := e.events(e.root, "/admin/api/events")
	// Root admin, Limited admin, Reader issued by the bootstrap step, and
	// Own gone issued and deleted.
	var kinds, names []string
	for _, ev := range activity.Events {
		assert.Equal(t, apikey.DefaultOwner, ev.Owner)
		kinds = append(kinds, ev.Kind)
		names = append(names, ev.ActorName)
	}
	assert.Equal(t, []string{"issued", "issued", "issued", "issued", "deleted"}, kinds)
	assert.Equal(t, []string{apikey.OperatorName, apikey.OperatorName, apikey.OperatorName, "Root admin", "Root admin"}, names)

	// Paging through the activity two at a time finds the same events.
	var paged int
	path := "/admin/api/events?limit=2"
	for {
		p := e.events(e.root, path)
		paged += len(p.Events)
		if p.NextAfter == nil {
			break
		}
		path = "/admin/api/events?limit=2&after=" + strconv.FormatInt(*p.NextAfter, 10)
	}
	assert.Equal(t, len(activity.Events), paged)

	// Globex's activity: its own four events.
	g := e.events(globexAdmin, "/admin/api/events")
	require.Len(t, g.Events, 4)
	for _, ev := range g.Events {
		assert.Equal(t, "globex", ev.Owner)
	}
}
