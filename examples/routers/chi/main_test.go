package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/examples/routers/internal/routercheck"
)

// The program's routes pass the checklist of every router example.
func TestRoutes(t *testing.T) {
	routercheck.Run(t, func(t *testing.T, auth *apikey.Authenticator, handled func()) string {
		srv := httptest.NewServer(routes(auth, func(w http.ResponseWriter, r *http.Request) { handled(); hello(w, r) }))
		t.Cleanup(srv.Close)
		return srv.URL
	})
}
