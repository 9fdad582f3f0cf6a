package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
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
		At           time.Time      `json:"at"`
		Owner        string         `json:"owner"`
		KeyID        uuid.UUID      `json:"key_id"`
		ActorID      string         `json:"actor_id"`
		ActorName    string         `json:"actor_name"`
		ActorPreview string         `json:"actor_preview"`
		Reason       string         `json:"reason"`
		Kind         string         `json:"kind"`
		Old          map[string]any `json:"old"`
		New          map[string]any `json:"new"`
	} `json:"events"`
	NextCursor *string `json:"next_cursor"`
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
		assert.Equal(e.t, []string{"actor_id", "actor_name", "actor_preview", "at", "key_id", "kind", "new", "old", "owner", "reason"}, fields, "no store-wide position")
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

	page := e.events(e.root, keyPath(k, "/events?order=oldest"))
	require.Len(t, page.Events, 4)
	assert.Nil(t, page.NextCursor, "one page")
	var kinds, actors []string
	for i, ev := range page.Events {
		kinds = append(kinds, ev.Kind)
		actors = append(actors, ev.ActorName)
		assert.Equal(t, k["id"], ev.KeyID.String())
		assert.Equal(t, apikey.DefaultOwner, ev.Owner)
		if i > 0 {
			assert.False(t, ev.At.Before(page.Events[i-1].At), "oldest first")
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

	// Newest first by default.
	newest := e.events(e.root, keyPath(k, "/events"))
	require.Len(t, newest.Events, 4)
	assert.Equal(t, "deactivated", newest.Events[0].Kind, "the newest first by default")
	assert.Equal(t, "issued", newest.Events[3].Kind)

	// Paged one at a time, through next_cursor, the same events, in both
	// orders.
	for _, order := range []string{"oldest", "newest"} {
		var paged []string
		path := keyPath(k, "/events?limit=1&order="+order)
		for {
			p := e.events(e.root, path)
			for _, ev := range p.Events {
				paged = append(paged, ev.Kind)
			}
			if p.NextCursor == nil {
				break
			}
			require.Len(t, p.Events, 1)
			path = keyPath(k, "/events?limit=1&order="+order+"&cursor="+url.QueryEscape(*p.NextCursor))
		}
		want := []string{"issued", "renamed", "groups_changed", "deactivated"}
		if order == "newest" {
			slices.Reverse(want)
		}
		assert.Equal(t, want, paged, order)
	}
	// Filtered by kind and by actor (the acting key's ID).
	renamed := e.events(e.root, keyPath(k, "/events?kind=renamed"))
	require.Len(t, renamed.Events, 1)
	assert.Equal(t, "renamed", renamed.Events[0].Kind)
	byLimited := e.events(e.root, keyPath(k, "/events?actor="+url.QueryEscape(page.Events[2].ActorID)))
	require.Len(t, byLimited.Events, 1)
	assert.Equal(t, "Limited admin", byLimited.Events[0].ActorName)

	// Since a time to come: an empty page, not a 404.
	assert.Empty(t, e.events(e.root, keyPath(k, "/events?since=2999-01-01T00:00:00Z")).Events)
	assert.Len(t, e.events(e.root, keyPath(k, "/events?since="+page.Events[1].At.Format(time.RFC3339Nano))).Events, 3)

	stored, err := e.store.Get(context.Background(), uuid.MustParse(k["id"].(string)))
	require.NoError(t, err)
	body := string(e.do(req{method: "GET", path: keyPath(k, "/events"), key: e.root}).body)
	assert.NotContains(t, body, stored.LookupID, "the lookup ID is never shown")
	assert.NotContains(t, body, "lookup")
	assert.NotContains(t, body, "hash")

	for _, query := range []string{"?cursor=x", "?cursor=RQAB", "?limit=0", "?limit=1001", "?since=yesterday", "?order=sideways", "?kind=nope", "?key=nope"} {
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
		for _, query := range []string{"", "?order=oldest", "?limit=1", "?since=2000-01-01T00:00:00Z", "?kind=issued"} {
			r := e.do(req{method: "GET", path: keyPath(key, "/events"+query), key: e.root})
			r.problem(t, http.StatusNotFound, "not_found")
			assert.Equal(t, string(never.body), string(r.body), "another organization's key is as one that never existed")
		}
	}
	// Globex reads its own, deleted or not.
	assert.Len(t, e.events(globexAdmin, keyPath(globexLive, "/events")).Events, 1)
	gone := e.events(globexAdmin, keyPath(globexGone, "/events?order=oldest"))
	require.Len(t, gone.Events, 2)
	assert.Equal(t, "deleted", gone.Events[1].Kind)
	assert.Equal(t, "Globex gone", gone.Events[1].Old["name"])
	// And the root administrator reads their own deleted key's history,
	// which globex cannot.
	own := e.events(e.root, keyPath(ownGone, "/events?order=oldest"))
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
	activity := e.events(e.root, "/admin/api/events?order=oldest")
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
		if p.NextCursor == nil {
			break
		}
		path = "/admin/api/events?limit=2&cursor=" + url.QueryEscape(*p.NextCursor)
	}
	assert.Equal(t, len(activity.Events), paged)

	// Globex's activity: its own four events.
	g := e.events(globexAdmin, "/admin/api/events")
	require.Len(t, g.Events, 4)
	for _, ev := range g.Events {
		assert.Equal(t, "globex", ev.Owner)
	}
}

// TestEventsAreAccountable: a change made through the API names the acting
// key by its ID and preview, so that two administrators' keys of the same
// name are told apart in the audit trail.
func TestEventsAreAccountable(t *testing.T) {
	e := newEnv(t, nil)
	var admins []*apikey.Key
	var plaintexts []string
	for range 2 {
		k, p, err := e.m.Issue(context.Background(), apikey.IssueRequest{Name: "Administrator", CreatedBy: "test",
			Groups: []string{"apikeys:admin", "reports:read"}})
		require.NoError(t, err)
		e.remember(k.ID, p)
		admins, plaintexts = append(admins, k), append(plaintexts, p)
	}
	target, _ := e.create("CI", "reports:read")
	for i, name := range []string{"CI 1", "CI 2"} {
		r := e.do(req{method: "PUT", path: keyPath(target, "/name"), key: plaintexts[i], body: map[string]any{"name": name}})
		require.Equal(t, http.StatusOK, r.StatusCode, string(r.body))
	}
	page := e.events(e.root, keyPath(target, "/events?kind=renamed&order=oldest"))
	require.Len(t, page.Events, 2)
	for i, ev := range page.Events {
		assert.Equal(t, "Administrator", ev.ActorName)
		assert.Equal(t, admins[i].ID.String(), ev.ActorID, "the acting key's ID")
		assert.Equal(t, admins[i].Preview, ev.ActorPreview, "the acting key's preview")
	}
	assert.NotEqual(t, page.Events[0].ActorID, page.Events[1].ActorID, "two keys of the same name are told apart")
	mine := e.events(e.root, "/admin/api/events?actor="+admins[1].ID.String())
	require.Len(t, mine.Events, 1)
	assert.Equal(t, "CI 2", mine.Events[0].New["name"])

	// A full key in metadata is refused, as in a name.
	r := e.do(req{method: "POST", path: "/admin/api/keys", key: e.root,
		body: map[string]any{"name": "m", "groups": []string{"reports:read"}, "metadata": map[string]string{"note": "old " + plaintexts[0]}}})
	r.problem(t, http.StatusUnprocessableEntity, "invalid_metadata")
	assert.NotContains(t, string(r.body), plaintexts[0])
}

// TestEventsShowNothingOfOtherOrganizations: an administrator who makes a
// change, then another after another organization made seven, reads
// exactly what they read when nobody else changed anything: the same
// events, the same cursors, no gap.
func TestEventsShowNothingOfOtherOrganizations(t *testing.T) {
	read := func(busyNeighbour bool) []string {
		e := newEnv(t, nil)
		k, globexAdmin, err := e.m.Issue(context.Background(), apikey.IssueRequest{Name: "Globex admin", CreatedBy: "test", Owner: "globex",
			Groups: []string{"apikeys:admin", "reports:read"}})
		require.NoError(t, err)
		e.remember(k.ID, globexAdmin)
		mine, _ := e.create("Mine", "reports:read")
		if busyNeighbour {
			for i := range 7 {
				r := e.do(req{method: "POST", path: "/admin/api/keys", key: globexAdmin, body: map[string]any{"name": "g" + strconv.Itoa(i), "groups": []string{"reports:read"}}})
				require.Equal(t, http.StatusCreated, r.StatusCode, string(r.body))
			}
		}
		require.Equal(t, http.StatusOK, e.do(req{method: "PUT", path: keyPath(mine, "/name"), key: e.root, body: map[string]any{"name": "Mine 2"}}).StatusCode)
		var out []string
		for _, order := range []string{"oldest", "newest"} {
			for _, base := range []string{"/admin/api/events?limit=1&order=" + order, keyPath(mine, "/events?limit=1&order="+order)} {
				path := base
				for {
					r := e.do(req{method: "GET", path: path, key: e.root})
					require.Equal(t, http.StatusOK, r.StatusCode, string(r.body))
					var raw struct {
						Events     []map[string]any `json:"events"`
						NextCursor *string          `json:"next_cursor"`
					}
					require.NoError(t, json.Unmarshal(r.body, &raw))
					for _, ev := range raw.Events {
						// What differs between two runs anyway: times and IDs.
						delete(ev, "at")
						delete(ev, "key_id")
						delete(ev, "actor_id")
						delete(ev, "actor_preview")
						b, _ := json.Marshal(ev)
						out = append(out, string(b))
					}
					if raw.NextCursor == nil {
						out = append(out, "end")
						break
					}
					out = append(out, "cursor "+*raw.NextCursor)
					path = base + "&cursor=" + url.QueryEscape(*raw.NextCursor)
				}
			}
		}
		return out
	}
	quiet, busy := read(false), read(true)
	assert.Equal(t, quiet, busy, "another organization's activity leaves no trace in what an administrator reads")
	assert.NotEmpty(t, quiet)
}
