package admin_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/admin"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPageAndAssetsNeedNoKey(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		path, contentType, contains string
	}{
		{"/admin/", "text/html; charset=utf-8", `<script src="assets/app.js" defer></script>`},
		{"/admin/assets/app.js", "text/javascript; charset=utf-8", "'use strict';"},
		{"/admin/assets/app.css", "text/css; charset=utf-8", ".badge"},
		{"/admin/assets/favicon.svg", "image/svg+xml", "<svg"},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			r := e.do(req{method: "GET", path: c.path})
			require.Equal(t, http.StatusOK, r.StatusCode)
			assert.Equal(t, c.contentType, r.Header.Get("Content-Type"))
			assert.Contains(t, string(r.body), c.contains)
			assert.Equal(t, admin.ContentSecurityPolicy, r.Header.Get("Content-Security-Policy"))
			assert.Equal(t, "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
				r.Header.Get("Content-Security-Policy"))
			assert.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"))
			assert.Equal(t, "no-referrer", r.Header.Get("Referrer-Policy"))
			assert.NotEmpty(t, r.Header.Get("ETag"))

			// Nothing from another origin, and no way to put text in the
			// page as HTML. (The SVG namespace is a name, not a resource.)
			body := strings.ReplaceAll(string(r.body), `xmlns="http://www.w3.org/2000/svg"`, "")
			for _, bad := range []string{"http://", "https://", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "style=\""} {
				assert.NotContains(t, body, bad)
			}
		})
	}

	// The admin page redirects to itself with a slash, so that its
	// relative URLs resolve under the prefix.
	res, err := e.server.Client().Get(e.server.URL + "/admin")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, e.server.URL+"/admin/", res.Request.URL.String())

	e.do(req{method: "GET", path: "/admin/assets/missing.js"}).problem(t, http.StatusNotFound, "not_found")
	e.do(req{method: "GET", path: "/admin/elsewhere"}).problem(t, http.StatusNotFound, "not_found")
}

func TestAPIAuthentication(t *testing.T) {
	e := newEnv(t, nil)

	r := e.do(req{method: "GET", path: "/admin/api/keys"})
	assert.Equal(t, http.StatusUnauthorized, r.StatusCode)
	assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
	assert.Contains(t, r.Header.Get("WWW-Authenticate"), "Bearer")
	assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
	assert.Equal(t, admin.ContentSecurityPolicy, r.Header.Get("Content-Security-Policy"))

	r = e.do(req{method: "GET", path: "/admin/api/keys", key: "ak_notakeyatall"})
	assert.Equal(t, http.StatusUnauthorized, r.StatusCode)

	// A valid key without the admin group.
	detail := e.do(req{method: "GET", path: "/admin/api/keys", key: e.reader}).problem(t, http.StatusForbidden, "forbidden")
	assert.Contains(t, detail, "apikeys:admin")
	e.do(req{method: "POST", path: "/admin/api/keys", key: e.reader,
		body: map[string]any{"name": "x", "groups": []string{"reports:read"}}}).problem(t, http.StatusForbidden, "forbidden")

	// Unknown routes need a key too: they reveal nothing.
	assert.Equal(t, http.StatusUnauthorized, e.do(req{method: "GET", path: "/admin/api/nothing"}).StatusCode)

	r = e.do(req{method: "GET", path: "/admin/api/me", key: e.limited})
	require.Equal(t, http.StatusOK, r.StatusCode)
	assert.Equal(t, map[string]any{"name": "Limited admin", "groups": []any{"apikeys:admin", "reports:read"}, "owner": "default", "all_owners": false, "last_used_interval": float64(0),
		"expiry_policy": map[string]any{"default_lifetime": float64(0), "max_lifetime": float64(0), "description": "no expiry policy"}, "owner_limits": nil}, r.json(t))

	// A deactivated admin key is refused at once.
	k, plaintext := e.create("Short-lived admin", "apikeys:admin")
	require.Equal(t, http.StatusOK, e.do(req{method: "GET", path: "/admin/api/me", key: plaintext}).StatusCode)
	require.Equal(t, http.StatusOK, e.do(req{method: "POST", path: keyPath(k, "/deactivate"), key: e.root}).StatusCode)
	assert.Equal(t, http.StatusUnauthorized, e.do(req{method: "GET", path: "/admin/api/me", key: plaintext}).StatusCode)
}

func TestCreate(t *testing.T) {
	e := newEnv(t, nil)
	before := time.Now().UTC().Add(-time.Second)

	r := e.do(req{method: "POST", path: "/admin/api/keys", key: e.root,
		body: map[string]any{"name": "CI deploy", "groups": []string{"reports:read", "billing:read", "reports:read"}}})
	require.Equal(t, http.StatusCreated, r.StatusCode, "body: %s", r.body)
	assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	v := r.json(t)
	assert.ElementsMatch(t, []string{"key", "plaintext"}, keys(v))
	k := v["key"].(map[string]any)
	plaintext := v["plaintext"].(string)
	e.remember(uuid.MustParse(k["id"].(string)), plaintext)
	assert.Equal(t, "keys/"+k["id"].(string), r.Header.Get("Location"))

	// The columns of the tab, in snake_case, and nothing else.
	assert.ElementsMatch(t, []string{"id", "owner", "name", "status", "state", "preview", "groups", "created_at", "created_by",
		"updated_at", "last_used_at", "expires_at", "can_manage", "self",
		"rolled_from", "rolled_to", "rolled_at", "grace_ends_at", "limits"}, keys(k))
	assert.Nil(t, k["limits"], "no limits")
	assert.Equal(t, "CI deploy", k["name"])
	assert.Equal(t, "active", k["status"])
	assert.Equal(t, []any{"billing:read", "reports:read"}, k["groups"])
	assert.Equal(t, "Root admin", k["created_by"], "the actor is the creator")
	assert.Nil(t, k["last_used_at"])
	assert.Nil(t, k["expires_at"])
	assert.Equal(t, true, k["can_manage"])
	created, err := time.Parse(time.RFC3339Nano, k["created_at"].(string))
	require.NoError(t, err)
	assert.True(t, created.After(before))
	assert.True(t, strings.HasPrefix(plaintext, "ak_"))
	assert.True(t, strings.HasPrefix(plaintext, strings.SplitN(k["preview"].(string), "…", 2)[0]))

	// The plaintext works, once shown.
	verified, err := e.m.Verify(context.Background(), plaintext)
	require.NoError(t, err)
	assert.Equal(t, "CI deploy", verified.Name)

	// The stored record agrees.
	got := e.do(req{method: "GET", path: keyPath(k, ""), key: e.root})
	require.Equal(t, http.StatusOK, got.StatusCode)
	assert.Equal(t, k["preview"], got.json(t)["preview"])

	// An expiry time is taken.
	expires := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	r = e.do(req{method: "POST", path: "/admin/api/keys", key: e.root,
		body: map[string]any{"name": "Temporary", "groups": []string{"reports:read"}, "expires_at": expires}})
	require.Equal(t, http.StatusCreated, r.StatusCode, "body: %s", r.body)
	v = r.json(t)
	e.remember(uuid.MustParse(v["key"].(map[string]any)["id"].(string)), v["plaintext"].(string))
	assert.Equal(t, expires.Format(time.RFC3339), v["key"].(map[string]any)["expires_at"])

	// HTML in a name is text, stored and returned verbatim.
	k, _ = e.create(`<script>alert("x")</script>`, "reports:read")
	assert.Equal(t, `<script>alert("x")</script>`, k["name"])
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestCreateRefusals(t *testing.T) {
	e := newEnv(t, nil)
	valid := `{"name": "ok", "groups": ["reports:read"]}`
	cases := []struct {
		name        string
		key         string // default root
		body        any
		contentType string
		header      http.Header
		status      int
		code        string
		detail      string // a part of the detail, if not empty
	}{
		{name: "no name", body: `{"groups": ["reports:read"]}`, status: 422, code: "invalid_name", detail: "name"},
		{name: "blank name", body: `{"name": "  ", "groups": ["reports:read"]}`, status: 422, code: "invalid_name"},
		{name: "control character in name", body: `{"name": "a\u0007b", "groups": ["reports:read"]}`, status: 422, code: "invalid_name", detail: "control character"},
		{name: "name too long", body: fmt.Sprintf(`{"name": %q, "groups": ["reports:read"]}`, strings.Repeat("n", 256)), status: 422, code: "invalid_name", detail: "255"},
		{name: "no groups", body: `{"name": "ok"}`, status: 422, code: "invalid_group", detail: "at least one group"},
		{name: "empty groups", body: `{"name": "ok", "groups": []}`, status: 422, code: "invalid_group"},
		{name: "malformed group", body: `{"name": "ok", "groups": ["reports read"]}`, status: 422, code: "invalid_group"},
		{name: "unknown group", body: `{"name": "ok", "groups": ["reports:write"]}`, status: 422, code: "unknown_group", detail: "reports:write"},
		{name: "escalation", key: "limited", body: `{"name": "ok", "groups": ["reports:read", "billing:write"]}`, status: 403, code: "escalation", detail: "billing:write"},
		{name: "expiry in the past", body: `{"name": "ok", "groups": ["reports:read"], "expires_at": "2001-01-01T00:00:00Z"}`, status: 422, code: "invalid_expiry"},
		{name: "malformed expiry", body: `{"name": "ok", "groups": ["reports:read"], "expires_at": "tomorrow"}`, status: 400, code: "invalid_json", detail: "expires_at"},
		{name: "field hash", body: `{"name": "ok", "groups": ["reports:read"], "hash": "$sha256$x"}`, status: 400, code: "unknown_field", detail: `"hash"`},
		{name: "field active", body: `{"name": "ok", "groups": ["reports:read"], "active": false}`, status: 400, code: "unknown_field", detail: `"active"`},
		{name: "field id", body: `{"id": "0190d6c2-0000-7000-8000-000000000000", "name": "ok", "groups": ["reports:read"]}`, status: 400, code: "unknown_field"},
		{name: "field last_used_at", body: `{"name": "ok", "groups": ["reports:read"], "last_used_at": null}`, status: 400, code: "unknown_field"},
		{name: "field created_by", body: `{"name": "ok", "groups": ["reports:read"], "created_by": "someone else"}`, status: 400, code: "unknown_field"},
		{name: "field lookup_id", body: `{"name": "ok", "groups": ["reports:read"], "lookup_id": "x"}`, status: 400, code: "unknown_field"},
		{name: "second object", body: valid + ` {}`, status: 400, code: "invalid_json", detail: "nothing after"},
		{name: "trailing garbage", body: valid + `x`, status: 400, code: "invalid_json"},
		{name: "array", body: `[]`, status: 400, code: "invalid_json"},
		{name: "string", body: `"name"`, status: 400, code: "invalid_json"},
		{name: "not JSON", body: `name=ok&groups=reports:read`, status: 400, code: "invalid_json"},
		{name: "truncated", body: `{"name": "ok", `, status: 400, code: "invalid_json"},
		{name: "empty body", body: ``, status: 400, code: "invalid_json"},
		{name: "wrong type", body: `{"name": 1, "groups": ["reports:read"]}`, status: 400, code: "invalid_json", detail: `"name"`},
		{name: "oversized", body: `{"name": "ok", "groups": ["reports:read"], "x": "` + strings.Repeat("a", admin.DefaultMaxBodyBytes) + `"}`, status: 413, code: "body_too_large"},
		{name: "oversized after the object", body: valid + strings.Repeat(" ", admin.DefaultMaxBodyBytes), status: 413, code: "body_too_large"},
		{name: "text/plain", body: valid, contentType: "text/plain", status: 415, code: "unsupported_media_type"},
		{name: "form", body: `name=ok`, contentType: "application/x-www-form-urlencoded", status: 415, code: "unsupported_media_type"},
		{name: "multipart", body: valid, contentType: "multipart/form-data; boundary=x", status: 415, code: "unsupported_media_type"},
		{name: "no content type", body: valid, contentType: "-", status: 415, code: "unsupported_media_type"},
		{name: "latin-1 JSON", body: valid, contentType: "application/json; charset=iso-8859-1", status: 415, code: "unsupported_media_type"},
		{name: "cross-origin Origin", body: valid, header: http.Header{"Origin": {"https://evil.example"}}, status: 403, code: "cross_origin"},
		{name: "cross-site fetch", body: valid, header: http.Header{"Sec-Fetch-Site": {"cross-site"}}, status: 403, code: "cross_origin"},
		{name: "same-site fetch", body: valid, header: http.Header{"Sec-Fetch-Site": {"same-site"}}, status: 403, code: "cross_origin"},
		{name: "cross-origin without a key", key: "none", body: valid, header: http.Header{"Origin": {"https://evil.example"}}, status: 403, code: "cross_origin"},
	}
	n := e.count()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := e.root
			switch c.key {
			case "limited":
				key = e.limited
			case "none":
				key = ""
			}
			r := e.do(req{method: "POST", path: "/admin/api/keys", key: key, body: c.body, contentType: c.contentType, header: c.header})
			detail := r.problem(t, c.status, c.code)
			if c.detail != "" {
				assert.Contains(t, detail, c.detail)
			}
			assert.Equal(t, n, e.count(), "no key was created")
		})
	}

	// The same request from the page's own origin goes through.
	r := e.do(req{method: "POST", path: "/admin/api/keys", key: e.root, body: valid,
		header: http.Header{"Origin": {e.server.URL}, "Sec-Fetch-Site": {"same-origin"}}})
	require.Equal(t, http.StatusCreated, r.StatusCode, "body: %s", r.body)
	v := r.json(t)
	e.remember(uuid.MustParse(v["key"].(map[string]any)["id"].(string)), v["plaintext"].(string))
	// As does a charset of UTF-8.
	k, _ := e.create("other", "reports:read")
	assert.NotEmpty(t, k["id"])
}

func TestList(t *testing.T) {
	e := newEnv(t, nil)
	created := map[string]bool{}
	for i := range 5 {
		k, _ := e.create(fmt.Sprintf("key %d", i), "reports:read")
		created[k["id"].(string)] = true
	}
	billing, _ := e.create("billing", "billing:write")
	require.Equal(t, http.StatusOK, e.do(req{method: "POST", path: keyPath(billing, "/deactivate"), key: e.root}).StatusCode)

	// All pages, two keys at a time: every key once, in creation order.
	var names []string
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		path := "/admin/api/keys?limit=2&sort=created"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := e.do(req{method: "GET", path: path, key: e.root})
		require.Equal(t, http.StatusOK, r.StatusCode, "body: %s", r.body)
		assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
		v := r.json(t)
		assert.ElementsMatch(t, []string{"keys", "next_cursor", "total"}, keys(v))
		assert.Equal(t, 9.0, v["total"], "the total of every page is the whole list's")
		page := v["keys"].([]any)
		assert.LessOrEqual(t, len(page), 2)
		for _, k := range page {
			k := k.(map[string]any)
			assert.False(t, seen[k["id"].(string)], "key listed twice")
			seen[k["id"].(string)] = true
			names = append(names, k["name"].(string))
		}
		if v["next_cursor"] == nil {
			break
		}
		cursor = v["next_cursor"].(string)
	}
	assert.Equal(t, []string{"Root admin", "Limited admin", "Reader", "key 0", "key 1", "key 2", "key 3", "key 4", "billing"}, names)

	list := func(query string) []string {
		t.Helper()
		r := e.do(req{method: "GET", path: "/admin/api/keys" + query, key: e.root})
		require.Equal(t, http.StatusOK, r.StatusCode, "body: %s", r.body)
		var out []string
		for _, k := range r.json(t)["keys"].([]any) {
			out = append(out, k.(map[string]any)["name"].(string))
		}
		return out
	}
	assert.Equal(t, []string{"billing"}, list("?status=inactive"))
	assert.Equal(t, []string{"billing", "key 4"}, list("?limit=2"), "newest first by default")
	assert.Equal(t, list("?limit=2"), list("?limit=2&sort=-created"))
	total := func(query string) any {
		t.Helper()
		return e.do(req{method: "GET", path: "/admin/api/keys" + query, key: e.root}).json(t)["total"]
	}
	assert.Equal(t, 1.0, total("?status=inactive"))
	assert.Equal(t, 2.0, total("?group=billing:write&limit=1"))
	assert.Equal(t, 0.0, total("?group=nobody:holds"))
	assert.Len(t, list("?status=active"), 8)
	assert.Len(t, list("?status=all"), 9)
	assert.Equal(t, []string{"billing", "Root admin"}, list("?group=billing:write"))
	assert.Equal(t, []string{"billing"}, list("?group=billing:write&status=inactive"))
	assert.Empty(t, list("?group=nobody:holds"))

	// can_manage tells the limited admin which keys they may change.
	r := e.do(req{method: "GET", path: "/admin/api/keys", key: e.limited})
	manage := map[string]bool{}
	for _, k := range r.json(t)["keys"].([]any) {
		k := k.(map[string]any)
		manage[k["name"].(string)] = k["can_manage"].(bool)
	}
	assert.False(t, manage["Root admin"])
	assert.True(t, manage["Limited admin"])
	assert.True(t, manage["key 0"])
	assert.False(t, manage["billing"])

	for _, q := range []string{"?status=expired", "?limit=0", "?limit=501", "?limit=x", "?group=bad%20group"} {
		e.do(req{method: "GET", path: "/admin/api/keys" + q, key: e.root}).problem(t, http.StatusBadRequest, "invalid_request")
	}
	e.do(req{method: "GET", path: "/admin/api/keys?cursor=bogus", key: e.root}).problem(t, http.StatusBadRequest, "invalid_cursor")
}

func TestGetAndGroups(t *testing.T) {
	e := newEnv(t, nil)
	k, _ := e.create("one", "reports:read")

	r := e.do(req{method: "GET", path: keyPath(k, ""), key: e.root})
	require.Equal(t, http.StatusOK, r.StatusCode)
	assert.Equal(t, k, r.json(t))

	e.do(req{method: "GET", path: "/admin/api/keys/" + uuid.NewString(), key: e.root}).problem(t, http.StatusNotFound, "not_found")
	e.do(req{method: "GET", path: "/admin/api/keys/not-a-uuid", key: e.root}).problem(t, http.StatusNotFound, "not_found")

	r = e.do(req{method: "GET", path: "/admin/api/groups", key: e.limited})
	require.Equal(t, http.StatusOK, r.StatusCode)
	assert.Equal(t, map[string]any{"groups": []any{
		map[string]any{"name": "apikeys:admin", "description": "Manage API keys", "grantable": true},
		map[string]any{"name": "billing:read", "description": "Read invoices", "grantable": false},
		map[string]any{"name": "billing:write", "description": "Create invoices", "grantable": false},
		map[string]any{"name": "reports:read", "description": "Read reports", "grantable": true},
	}}, r.json(t))
}

func TestRename(t *testing.T) {
	e := newEnv(t, nil)
	k, plaintext := e.create("old name", "reports:read")

	r := e.do(req{method: "PUT", path: keyPath(k, "/name"), key: e.limited, body: map[string]any{"name": "new name"}})
	require.Equal(t, http.StatusOK, r.StatusCode, "body: %s", r.body)
	assert.Equal(t, "new name", r.json(t)["name"])
	verified, err := e.m.Verify(context.Background(), plaintext)
	require.NoError(t, err)
	assert.Equal(t, "new name", verified.Name)

	path := keyPath(k, "/name")
	e.do(req{method: "PUT", path: path, key: e.root, body: `{"name": ""}`}).problem(t, 422, "invalid_name")
	e.do(req{method: "PUT", path: path, key: e.root, body: `{}`}).problem(t, 422, "invalid_name")
	e.do(req{method: "PUT", path: path, key: e.root, body: `{"name": "x", "groups": ["reports:read"]}`}).problem(t, 400, "unknown_field")
	e.do(req{method: "PUT", path: path, key: e.root, body: `{"name": "x"}`, contentType: "text/plain"}).problem(t, 415, "unsupported_media_type")
	e.do(req{method: "PUT", path: path, key: e.root, body: `{"name": "x"}`, header: http.Header{"Origin": {"http://evil.example"}}}).problem(t, 403, "cross_origin")
	e.do(req{method: "PUT", path: "/admin/api/keys/" + uuid.NewString() + "/name", key: e.root, body: `{"name": "x"}`}).problem(t, 404, "not_found")

	// The limited admin cannot rename a key holding billing:write.
	billing, _ := e.create("billing", "billing:write", "reports:read")
	detail := e.do(req{method: "PUT", path: keyPath(billing, "/name"), key: e.limited, body: `{"name": "mine now"}`}).problem(t, 403, "escalation")
	assert.Contains(t, detail, "billing:write")
	assert.NotContains(t, detail, "reports:read")
	assert.Equal(t, "billing", e.do(req{method: "GET", path: keyPath(billing, ""), key: e.root}).json(t)["name"])
}

func TestSetGroups(t *testing.T) {
	e := newEnv(t, nil)
	k, plaintext := e.create("reporting", "reports:read")
	path := keyPath(k, "/groups")

	r := e.do(req{method: "PUT", path: path, key: e.root, body: map[string]any{"groups": []string{"billing:read", "reports:read"}}})
	require.Equal(t, http.StatusOK, r.StatusCode, "body: %s", r.body)
	assert.Equal(t, []any{"billing:read", "reports:read"}, r.json(t)["groups"])
	verified, err := e.m.Verify(context.Background(), plaintext)
	require.NoError(t, err)
	assert.True(t, verified.HasGroup("billing:read"))

	e.do(req{method: "PUT", path: path, key: e.root, body: `{"groups": []}`}).problem(t, 422, "invalid_group")
	e.do(req{method: "PUT", path: path, key: e.root, body: `{}`}).problem(t, 422, "invalid_group")
	e.do(req{method: "PUT", path: path, key: e.root, body: `{"groups": ["nope:nope"]}`}).problem(t, 422, "unknown_group")
	e.do(req{method: "PUT", path: path, key: e.root, body: `{"groups": "reports:read"}`}).problem(t, 400, "invalid_json")
	e.do(req{method: "PUT", path: path, key: e.root, body: `{"groups": ["reports:read"], "name": "x"}`}).problem(t, 400, "unknown_field")

	// The limited admin holds reports:read but not billing:read: it can
	// neither grant billing:write, nor change this key, which holds
	// billing:read.
	detail := e.do(req{method: "PUT", path: path, key: e.limited, body: `{"groups": ["billing:write"]}`}).problem(t, 403, "escalation")
	assert.Contains(t, detail, "grant")
	assert.Contains(t, detail, "billing:write")
	detail = e.do(req{method: "PUT", path: path, key: e.limited, body: `{"groups": ["reports:read"]}`}).problem(t, 403, "escalation")
	assert.Contains(t, detail, "billing:read")
	got, err := e.m.Get(context.Background(), uuid.MustParse(k["id"].(string)))
	require.NoError(t, err)
	assert.Equal(t, []string{"billing:read", "reports:read"}, got.Groups, "unchanged")

	// Nor can it give itself more groups.
	me := e.do(req{method: "GET", path: "/admin/api/keys?group=apikeys:admin", key: e.limited}).json(t)["keys"].([]any)
	var limitedID string
	for _, k := range me {
		if k.(map[string]any)["name"] == "Limited admin" {
			limitedID = k.(map[string]any)["id"].(string)
		}
	}
	require.NotEmpty(t, limitedID)
	e.do(req{method: "PUT", path: "/admin/api/keys/" + limitedID + "/groups", key: e.limited,
		body: `{"groups": ["apikeys:admin", "reports:read", "billing:write"]}`}).problem(t, 403, "escalation")
}

func TestActivateDeactivate(t *testing.T) {
	e := newEnv(t, nil)
	k, plaintext := e.create("toggle", "reports:read")

	r := e.do(req{method: "POST", path: keyPath(k, "/deactivate"), key: e.root})
	require.Equal(t, http.StatusOK, r.StatusCode, "body: %s", r.body)
	assert.Equal(t, "inactive", r.json(t)["status"])
	_, err := e.m.Verify(context.Background(), plaintext)
	assert.ErrorIs(t, err, apikey.ErrInactive)

	r = e.do(req{method: "POST", path: keyPath(k, "/activate"), key: e.root, body: `{}`})
	require.Equal(t, http.StatusOK, r.StatusCode, "body: %s", r.body)
	assert.Equal(t, "active", r.json(t)["status"])
	_, err = e.m.Verify(context.Background(), plaintext)
	assert.NoError(t, err)

	e.do(req{method: "POST", path: keyPath(k, "/deactivate"), key: e.root, body: `{"active": false}`}).problem(t, 400, "unknown_field")
	e.do(req{method: "POST", path: keyPath(k, "/deactivate"), key: e.root, body: `{}`, contentType: "text/plain"}).problem(t, 415, "unsupported_media_type")
	e.do(req{method: "POST", path: keyPath(k, "/deactivate"), key: e.root, header: http.Header{"Sec-Fetch-Site": {"cross-site"}}}).problem(t, 403, "cross_origin")
	e.do(req{method: "POST", path: "/admin/api/keys/" + uuid.NewString() + "/deactivate", key: e.root}).problem(t, 404, "not_found")
	_, err = e.m.Verify(context.Background(), plaintext)
	assert.NoError(t, err, "still active after the refusals")

	billing, _ := e.create("billing", "billing:write")
	detail := e.do(req{method: "POST", path: keyPath(billing, "/deactivate"), key: e.limited}).problem(t, 403, "escalation")
	assert.Contains(t, detail, "billing:write")
	assert.Equal(t, "active", e.do(req{method: "GET", path: keyPath(billing, ""), key: e.root}).json(t)["status"])
}

func TestDelete(t *testing.T) {
	e := newEnv(t, nil)
	k, plaintext := e.create("doomed", "reports:read")
	path := keyPath(k, "")
	id := uuid.MustParse(k["id"].(string))

	stillThere := func() {
		t.Helper()
		_, err := e.m.Get(context.Background(), id)
		require.NoError(t, err, "the key must not be deleted")
	}
	e.do(req{method: "DELETE", path: path, key: e.root}).problem(t, 400, "confirmation_required")
	stillThere()
	e.do(req{method: "DELETE", path: path, key: e.root, body: `{}`}).problem(t, 400, "confirmation_required")
	stillThere()
	e.do(req{method: "DELETE", path: path, key: e.root, body: `{"confirm": true}`}).problem(t, 400, "invalid_json")
	stillThere()
	e.do(req{method: "DELETE", path: path, key: e.root, body: `{"confirm": "Doomed"}`}).problem(t, 409, "confirmation_mismatch")
	stillThere()
	e.do(req{method: "DELETE", path: path, key: e.root, body: `{"confirm": ""}`}).problem(t, 409, "confirmation_mismatch")
	stillThere()
	e.do(req{method: "DELETE", path: path, key: e.root, body: `{"confirm": "doomed", "hash": "x"}`}).problem(t, 400, "unknown_field")
	stillThere()
	e.do(req{method: "DELETE", path: path, key: e.root, body: `{"confirm": "doomed"}`, contentType: "text/plain"}).problem(t, 415, "unsupported_media_type")
	stillThere()
	e.do(req{method: "DELETE", path: path, key: e.root, body: `{"confirm": "doomed"}`, header: http.Header{"Origin": {"https://evil.example"}}}).problem(t, 403, "cross_origin")
	stillThere()

	// A key holding groups the limited admin lacks.
	billing, _ := e.create("billing", "billing:write")
	e.do(req{method: "DELETE", path: keyPath(billing, ""), key: e.limited, body: `{"confirm": "billing"}`}).problem(t, 403, "escalation")
	require.Equal(t, http.StatusOK, e.do(req{method: "GET", path: keyPath(billing, ""), key: e.root}).StatusCode)

	r := e.do(req{method: "DELETE", path: path, key: e.limited, body: `{"confirm": "doomed"}`})
	require.Equal(t, http.StatusNoContent, r.StatusCode, "body: %s", r.body)
	assert.Empty(t, r.body)
	_, err := e.m.Get(context.Background(), id)
	assert.ErrorIs(t, err, apikey.ErrNotFound)
	_, err = e.m.Verify(context.Background(), plaintext)
	assert.ErrorIs(t, err, apikey.ErrInvalidKey)

	e.do(req{method: "DELETE", path: path, key: e.root, body: `{"confirm": "doomed"}`}).problem(t, 404, "not_found")
}

func TestRoutesAndMethods(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do(req{method: "PATCH", path: "/admin/api/keys", key: e.root, body: `{}`})
	r.problem(t, http.StatusMethodNotAllowed, "method_not_allowed")
	assert.Equal(t, "GET, HEAD, POST", r.Header.Get("Allow"))
	r = e.do(req{method: "GET", path: "/admin/api/keys/" + uuid.NewString() + "/activate", key: e.root})
	r.problem(t, http.StatusMethodNotAllowed, "method_not_allowed")
	assert.Equal(t, "POST", r.Header.Get("Allow"))
	e.do(req{method: "GET", path: "/admin/api/nothing", key: e.root}).problem(t, http.StatusNotFound, "not_found")
}

// failingStore fails List, as a database that is down would.
type failingStore struct {
	apikey.Store
	fail atomic.Bool
}

func (s *failingStore) List(ctx context.Context, q apikey.ListQuery) ([]*apikey.Key, error) {
	if s.fail.Load() {
		return nil, errors.New("dial tcp 10.0.0.7:5432: connection refused (password=hunter2)")
	}
	return s.Store.List(ctx, q)
}

func (s *failingStore) ListSorted(ctx context.Context, q apikey.ListQuery) ([]*apikey.Key, error) {
	if s.fail.Load() {
		return nil, errors.New("dial tcp 10.0.0.7:5432: connection refused (password=hunter2)")
	}
	return s.Store.(apikey.SortedLister).ListSorted(ctx, q)
}

func TestStoreFailureIs503WithoutDetails(t *testing.T) {
	var fs *failingStore
	e := newEnv(t, func(s apikey.Store) apikey.Store { fs = &failingStore{Store: s}; return fs })
	fs.fail.Store(true)
	r := e.do(req{method: "GET", path: "/admin/api/keys", key: e.root})
	r.problem(t, http.StatusServiceUnavailable, "unavailable")
	assert.Equal(t, "5", r.Header.Get("Retry-After"))
	assert.NotContains(t, string(r.body), "10.0.0.7")
	assert.NotContains(t, string(r.body), "hunter2")
	assert.NotContains(t, string(r.body), "connection refused")
}

// TestWithActor is an application that authenticates administrators with
// a session of its own, here a header.
func TestWithActor(t *testing.T) {
	actor := admin.WithActor(func(r *http.Request) (apikey.Actor, error) {
		switch r.Header.Get("X-Test-User") {
		case "":
			return apikey.Actor{}, admin.ErrUnauthenticated
		case "alice":
			return apikey.Actor{Name: "alice@example.com", Groups: []string{"reports:read", "billing:read"}}, nil
		case "mallory":
			return apikey.Actor{}, &admin.ForbiddenError{Reason: "Only the operations team manages keys."}
		case "trudy":
			// The text of an error is never parsed: a wrapped ErrForbidden
			// gets the generic detail.
			return apikey.Actor{}, fmt.Errorf("%w: internal policy #7 (do not show)", admin.ErrForbidden)
		case "broken":
			return apikey.Actor{Name: "\x00"}, nil
		default:
			return apikey.Actor{}, errors.New("session store down: secret detail")
		}
	})
	e := newEnv(t, nil, actor)
	as := func(user string) http.Header { return http.Header{"X-Test-User": {user}} }

	r := e.do(req{method: "POST", path: "/admin/api/keys", header: as("alice"), body: `{"name": "from alice", "groups": ["billing:read"]}`})
	require.Equal(t, http.StatusCreated, r.StatusCode, "body: %s", r.body)
	v := r.json(t)
	e.remember(uuid.MustParse(v["key"].(map[string]any)["id"].(string)), v["plaintext"].(string))
	assert.Equal(t, "alice@example.com", v["key"].(map[string]any)["created_by"])

	e.do(req{method: "POST", path: "/admin/api/keys", header: as("alice"), body: `{"name": "x", "groups": ["billing:write"]}`}).problem(t, 403, "escalation")
	e.do(req{method: "GET", path: "/admin/api/keys"}).problem(t, 401, "unauthenticated")
	// An API key means nothing to this application.
	e.do(req{method: "GET", path: "/admin/api/keys", key: e.root}).problem(t, 401, "unauthenticated")
	assert.Equal(t, "Only the operations team manages keys.",
		e.do(req{method: "GET", path: "/admin/api/keys", header: as("mallory")}).problem(t, 403, "forbidden"))
	assert.Equal(t, "You are not allowed to manage API keys.",
		e.do(req{method: "GET", path: "/admin/api/keys", header: as("trudy")}).problem(t, 403, "forbidden"))
	r = e.do(req{method: "GET", path: "/admin/api/keys", header: as("eve")})
	r.problem(t, 500, "internal")
	assert.NotContains(t, string(r.body), "secret detail")
	e.do(req{method: "GET", path: "/admin/api/keys", header: as("broken")}).problem(t, 500, "internal")

	// Without a registry, the groups an administrator may grant are theirs.
	m, err := apikey.New(newStore(t), apikey.WithLastUsedFlushInterval(-1))
	require.NoError(t, err)
	defer m.Close()
	h, err := admin.New(m, actor)
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	hr := httptest.NewRequest("GET", "/api/groups", nil)
	hr.Header.Set("X-Test-User", "alice")
	h.ServeHTTP(rec, hr)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"groups": [{"name": "billing:read", "description": "", "grantable": true}, {"name": "reports:read", "description": "", "grantable": true}]}`, rec.Body.String())
}

func TestOptions(t *testing.T) {
	m, err := apikey.New(newStore(t), apikey.WithGroups(testGroups...), apikey.WithLastUsedFlushInterval(-1))
	require.NoError(t, err)
	defer m.Close()
	actor := admin.WithActor(func(*http.Request) (apikey.Actor, error) {
		return apikey.Actor{Name: "ops", Groups: []string{"reports:read"}}, nil
	})

	_, err = admin.New(nil)
	assert.Error(t, err)
	for name, opts := range map[string][]admin.Option{
		"nil actor":                 {admin.WithActor(nil)},
		"invalid admin group":       {admin.WithAdminGroup("admin group")},
		"admin group with an actor": {actor, admin.WithAdminGroup("ops")},
		"zero body limit":           {admin.WithMaxBodyBytes(0)},
		"nil logger":                {admin.WithLogger(nil)},
		"bad origin":                {admin.WithTrustedOrigins("not an origin")},
	} {
		_, err := admin.New(m, opts...)
		assert.Error(t, err, name)
	}

	// WithAdminGroup: another group makes administrators.
	ops, opsKey, err := m.Issue(context.Background(), apikey.IssueRequest{Name: "ops", Groups: []string{"reports:read"}, CreatedBy: "test"})
	require.NoError(t, err)
	_ = ops
	h, err := admin.New(m, admin.WithAdminGroup("reports:read"))
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	hr := httptest.NewRequest("GET", "/api/me", nil)
	hr.Header.Set("Authorization", "Bearer "+opsKey)
	h.ServeHTTP(rec, hr)
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	// WithMaxBodyBytes and WithTrustedOrigins.
	h, err = admin.New(m, actor, admin.WithMaxBodyBytes(64), admin.WithTrustedOrigins("https://console.example.com"))
	require.NoError(t, err)
	post := func(origin, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		hr := httptest.NewRequest("POST", "/api/keys", strings.NewReader(body))
		hr.Header.Set("Content-Type", "application/json")
		hr.Header.Set("Origin", origin)
		h.ServeHTTP(rec, hr)
		return rec
	}
	assert.Equal(t, http.StatusCreated, post("https://console.example.com", `{"name": "a", "groups": ["reports:read"]}`).Code)
	assert.Equal(t, http.StatusForbidden, post("https://evil.example", `{"name": "a", "groups": ["reports:read"]}`).Code)
	assert.Equal(t, http.StatusRequestEntityTooLarge, post("https://console.example.com", `{"name": "`+strings.Repeat("a", 64)+`", "groups": ["reports:read"]}`).Code)
}

// TestMounts serves the handler under prefixes stripped in several ways.
func TestMounts(t *testing.T) {
	m, err := apikey.New(newStore(t), apikey.WithGroups(testGroups...), apikey.WithLastUsedFlushInterval(-1))
	require.NoError(t, err)
	defer m.Close()
	_, key, err := m.Issue(context.Background(), apikey.IssueRequest{Name: "admin", Groups: []string{"apikeys:admin"}, CreatedBy: "test"})
	require.NoError(t, err)
	h, err := admin.New(m)
	require.NoError(t, err)

	for _, c := range []struct {
		name   string
		mount  func(*http.ServeMux)
		prefix string
	}{
		{"root", func(mux *http.ServeMux) { mux.Handle("/", h) }, "/"},
		{"StripPrefix without slash", func(mux *http.ServeMux) { mux.Handle("/admin/", http.StripPrefix("/admin", h)) }, "/admin/"},
		{"StripPrefix with slash", func(mux *http.ServeMux) { mux.Handle("/admin/", http.StripPrefix("/admin/", h)) }, "/admin/"},
		{"deep", func(mux *http.ServeMux) { mux.Handle("/x/y/keys/", http.StripPrefix("/x/y/keys", h)) }, "/x/y/keys/"},
	} {
		t.Run(c.name, func(t *testing.T) {
			mux := http.NewServeMux()
			c.mount(mux)
			srv := httptest.NewServer(mux)
			defer srv.Close()
			for _, p := range []string{"", "assets/app.js", "api/me"} {
				hr, _ := http.NewRequest("GET", srv.URL+c.prefix+p, nil)
				hr.Header.Set("Authorization", "Bearer "+key)
				res, err := srv.Client().Do(hr)
				require.NoError(t, err)
				res.Body.Close()
				assert.Equal(t, http.StatusOK, res.StatusCode, p)
			}
		})
	}
}

// TestConcurrentAdministrators runs administrators side by side, for the
// race detector.
func TestConcurrentAdministrators(t *testing.T) {
	e := newEnv(t, nil)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 3 {
				k, _ := e.create(fmt.Sprintf("c%d-%d", i, j), "reports:read")
				e.do(req{method: "POST", path: keyPath(k, "/deactivate"), key: e.limited})
				e.do(req{method: "GET", path: "/admin/api/keys?status=inactive", key: e.root})
				e.do(req{method: "DELETE", path: keyPath(k, ""), key: e.root, body: map[string]string{"confirm": k["name"].(string)}})
			}
		})
	}
	wg.Wait()
	names := []string{}
	page, err := e.m.List(context.Background(), apikey.ListOptions{})
	require.NoError(t, err)
	for _, k := range page.Keys {
		names = append(names, k.Name)
	}
	slices.Sort(names)
	assert.Equal(t, []string{"Limited admin", "Reader", "Root admin"}, names)
}

// racingStore lets a test act between the Manager's authorization of a
// change (a Get) and the change itself.
type racingStore struct {
	apikey.Store
	mu       sync.Mutex
	afterGet func()
	conflict atomic.Bool // every SetName reports a concurrent change
}

func (s *racingStore) Get(ctx context.Context, id uuid.UUID) (*apikey.Key, error) {
	k, err := s.Store.Get(ctx, id)
	s.mu.Lock()
	hook := s.afterGet
	s.afterGet = nil
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	return k, err
}

func (s *racingStore) SetName(ctx context.Context, c apikey.Change, id uuid.UUID, name string, guard *apikey.Guard) error {
	if s.conflict.Load() {
		return apikey.ErrConflict
	}
	return s.Store.SetName(ctx, c, id, name, guard)
}

// A grant of a group the limited admin lacks, landing while their rename is
// on its way, must not let the rename through.
func TestEscalationRaceIsRefused(t *testing.T) {
	var rs *racingStore
	e := newEnv(t, func(s apikey.Store) apikey.Store { rs = &racingStore{Store: s}; return rs })
	k, _ := e.create("target", "reports:read")
	id := uuid.MustParse(k["id"].(string))
	rs.mu.Lock()
	rs.afterGet = func() {
		require.NoError(t, e.m.SetGroups(context.Background(), id, []string{"billing:write", "reports:read"}))
	}
	rs.mu.Unlock()
	e.do(req{method: "PUT", path: keyPath(k, "/name"), key: e.limited, body: `{"name": "mine now"}`}).problem(t, 403, "escalation")
	got := e.do(req{method: "GET", path: keyPath(k, ""), key: e.root}).json(t)
	assert.Equal(t, "target", got["name"])
}

// A change that keeps colliding with others is answered 409, not 500.
func TestConflictIs409(t *testing.T) {
	var rs *racingStore
	e := newEnv(t, func(s apikey.Store) apikey.Store { rs = &racingStore{Store: s}; return rs })
	k, _ := e.create("target", "reports:read")
	rs.conflict.Store(true)
	e.do(req{method: "PUT", path: keyPath(k, "/name"), key: e.limited, body: `{"name": "x"}`}).problem(t, http.StatusConflict, "conflict")
}
