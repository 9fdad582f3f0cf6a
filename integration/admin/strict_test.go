package admin_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBodiesAreReadStrictly: a body that two JSON parsers could read
// differently is refused, so that what a proxy or an audit tool reads is
// what the API acts on.
func TestBodiesAreReadStrictly(t *testing.T) {
	e := newEnv(t, nil)
	k, _ := e.create("target", "reports:read")
	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
		detail                   string
	}{
		{name: "duplicate groups", method: "POST", path: "/admin/api/keys",
			body: `{"name": "dup", "groups": ["reports:read"], "groups": ["billing:write"]}`, status: 400, code: "duplicate_field", detail: `"groups"`},
		{name: "duplicate name", method: "POST", path: "/admin/api/keys",
			body: `{"name": "a", "name": "b", "groups": ["reports:read"]}`, status: 400, code: "duplicate_field", detail: `"name"`},
		{name: "duplicate by escape", method: "POST", path: "/admin/api/keys",
			body: `{"name": "a", "n\u0061me": "b", "groups": ["reports:read"]}`, status: 400, code: "duplicate_field", detail: `"name"`},
		{name: "duplicate metadata member", method: "POST", path: "/admin/api/keys",
			body: `{"name": "a", "groups": ["reports:read"], "metadata": {"plan": "free", "plan": "pro"}}`, status: 400, code: "duplicate_field", detail: `"plan"`},
		{name: "upper-case member", method: "POST", path: "/admin/api/keys",
			body: `{"NAME": "a", "groups": ["reports:read"]}`, status: 400, code: "unknown_field", detail: `"NAME"`},
		{name: "capitalized member", method: "POST", path: "/admin/api/keys",
			body: `{"Name": "a", "groups": ["reports:read"]}`, status: 400, code: "unknown_field", detail: `"Name"`},
		{name: "Unicode-folded member", method: "POST", path: "/admin/api/keys",
			body: `{"name": "a", "group\u017f": ["reports:read"]}`, status: 400, code: "unknown_field", detail: "groupſ"},
		{name: "Kelvin sign", method: "PUT", path: keyPath(k, "/name"),
			body: `{"name": "a", "expires_at": null, "\u212a": 1}`, status: 400, code: "unknown_field"},
		{name: "duplicate on rename", method: "PUT", path: keyPath(k, "/name"),
			body: `{"name": "x", "name": "y"}`, status: 400, code: "duplicate_field"},
		{name: "case variant on rename", method: "PUT", path: keyPath(k, "/name"),
			body: `{"Name": "x"}`, status: 400, code: "unknown_field"},
		{name: "duplicate on groups", method: "PUT", path: keyPath(k, "/groups"),
			body: `{"groups": ["reports:read"], "groups": ["billing:write"]}`, status: 400, code: "duplicate_field"},
		{name: "duplicate confirm", method: "DELETE", path: keyPath(k, ""),
			body: `{"confirm": "other", "confirm": "target"}`, status: 400, code: "duplicate_field"},
		{name: "case variant confirm", method: "DELETE", path: keyPath(k, ""),
			body: `{"CONFIRM": "target"}`, status: 400, code: "unknown_field"},
		{name: "duplicate force", method: "POST", path: keyPath(k, "/deactivate"),
			body: `{"force": false, "force": true}`, status: 400, code: "duplicate_field"},
		{name: "invalid UTF-8 in a name", method: "POST", path: "/admin/api/keys",
			body: "{\"name\": \"caf\xe9\", \"groups\": [\"reports:read\"]}", status: 422, code: "invalid_utf8"},
		{name: "invalid UTF-8 on rename", method: "PUT", path: keyPath(k, "/name"),
			body: "{\"name\": \"\xff\xfe\"}", status: 422, code: "invalid_utf8"},
		{name: "invalid UTF-8 in a member name", method: "POST", path: "/admin/api/keys",
			body: "{\"name\": \"ok\", \"groups\": [\"reports:read\"], \"\xc0\": 1}", status: 422, code: "invalid_utf8"},
		{name: "overlong encoding", method: "POST", path: "/admin/api/keys",
			body: "{\"name\": \"\xc0\xaf\", \"groups\": [\"reports:read\"]}", status: 422, code: "invalid_utf8"},
	}
	n := e.count()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(req{method: c.method, path: c.path, key: e.root, body: c.body})
			detail := r.problem(t, c.status, c.code)
			if c.detail != "" {
				assert.Contains(t, detail, c.detail)
			}
			assert.Equal(t, n, e.count(), "no key was created or deleted")
			got := e.do(req{method: "GET", path: keyPath(k, ""), key: e.root}).json(t)
			assert.Equal(t, "target", got["name"], "unchanged")
			assert.Equal(t, []any{"reports:read"}, got["groups"], "unchanged")
			assert.Equal(t, "active", got["status"], "unchanged")
		})
	}

	// The exact spellings go through, escaped or not.
	r := e.do(req{method: "PUT", path: keyPath(k, "/name"), key: e.root, body: `{"n\u0061me": "caf\u00e9"}`})
	require.Equal(t, http.StatusOK, r.StatusCode, "body: %s", r.body)
	assert.Equal(t, "café", r.json(t)["name"])
	// Members of nested objects may repeat across objects.
	r = e.do(req{method: "POST", path: "/admin/api/keys", key: e.root,
		body: `{"name": "meta", "groups": ["reports:read"], "metadata": {"name": "x", "groups": "y"}}`})
	require.Equal(t, http.StatusCreated, r.StatusCode, "body: %s", r.body)
	v := r.json(t)
	e.remember(uuid.MustParse(v["key"].(map[string]any)["id"].(string)), v["plaintext"].(string))
}

// TestEmptyChunkedBodyIsNoBody: activate and deactivate take no body; a
// chunked body of no bytes is no body, whatever its Content-Type.
func TestEmptyChunkedBodyIsNoBody(t *testing.T) {
	e := newEnv(t, nil)
	k, plaintext := e.create("chunked", "reports:read")
	send := func(action string, contentType string) *http.Response {
		t.Helper()
		// A reader of unknown length: the client sends it chunked.
		hr, err := http.NewRequest("POST", e.server.URL+keyPath(k, "/"+action), io.MultiReader(strings.NewReader("")))
		require.NoError(t, err)
		hr.Header.Set("Authorization", "Bearer "+e.root)
		if contentType != "" {
			hr.Header.Set("Content-Type", contentType)
		}
		hr.ContentLength = -1
		hr.TransferEncoding = []string{"chunked"}
		res, err := e.server.Client().Do(hr)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	for _, ct := range []string{"", "application/json", "text/plain"} {
		res := send("deactivate", ct)
		require.Equal(t, http.StatusOK, res.StatusCode, "deactivate, Content-Type %q", ct)
		_, err := e.m.Verify(context.Background(), plaintext)
		assert.ErrorIs(t, err, apikey.ErrInactive)
		res = send("activate", ct)
		require.Equal(t, http.StatusOK, res.StatusCode, "activate, Content-Type %q", ct)
		_, err = e.m.Verify(context.Background(), plaintext)
		assert.NoError(t, err)
	}
	// A chunked body that is not empty is read as any other.
	e.do(req{method: "POST", path: keyPath(k, "/deactivate"), key: e.root, body: " ", contentType: "text/plain"}).problem(t, 415, "unsupported_media_type")
	e.do(req{method: "POST", path: keyPath(k, "/deactivate"), key: e.root, body: " "}).problem(t, 400, "invalid_json")
}
