package admin_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRollThroughTheAPI(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	old, oldText := e.create("CI deploy", "reports:read", "billing:read")

	r := e.do(req{method: "POST", path: keyPath(old, "/roll"), key: e.root, body: `{"grace": "24h"}`})
	require.Equal(t, http.StatusCreated, r.StatusCode, "body: %s", r.body)
	assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))
	v := r.json(t)
	succ := v["key"].(map[string]any)
	plaintext := v["plaintext"].(string)
	e.remember(uuid.MustParse(succ["id"].(string)), plaintext)
	rolled := v["rolled"].(map[string]any)
	assert.Equal(t, old["id"], succ["rolled_from"])
	assert.Equal(t, succ["id"], rolled["rolled_to"])
	assert.Equal(t, old["name"], succ["name"])
	assert.Equal(t, old["groups"], succ["groups"])
	assert.Equal(t, old["owner"], succ["owner"])
	graceEnd, err := time.Parse(time.RFC3339Nano, rolled["grace_ends_at"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(24*time.Hour), graceEnd, time.Minute)
	for _, text := range []string{oldText, plaintext} {
		_, err := e.m.Verify(ctx, text)
		assert.NoError(t, err, "both keys work in the grace period")
	}

	e.do(req{method: "POST", path: keyPath(old, "/roll"), key: e.root, body: `{"grace": "1h"}`}).
		problem(t, http.StatusConflict, "already_rolled")

	// A leaked key: a grace of zero seconds, as a number.
	r = e.do(req{method: "POST", path: keyPath(succ, "/roll"), key: e.root, body: `{"grace": 0}`})
	require.Equal(t, http.StatusCreated, r.StatusCode, "body: %s", r.body)
	v = r.json(t)
	e.remember(uuid.MustParse(v["key"].(map[string]any)["id"].(string)), v["plaintext"].(string))
	_, err = e.m.Verify(ctx, plaintext)
	assert.ErrorIs(t, err, apikey.ErrExpired, "a grace of zero stops the key at once")

	victim, _ := e.create("billing", "billing:write")
	e.do(req{method: "POST", path: keyPath(victim, "/roll"), key: e.limited, body: `{"grace": "1h"}`}).
		problem(t, http.StatusForbidden, "escalation")
	for _, body := range []string{`{}`, `{"grace": "-1h"}`, `{"grace": "soon"}`, `{"grace": -1}`, `{"grace": 1e30}`, `{"grace": "9000h"}`} {
		e.do(req{method: "POST", path: keyPath(victim, "/roll"), key: e.root, body: body}).
			problem(t, http.StatusUnprocessableEntity, "invalid_grace")
	}
	e.do(req{method: "POST", path: "/admin/api/keys/" + uuid.NewString() + "/roll", key: e.root, body: `{"grace": "1h"}`}).
		problem(t, http.StatusNotFound, "not_found")
	got, err := e.m.Get(ctx, uuid.MustParse(victim["id"].(string)))
	require.NoError(t, err)
	assert.False(t, got.Rolled(), "refused rolls changed nothing")
}

func TestExpiryThroughTheAPI(t *testing.T) {
	e := newEnv(t, nil)
	k, _ := e.create("reports", "reports:read")
	before := e.count()
	for _, tc := range []struct{ name, expires string }{
		{"the zero instant", `"0001-01-01T00:00:00Z"`},
		{"the zero instant at an offset", `"0001-01-01T01:00:00+01:00"`},
		{"after 9999 in UTC", `"9999-12-31T23:59:59.9999999Z"`},
		{"after 9999 by its offset", `"9999-12-31T23:30:00-01:00"`},
		{"in the past", `"2001-01-01T00:00:00Z"`},
	} {
		e.do(req{method: "POST", path: "/admin/api/keys", key: e.root, body: `{"name": "x", "groups": ["reports:read"], "expires_at": ` + tc.expires + `}`}).
			problem(t, http.StatusUnprocessableEntity, "invalid_expiry")
		e.do(req{method: "PUT", path: keyPath(k, "/expiry"), key: e.root, body: `{"expires_at": ` + tc.expires + `}`}).
			problem(t, http.StatusUnprocessableEntity, "invalid_expiry")
	}
	assert.Equal(t, before, e.count(), "no refused key was stored")

	at := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	r := e.do(req{method: "PUT", path: keyPath(k, "/expiry"), key: e.root, body: map[string]any{"expires_at": at}})
	require.Equal(t, http.StatusOK, r.StatusCode, "body: %s", r.body)
	assert.Equal(t, at.Format(time.RFC3339), r.json(t)["expires_at"])
	r = e.do(req{method: "PUT", path: keyPath(k, "/expiry"), key: e.root, body: `{"expires_at": null}`})
	require.Equal(t, http.StatusOK, r.StatusCode, "body: %s", r.body)
	assert.Nil(t, r.json(t)["expires_at"])

	// The last representable microsecond is a valid expiry, and lists.
	r = e.do(req{method: "POST", path: "/admin/api/keys", key: e.root, body: `{"name": "far", "groups": ["reports:read"], "expires_at": "9999-12-31T23:59:59.999999Z"}`})
	require.Equal(t, http.StatusCreated, r.StatusCode, "body: %s", r.body)
	v := r.json(t)
	e.remember(uuid.MustParse(v["key"].(map[string]any)["id"].(string)), v["plaintext"].(string))
	r = e.do(req{method: "GET", path: "/admin/api/keys", key: e.root})
	require.Equal(t, http.StatusOK, r.StatusCode, "body: %s", r.body)
}

func TestExpiryPolicyThroughTheAPI(t *testing.T) {
	e := newEnvWithManager(t, []apikey.Option{apikey.WithExpiryPolicy(apikey.ExpiryPolicy{DefaultLifetime: 7 * 24 * time.Hour, MaxLifetime: 30 * 24 * time.Hour})}, nil)
	me := e.do(req{method: "GET", path: "/admin/api/me", key: e.root}).json(t)
	policy := me["expiry_policy"].(map[string]any)
	assert.Equal(t, float64(30*24*3600), policy["max_lifetime"])
	assert.Equal(t, float64(7*24*3600), policy["default_lifetime"])
	assert.Equal(t, "default lifetime 7d, maximum lifetime 30d", policy["description"])

	k, _ := e.create("default lifetime", "reports:read")
	expires, err := time.Parse(time.RFC3339Nano, k["expires_at"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(7*24*time.Hour), expires, time.Minute)

	before := e.count()
	far := time.Now().Add(31 * 24 * time.Hour).UTC().Format(time.RFC3339)
	detail := e.do(req{method: "POST", path: "/admin/api/keys", key: e.root, body: `{"name": "x", "groups": ["reports:read"], "expires_at": "` + far + `"}`}).
		problem(t, http.StatusUnprocessableEntity, "expiry_policy")
	assert.Contains(t, detail, "maximum lifetime 30d")
	assert.Equal(t, before, e.count())
	e.do(req{method: "PUT", path: keyPath(k, "/expiry"), key: e.root, body: `{"expires_at": null}`}).
		problem(t, http.StatusUnprocessableEntity, "expiry_policy")
	e.do(req{method: "PUT", path: keyPath(k, "/expiry"), key: e.root, body: `{"expires_at": "` + far + `"}`}).
		problem(t, http.StatusUnprocessableEntity, "expiry_policy")
}
