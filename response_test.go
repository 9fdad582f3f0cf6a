package apikey_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCustomErrorHandlerKeepsTheStandardHeaders proves that an error
// handler built on the exported default writer (WriteError, or SetHeaders
// with a body of its own) sends the same WWW-Authenticate, Cache-Control
// and Retry-After as the default responses, for every kind of refusal.
func TestCustomErrorHandlerKeepsTheStandardHeaders(t *testing.T) {
	f := newMWFixture(t)
	_, billing := issue(t, f.m, "billing", "billing:read")
	cfg := apikey.AuthConfig{Realm: "reports", RetryAfter: 7e9, OnFailure: func(*http.Request, *apikey.AuthError) {}}
	var logged []string
	logOnly := cfg
	logOnly.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err *apikey.AuthError) {
		logged = append(logged, mwKindOf(err))
		apikey.WriteError(w, r, err)
	}
	ownBody := cfg
	ownBody.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err *apikey.AuthError) {
		err.SetHeaders(w.Header())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(err.Status)
		fmt.Fprintf(w, `{"error":%q}`, err.Code())
	}
	handlers := map[string]http.Handler{}
	for name, c := range map[string]apikey.AuthConfig{"default": cfg, "WriteError": logOnly, "SetHeaders": ownBody} {
		a := mwAuth(t, f.m, c)
		handlers[name] = a.Middleware(a.RequireAny("reports:read", "reports:admin")(mwOK))
	}
	requests := map[string]func() *http.Request{
		"no key":        func() *http.Request { return mwRequest("/") },
		"two keys":      func() *http.Request { return mwRequest("/", "X-API-Key", f.good, "X-API-Key", f.good) },
		"inactive key":  func() *http.Request { return mwRequest("/", "X-API-Key", f.inactive) },
		"missing group": func() *http.Request { return mwRequest("/", "X-API-Key", billing) },
		"store down":    func() *http.Request { return mwRequest("/", "X-API-Key", f.good) },
	}
	for name, req := range requests {
		t.Run(name, func(t *testing.T) {
			f.store.failing.Store(name == "store down")
			defer f.store.failing.Store(false)
			want := mwServe(handlers["default"], req())
			require.NotEqual(t, http.StatusOK, want.Code)
			for _, h := range []string{"WriteError", "SetHeaders"} {
				got := mwServe(handlers[h], req())
				assert.Equal(t, want.Code, got.Code, h)
				for _, header := range []string{"WWW-Authenticate", "Cache-Control", "Retry-After", "X-Content-Type-Options"} {
					assert.Equal(t, want.Header().Values(header), got.Header().Values(header), "%s: %s", h, header)
				}
				if h == "WriteError" {
					assert.Equal(t, want.Body.String(), got.Body.String(), "WriteError writes the default body")
					assert.Equal(t, want.Header().Get("Content-Type"), got.Header().Get("Content-Type"))
				}
			}
		})
	}
	assert.Len(t, logged, len(requests))
}

// TestWriteError checks the default writer on errors an application makes.
func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	apikey.WriteError(rec, mwRequest("/"), &apikey.AuthError{Status: http.StatusUnauthorized, Err: apikey.ErrMissingKey})
	mwAssertProblem(t, rec, http.StatusUnauthorized)
	assert.Equal(t, mwChallengeNoKey, rec.Header().Get("WWW-Authenticate"), "the defaults of AuthConfig")

	rec = httptest.NewRecorder()
	apikey.WriteError(rec, mwRequest("/"), fmt.Errorf("wrapped: %w", &apikey.AuthError{Status: http.StatusForbidden, Err: apikey.ErrInsufficientScope, Groups: []string{"a", "b"}}))
	doc := mwAssertProblem(t, rec, http.StatusForbidden)
	assert.Equal(t, `Bearer realm="api", error="insufficient_scope", scope="a b"`, rec.Header().Get("WWW-Authenticate"))
	assert.Equal(t, []string{"a", "b"}, doc.RequiredGroups)

	rec = httptest.NewRecorder()
	apikey.WriteError(rec, mwRequest("/"), errors.New("database password is hunter2"))
	mwAssertProblem(t, rec, http.StatusInternalServerError)
	assert.NotContains(t, rec.Body.String(), "hunter2", "any other error is a 500 without details")
	assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
}
