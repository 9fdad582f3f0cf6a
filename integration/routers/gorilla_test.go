package routers_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/apikit/apikey"
	"github.com/gorilla/mux"
)

func TestGorillaMux(t *testing.T) {
	f := newFixture(t)
	auth := f.auth
	handler := func(route string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			k, _ := apikey.FromContext(r.Context())
			fmt.Fprint(w, f.greet(route, k))
		}
	}
	r := mux.NewRouter()
	r.Handle("/maybe", auth.Optional(handler("maybe"))).Methods(http.MethodGet)
	api := r.NewRoute().Subrouter()
	api.Use(auth.Middleware) // runs only for a route that matched
	api.HandleFunc("/me", handler("me")).Methods(http.MethodGet)
	api.Handle("/reports", auth.RequireAll("reports:read")(handler("reports"))).Methods(http.MethodGet)

	srv := httptest.NewServer(r)
	defer srv.Close()
	f.checklist(t, srv.URL)
}
