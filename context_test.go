package apikey_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMiddlewareFromContext(t *testing.T) {
	k, ok := apikey.FromContext(context.Background())
	assert.False(t, ok)
	assert.Nil(t, k)
	var nilCtx context.Context
	k, ok = apikey.FromContext(nilCtx)
	assert.False(t, ok)
	assert.Nil(t, k)

	f := newMWFixture(t)
	var seen *apikey.Key
	h := mwAuth(t, f.m, apikey.AuthConfig{}).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Contexts derived after the middleware keep the key, and the values
		// set before it.
		ctx := context.WithValue(r.Context(), mwInnerKey{}, "inner")
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		seen, _ = apikey.FromContext(ctx)
		assert.Equal(t, "outer", ctx.Value(mwOuterKey{}))
		assert.Equal(t, "inner", ctx.Value(mwInnerKey{}))
		w.WriteHeader(http.StatusNoContent)
	}))
	r := mwRequest("/", "X-API-Key", f.good)
	r = r.WithContext(context.WithValue(r.Context(), mwOuterKey{}, "outer"))
	assert.Equal(t, http.StatusNoContent, mwServe(h, r).Code)
	require.NotNil(t, seen)
	assert.Equal(t, f.key.ID, seen.ID)
	assert.Equal(t, f.key.Groups, seen.Groups)
}

// TestMiddlewareContextCancellation checks that the context the middleware
// makes is still cancelled with the request's.
func TestMiddlewareContextCancellation(t *testing.T) {
	f := newMWFixture(t)
	done := make(chan struct{})
	h := mwAuth(t, f.m, apikey.AuthConfig{}).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		close(done)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	r := mwRequest("/", "X-API-Key", f.good).WithContext(ctx)
	go mwServe(h, r)
	cancel()
	<-done
}
