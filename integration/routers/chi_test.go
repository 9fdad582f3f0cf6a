package routers_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/apikit/apikey"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
)

func TestChi(t *testing.T) {
	f := newFixture(t)
	auth := f.auth
	handler := func(route string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			k, _ := apikey.FromContext(r.Context())
			fmt.Fprint(w, f.greet(route, k))
		}
	}
	r := chi.NewRouter()
	r.Get("/health", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	r.With(auth.Optional).Get("/maybe", handler("maybe"))
	r.Group(func(r chi.Router) {
		r.Use(auth.Middleware)
		r.Get("/me", handler("me"))
		r.With(auth.RequireAll("reports:read")).Get("/reports", handler("reports"))
	})

	srv := httptest.NewServer(r)
	defer srv.Close()
	f.checklist(t, srv.URL)
	assert.Equal(t, "ok", get(t, srv.URL+"/health").body, "routes outside the group stay public")
}
