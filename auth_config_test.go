package apikey_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
)

// TestAuthConfigErrors checks that an invalid configuration is an error,
// as an invalid Manager option is.
func TestAuthConfigErrors(t *testing.T) {
	m := newManager(t, memstore.New())
	for name, cfg := range map[string]apikey.AuthConfig{
		"no header":               {Headers: []string{}},
		"bad header name":         {Headers: []string{"X API Key"}},
		"header twice":            {Headers: []string{"X-API-Key", "x-api-key"}},
		"realm with a newline":    {Realm: "api\r\nX-Injected: 1"},
		"realm not ASCII":         {Realm: "Ré"},
		"negative verify timeout": {VerifyTimeout: -time.Second},
	} {
		a, err := m.Authenticator(cfg)
		assert.Error(t, err, name)
		assert.Nil(t, a, name)
	}
	a, err := (*apikey.Manager)(nil).Authenticator(apikey.AuthConfig{})
	assert.Error(t, err)
	assert.Nil(t, a)
}

func TestMiddlewareOptions(t *testing.T) {
	f := newMWFixture(t)

	t.Run("realm", func(t *testing.T) {
		auth := mwAuth(t, f.m, apikey.AuthConfig{Realm: `reports "v2" \ api`})
		h := auth.Middleware(auth.RequireAll("billing:read")(mwOK))
		rec := mwServe(h, mwRequest("/"))
		assert.Equal(t, `Bearer realm="reports \"v2\" \\ api"`, rec.Header().Get("WWW-Authenticate"))
		rec = mwServe(h, mwRequest("/", "X-API-Key", f.unknown))
		assert.Equal(t, `Bearer realm="reports \"v2\" \\ api", error="invalid_token"`, rec.Header().Get("WWW-Authenticate"))
		rec = mwServe(h, mwRequest("/", "X-API-Key", f.good))
		assert.Equal(t, `Bearer realm="reports \"v2\" \\ api", error="insufficient_scope", scope="billing:read"`, rec.Header().Get("WWW-Authenticate"),
			"RequireAll answers with the realm of its Authenticator")
	})

	t.Run("headers", func(t *testing.T) {
		h := mwAuth(t, f.m, apikey.AuthConfig{Headers: []string{"X-Token"}}).Middleware(mwOK)
		assert.Equal(t, http.StatusOK, mwServe(h, mwRequest("/", "x-token", f.good)).Code)
		rec := mwServe(h, mwRequest("/", "Authorization", "Bearer "+f.good))
		doc := mwAssertProblem(t, rec, http.StatusUnauthorized)
		assert.Equal(t, mwChallengeNoKey, rec.Header().Get("WWW-Authenticate"), "Authorization is not read")
		assert.Contains(t, doc.Detail, "X-Token")
		assert.NotContains(t, doc.Detail, "Authorization")
		assert.Equal(t, http.StatusUnauthorized, mwServe(h, mwRequest("/", "X-API-Key", f.good)).Code)

		h = mwAuth(t, f.m, apikey.AuthConfig{Headers: []string{"X-Token", "authorization"}}).Middleware(mwOK)
		assert.Equal(t, http.StatusOK, mwServe(h, mwRequest("/", "Authorization", "Bearer "+f.good)).Code)
		assert.Equal(t, http.StatusOK, mwServe(h, mwRequest("/", "X-Token", f.good)).Code)
		assert.Equal(t, http.StatusBadRequest, mwServe(h, mwRequest("/", "X-Token", f.good, "Authorization", "Bearer "+f.good)).Code)
	})
}
