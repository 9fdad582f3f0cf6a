// Package routers_test checks the middleware inside third-party routers,
// which the library module does not depend on.
package routers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newManager(t *testing.T) *apikey.Manager {
	t.Helper()
	m, err := apikey.New(memstore.New())
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func issue(t *testing.T, m *apikey.Manager, name string, groups ...string) string {
	t.Helper()
	_, plaintext, err := m.Issue(context.Background(), apikey.IssueRequest{Name: name, Groups: groups, CreatedBy: "tester"})
	require.NoError(t, err)
	return plaintext
}

func serve(h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestMiddlewareWithChi(t *testing.T) {
	m := newManager(t)
	reports := issue(t, m, "good", "reports:read", "reports:write")
	billing := issue(t, m, "billing", "billing:read")

	auth, err := m.Authenticator(apikey.AuthConfig{})
	require.NoError(t, err)
	r := chi.NewRouter()
	r.Get("/health", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	r.Group(func(r chi.Router) {
		r.Use(auth.Middleware)
		r.Get("/me", func(w http.ResponseWriter, r *http.Request) {
			k, _ := apikey.FromContext(r.Context())
			fmt.Fprint(w, "hello "+k.Name)
		})
		r.With(auth.RequireAny("reports:read", "reports:admin")).Get("/reports/{id}", func(w http.ResponseWriter, r *http.Request) {
			k, _ := apikey.FromContext(r.Context())
			fmt.Fprintf(w, "report %s for %s", chi.URLParam(r, "id"), k.Name)
		})
	})

	rec := serve(r, "/reports/7", "X-API-Key", reports)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "report 7 for good", rec.Body.String())
	rec = serve(r, "/reports/7", "X-API-Key", billing)
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	assert.Equal(t, `Bearer realm="api", error="insufficient_scope", scope="reports:read reports:admin"`, rec.Header().Get("WWW-Authenticate"))
	assert.Equal(t, http.StatusUnauthorized, serve(r, "/me").Code)
	assert.Equal(t, "hello billing", serve(r, "/me", "Authorization", "Bearer "+billing).Body.String())
	assert.Equal(t, "ok", serve(r, "/health").Body.String())
}
