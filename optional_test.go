package apikey_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOptional checks optional authentication: anonymous without a key,
// the key with a valid one, and never anonymous with a bad one.
func TestOptional(t *testing.T) {
	f := newMWFixture(t)
	var failures mwFailures
	auth := mwAuth(t, f.m, apikey.AuthConfig{OnFailure: failures.hook})
	seen := 0
	h := auth.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen++
		if k, ok := apikey.FromContext(r.Context()); ok {
			w.Write([]byte("hello " + k.Name))
			return
		}
		w.Write([]byte("hello anonymous"))
	}))
	scoped := auth.Optional(auth.RequireAll("reports:read")(mwOK))

	assert.Equal(t, "hello anonymous", mwServe(h, mwRequest("/")).Body.String())
	assert.Equal(t, "hello anonymous", mwServe(h, mwRequest("/", "Authorization", "Basic dXNlcjpwYXNz")).Body.String(), "another scheme carries no key")
	assert.Equal(t, "hello anonymous", mwServe(h, mwRequest("/?api_key="+f.good)).Body.String(), "the query string is never read")
	assert.Equal(t, "hello good", mwServe(h, mwRequest("/", "X-API-Key", f.good)).Body.String())
	assert.Empty(t, failures.take(), "an anonymous request is no failure")
	require.Equal(t, 4, seen)

	for name, tc := range map[string]struct {
		req       *http.Request
		status    int
		challenge string
	}{
		"unknown key":      {mwRequest("/", "X-API-Key", f.unknown), 401, mwChallengeToken},
		"inactive key":     {mwRequest("/", "X-API-Key", f.inactive), 401, mwChallengeToken},
		"expired key":      {mwRequest("/", "Authorization", "Bearer "+f.expired), 401, mwChallengeToken},
		"malformed Bearer": {mwRequest("/", "Authorization", "Bearer"), 400, mwChallengeRequest},
		"two keys":         {mwRequest("/", "X-API-Key", f.good, "Authorization", "Bearer "+f.good), 400, mwChallengeRequest},
	} {
		rec := mwServe(h, tc.req)
		mwAssertProblem(t, rec, tc.status)
		assert.Equal(t, tc.challenge, rec.Header().Get("WWW-Authenticate"), name)
		assert.Len(t, failures.take(), 1, name)
	}
	assert.Equal(t, 4, seen, "a bad key never reaches the handler as anonymous")

	f.store.failing.Store(true)
	mwAssertProblem(t, mwServe(h, mwRequest("/", "X-API-Key", f.good)), http.StatusServiceUnavailable)
	f.store.failing.Store(false)
	failures.take()
	assert.Equal(t, 4, seen, "a key that cannot be verified is not anonymous either")

	// A scope check behind Optional requires a key: 401, not 500.
	rec := mwServe(scoped, mwRequest("/"))
	mwAssertProblem(t, rec, http.StatusUnauthorized)
	assert.Equal(t, mwChallengeNoKey, rec.Header().Get("WWW-Authenticate"))
	assert.Equal(t, http.StatusOK, mwServe(scoped, mwRequest("/", "X-API-Key", f.good)).Code)
}

// TestAuthenticate checks the request-level call: the same decisions and
// the same typed failures as the middleware.
func TestAuthenticate(t *testing.T) {
	f := newMWFixture(t)
	var failures mwFailures
	auth := mwAuth(t, f.m, apikey.AuthConfig{OnFailure: failures.hook})

	k, err := auth.Authenticate(mwRequest("/", "X-API-Key", f.good))
	require.NoError(t, err)
	assert.Equal(t, f.key.ID, k.ID)

	for name, tc := range map[string]struct {
		req   *http.Request
		kind  string
		cause error
	}{
		"no key":       {mwRequest("/"), mwMissingKey, apikey.ErrMissingKey},
		"two keys":     {mwRequest("/", "X-API-Key", f.good, "X-API-Key", f.good), mwInvalidRequest, apikey.ErrMultipleKeys},
		"inactive key": {mwRequest("/", "X-API-Key", f.inactive), mwInvalidToken, apikey.ErrInactive},
		"unknown key":  {mwRequest("/", "Authorization", "Bearer "+f.unknown), mwInvalidToken, apikey.ErrInvalidKey},
	} {
		k, err := auth.Authenticate(tc.req)
		assert.Nil(t, k, name)
		var e *apikey.AuthError
		require.True(t, errors.As(err, &e), name)
		assert.Equal(t, tc.kind, mwKindOf(e), name)
		assert.ErrorIs(t, err, tc.cause, name)
		f.assertNoSecrets(t, err.Error())
		got := failures.take()
		if tc.cause == apikey.ErrMissingKey {
			assert.Empty(t, got, "a missing key may be an anonymous request: the caller decides")
		} else {
			assert.Len(t, got, 1, name)
		}
		// The default response of the error is the middleware's.
		want := mwServe(auth.Middleware(mwOK), tc.req)
		rec := mwServe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { apikey.WriteError(w, r, err) }), tc.req)
		failures.take()
		assert.Equal(t, want.Code, rec.Code, name)
		assert.Equal(t, want.Header(), rec.Header(), name)
		assert.Equal(t, want.Body.String(), rec.Body.String(), name)
	}

	// The request-level scope checks.
	r := mwRequest("/")
	assert.NoError(t, auth.CheckAll(r, f.key, "reports:read", "reports:write"))
	assert.NoError(t, auth.CheckAny(r, f.key, "billing:read", "reports:read"))
	err = auth.CheckAll(r, f.key, "billing:read")
	var e *apikey.AuthError
	require.True(t, errors.As(err, &e))
	assert.Equal(t, mwInsufficientScope, mwKindOf(e))
	assert.Equal(t, []string{"billing:read"}, e.Groups)
	assert.Equal(t, f.key.ID, e.Key.ID)
	assert.Len(t, failures.take(), 1)
	err = auth.CheckAny(r, nil, "reports:read")
	require.True(t, errors.As(err, &e))
	assert.Equal(t, mwMissingKey, mwKindOf(e), "no key on an optional route: send one")
}
