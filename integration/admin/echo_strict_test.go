package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// the admin API redacts only well-formed keys (valid checksum); a key
// cut by one character (or with one typo) is echoed nearly whole in the
// problem detail: unknown field names, unknown/invalid group names.
func TestNearKeyIsNotEchoed(t *testing.T) {
	e := newEnv(t, nil)
	other := e.issue("victim", "reports:read")
	near := other[:len(other)-1] // one character short: no valid checksum
	for _, c := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"POST", "/admin/api/keys", map[string]any{"name": "ok", "groups": []string{"reports:read"}, near: 1}, 400},
		{"POST", "/admin/api/keys", map[string]any{"name": "ok", "groups": []string{near}}, 422},
	} {
		r := e.do(req{method: c.method, path: c.path, key: e.root, body: c.body})
		assert.Equal(t, c.status, r.StatusCode, "%s", r.body)
		t.Logf("%s", r.body)
		assert.NotContains(t, string(r.body), near[8:len(near)-4], "more than a preview of a key is echoed")
	}
}

// an escaped lone surrogate is valid UTF-8 on the wire but not a
// Unicode scalar: encoding/json turns it into U+FFFD, the parser
// differential the strict body parsing was meant to close (I-JSON, RFC 7493
// section 2.1, requires refusing it).
func TestLoneSurrogateIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do(req{method: "POST", path: "/admin/api/keys", key: e.root,
		body: `{"name":"billing \ud800 sync","groups":["reports:read"]}`})
	assert.Equal(t, http.StatusUnprocessableEntity, r.StatusCode, string(r.body))
	assert.Equal(t, 0, e.count()-3, "nothing was stored")

	// A pair is a character, and welcome.
	r = e.do(req{method: "POST", path: "/admin/api/keys", key: e.root,
		body: `{"name":"billing \ud83d\ude00 sync","groups":["reports:read"]}`})
	require.Equal(t, http.StatusCreated, r.StatusCode, string(r.body))
	e.remember(uuid.MustParse(r.json(t)["key"].(map[string]any)["id"].(string)), r.json(t)["plaintext"].(string))
	assert.Equal(t, "billing 😀 sync", r.json(t)["key"].(map[string]any)["name"])
}

// totals never count another organization's keys, and force
// does not reach another organization's keys.
func TestOwnerIsolationOfTotalsAndForce(t *testing.T) {
	e := newEnv(t, nil)
	k, globexAdmin, err := e.m.Issue(context.Background(), apikey.IssueRequest{Name: "Globex admin", CreatedBy: "test", Owner: "globex",
		Groups: []string{"apikeys:admin", "billing:read", "billing:write", "reports:read"}})
	require.NoError(t, err)
	e.remember(k.ID, globexAdmin)
	for i := 0; i < 5; i++ {
		_, _, err := e.m.Issue(context.Background(), apikey.IssueRequest{Name: fmt.Sprintf("Root admin clone %d", i), CreatedBy: "t", Owner: "globex", Groups: []string{"apikeys:admin", "reports:read"}})
		require.NoError(t, err)
	}
	for _, q := range []string{"", "?name=admin", "?name=Root", "?group=apikeys:admin", "?status=active", "?owner=globex", "?owner=default", "?status=active&group=apikeys:admin&name=admin"} {
		body := e.do(req{method: "GET", path: "/admin/api/keys" + q, key: e.root}).json(t)
		var ids []string
		for _, x := range body["keys"].([]any) {
			ids = append(ids, x.(map[string]any)["owner"].(string))
			assert.Equal(t, "default", x.(map[string]any)["owner"], q)
		}
		if total, ok := body["total"].(float64); ok {
			assert.Equal(t, float64(len(ids)), total, "total of %q", q)
		}
	}
	for _, rt := range []req{
		{method: "POST", path: "/admin/api/keys/" + k.ID.String() + "/deactivate", body: map[string]any{"force": true}},
		{method: "PUT", path: "/admin/api/keys/" + k.ID.String() + "/groups", body: map[string]any{"groups": []string{"reports:read"}, "force": true}},
		{method: "DELETE", path: "/admin/api/keys/" + k.ID.String(), body: map[string]any{"confirm": "Globex admin", "force": true}},
	} {
		rt.key = e.root
		assert.Equal(t, http.StatusNotFound, e.do(rt).StatusCode, rt.path)
	}
	got, err := e.m.Get(context.Background(), k.ID)
	require.NoError(t, err)
	assert.True(t, got.Active)
	assert.Contains(t, got.Groups, "apikeys:admin")
}

func TestStrictBodiesEscapedDuplicates(t *testing.T) {
	e := newEnv(t, nil)
	for _, c := range []struct {
		body   string
		status int
	}{
		{`{"NAME":"a","groups":["reports:read"]}`, 400},
		{`{"name":"a","name":"b","groups":["reports:read"]}`, 400},
		{`{"n\u0061me":"a","name":"b","groups":["reports:read"]}`, 400},
		{`{"name":"a","groups":["reports:read"],"metadata":{"x":"1","x":"2"}}`, 400},
		{`{"name":"a","groups":["reports:read"],"ſ":1}`, 400},
		{"{\"name\":\"a\xff\",\"groups\":[\"reports:read\"]}", 422},
		{`null`, 422},
	} {
		r := e.do(req{method: "POST", path: "/admin/api/keys", key: e.root, body: c.body})
		assert.Equal(t, c.status, r.StatusCode, "%s: %s", c.body, r.body)
	}
	// null as the whole body of deactivate: accepted as "no body".
	id := e.idOf("Reader")
	r := e.do(req{method: "POST", path: "/admin/api/keys/" + id + "/deactivate", key: e.root, body: `null`})
	t.Logf("deactivate with body null: %d", r.StatusCode)
}
