package apikey_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMiddlewareScopes(t *testing.T) {
	f := newMWFixture(t)
	ctx := context.Background()
	_, billing := issue(t, f.m, "billing", "billing:read")
	_, upper := issue(t, f.m, "upper", "Reports:read")
	var failures mwFailures
	auth := mwAuth(t, f.m, apikey.AuthConfig{OnFailure: failures.hook})

	all := auth.Middleware(auth.RequireAll("reports:read", "reports:write")(mwOK))
	anyOf := auth.Middleware(auth.RequireAny("billing:read", "reports:read")(mwOK))
	stacked := auth.Middleware(auth.RequireAny("billing:read", "reports:read")(auth.RequireAll("reports:write")(mwOK)))
	bearer := func(key string) *http.Request { return mwRequest("/", "Authorization", "Bearer "+key) }

	assert.Equal(t, http.StatusOK, mwServe(all, bearer(f.good)).Code)
	assert.Equal(t, http.StatusOK, mwServe(anyOf, bearer(f.good)).Code)
	assert.Equal(t, http.StatusOK, mwServe(anyOf, bearer(billing)).Code)
	assert.Equal(t, http.StatusOK, mwServe(stacked, bearer(f.good)).Code)
	assert.Empty(t, failures.take())

	rec := mwServe(all, bearer(billing))
	doc := mwAssertProblem(t, rec, http.StatusForbidden)
	assert.Equal(t, `Bearer realm="api", error="insufficient_scope", scope="reports:read reports:write"`, rec.Header().Get("WWW-Authenticate"))
	assert.Equal(t, []string{"reports:read", "reports:write"}, doc.RequiredGroups)
	assert.Contains(t, doc.Detail, "all")
	got := failures.take()
	require.Len(t, got, 1)
	assert.Equal(t, mwInsufficientScope, mwKindOf(got[0]))
	assert.ErrorIs(t, got[0], apikey.ErrInsufficientScope)
	require.NotNil(t, got[0].Key)
	assert.Equal(t, "billing", got[0].Key.Name, "the hook knows which key lacked the groups")
	assert.Equal(t, []string{"reports:read", "reports:write"}, got[0].Groups)
	assert.False(t, got[0].AnyGroup)
	got[0].Groups[0] = "billing:read" // the hook's copy: the requirement does not change
	assert.Equal(t, http.StatusForbidden, mwServe(all, bearer(billing)).Code)
	failures.take()

	rec = mwServe(anyOf, bearer(upper))
	doc = mwAssertProblem(t, rec, http.StatusForbidden)
	assert.Equal(t, `Bearer realm="api", error="insufficient_scope", scope="billing:read reports:read"`, rec.Header().Get("WWW-Authenticate"), "no case folding")
	assert.Equal(t, []string{"billing:read", "reports:read"}, doc.RequiredGroups)
	assert.Contains(t, doc.Detail, "any one")
	got = failures.take()
	require.Len(t, got, 1)
	assert.True(t, got[0].AnyGroup)

	rec = mwServe(stacked, bearer(billing))
	mwAssertProblem(t, rec, http.StatusForbidden)
	assert.Equal(t, `Bearer realm="api", error="insufficient_scope", scope="reports:write"`, rec.Header().Get("WWW-Authenticate"), "the inner requirement refused")

	// Authentication still comes first: a bad key is 401 before any scope.
	rec = mwServe(all, bearer(f.inactive))
	mwAssertProblem(t, rec, http.StatusUnauthorized)
	assert.Equal(t, mwChallengeToken, rec.Header().Get("WWW-Authenticate"))

	// Deactivation takes effect on the next request, scope or not.
	require.NoError(t, f.m.Deactivate(ctx, f.key.ID))
	assert.Equal(t, http.StatusUnauthorized, mwServe(all, bearer(f.good)).Code)
}

// TestRequireWithoutMiddlewareFailsClosed checks that a scope check that no
// authentication precedes never lets a request through: it is a
// mis-assembled stack, answered with 500 (not a 401 that would tell the
// client to send a key) and logged at error level, hook or not.
func TestRequireWithoutMiddlewareFailsClosed(t *testing.T) {
	var logs bytes.Buffer
	f := newMWFixture(t, apikey.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	var failures mwFailures
	for cfgName, cfg := range map[string]apikey.AuthConfig{"default": {}, "with a hook": {OnFailure: failures.hook}} {
		auth := mwAuth(t, f.m, cfg)
		for name, h := range map[string]http.Handler{
			"RequireAll": auth.RequireAll("reports:read")(mwOK),
			"RequireAny": auth.RequireAny("reports:read")(mwOK),
		} {
			t.Run(cfgName+"/"+name, func(t *testing.T) {
				logs.Reset()
				failures.take()
				// Even with a valid key in the header: nothing verified it.
				rec := mwServe(h, mwRequest("/reports", "Authorization", "Bearer "+f.good))
				mwAssertProblem(t, rec, http.StatusInternalServerError)
				assert.Empty(t, rec.Header().Get("WWW-Authenticate"), "no challenge: the client can do nothing about it")
				f.assertNoSecrets(t, rec.Body.String())
				assert.Contains(t, logs.String(), "level=ERROR")
				assert.Contains(t, logs.String(), "mis-assembled")
				assert.Contains(t, logs.String(), name+"(reports:read)")
				assert.Contains(t, logs.String(), "path=/reports")
				assert.Equal(t, 1, strings.Count(logs.String(), "level=ERROR"), "logged once:\n%s", logs.String())
				f.assertNoSecrets(t, logs.String())
				if cfg.OnFailure != nil {
					got := failures.take()
					require.Len(t, got, 1)
					assert.Equal(t, mwInternal, mwKindOf(got[0]))
				}

				r := mwRequest("/")
				r = r.WithContext(apikey.NewContext(r.Context(), nil))
				rec = mwServe(h, r)
				mwAssertProblem(t, rec, http.StatusUnauthorized)
				assert.Equal(t, mwChallengeNoKey, rec.Header().Get("WWW-Authenticate"), "a nil key is an anonymous request: no key")

				r = mwRequest("/")
				r = r.WithContext(apikey.NewContext(r.Context(), f.key))
				assert.Equal(t, http.StatusOK, mwServe(h, r).Code, "NewContext lets handlers be tested alone")
			})
		}
	}
}

func TestRequirePanicsOnProgrammingErrors(t *testing.T) {
	auth := mwAuth(t, newManager(t, memstore.New()), apikey.AuthConfig{})
	k := &apikey.Key{Groups: []string{"a"}}
	r := mwRequest("/")
	for name, fn := range map[string]func(){
		"RequireAll()":            func() { auth.RequireAll() },
		"RequireAny()":            func() { auth.RequireAny() },
		"RequireAll(\"\")":        func() { auth.RequireAll("") },
		"RequireAny with a space": func() { auth.RequireAny("reports read") },
		"RequireAll with a quote": func() { auth.RequireAll(`a"b`) },
		"RequireAll nil handler":  func() { auth.RequireAll("a")(nil) },
		"CheckAll()":              func() { _ = auth.CheckAll(r, k) },
		"CheckAny with a space":   func() { _ = auth.CheckAny(r, k, "reports read") },
		"Middleware nil handler":  func() { auth.Middleware(nil) },
		"Optional nil handler":    func() { auth.Optional(nil) },
	} {
		assert.Panics(t, fn, name)
	}
}

func TestMiddlewareHasGroups(t *testing.T) {
	k := &apikey.Key{Groups: []string{"billing:read", "reports:read"}}
	cases := []struct {
		key      *apikey.Key
		groups   []string
		all, any bool
	}{
		{k, []string{"reports:read"}, true, true},
		{k, []string{"reports:read", "billing:read"}, true, true},
		{k, []string{"reports:read", "reports:write"}, false, true},
		{k, []string{"reports:write"}, false, false},
		{k, []string{"Reports:read"}, false, false},
		{k, []string{"reports:read "}, false, false},
		{k, []string{"reports"}, false, false},
		{k, nil, false, false},
		{nil, []string{"reports:read"}, false, false},
		{&apikey.Key{}, []string{"reports:read"}, false, false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.all, tc.key.HasAllGroups(tc.groups...), "HasAllGroups(%v, %q)", tc.key != nil, tc.groups)
		assert.Equal(t, tc.any, tc.key.HasAnyGroup(tc.groups...), "HasAnyGroup(%v, %q)", tc.key != nil, tc.groups)
	}
}
