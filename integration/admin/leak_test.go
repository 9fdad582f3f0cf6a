package admin_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestKeysAreNeverEchoed sends an administrator's own key, and another
// key, where a name, a group, a field name or a key ID is expected: no
// answer holds more of either than its preview, and nothing is created.
func TestKeysAreNeverEchoed(t *testing.T) {
	e := newEnv(t, nil)
	other := e.issue("victim", "reports:read")
	n := e.count()
	for _, key := range []string{e.root, other} {
		for _, c := range []struct {
			method, path string
			body         any
			status       int
		}{
			{"POST", "/admin/api/keys", map[string]any{"name": key, "groups": []string{"reports:read"}}, 422},
			{"POST", "/admin/api/keys", map[string]any{"name": "prod " + key, "groups": []string{"reports:read"}}, 422},
			{"POST", "/admin/api/keys", map[string]any{"name": "ok", "groups": []string{key}}, 422},
			{"POST", "/admin/api/keys", map[string]any{"name": "ok", "groups": []string{"reports:read"}, key: 1}, 400},
			{"GET", "/admin/api/keys/" + key, nil, 404},
			{"GET", "/admin/api/keys?group=" + key, nil, 200},
			{"GET", "/admin/api/keys?cursor=" + key, nil, 400},
		} {
			r := e.do(req{method: c.method, path: c.path, key: e.root, body: c.body})
			assert.Equal(t, c.status, r.StatusCode, "%s %s: %s", c.method, c.path, r.body)
			assert.NotContains(t, string(r.body), key[len(key)-20:], "%s %s", c.method, c.path)
		}
	}
	assert.Equal(t, n, e.count(), "nothing was created")
	// The middleware answers a request with a key it refuses without it.
	r := e.do(req{method: "GET", path: "/admin/api/me", key: other[:len(other)-1] + "x"})
	assert.Equal(t, http.StatusUnauthorized, r.StatusCode)
	assert.NotContains(t, string(r.body)+r.Header.Get("WWW-Authenticate"), other[5:len(other)-5])
}
