package main

import (
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/examples/routers/internal/routercheck"
)

// The program's routes pass the checklist of every router example.
func TestRoutes(t *testing.T) {
	routercheck.Run(t, func(t *testing.T, auth *apikey.Authenticator, handled func()) string {
		srv := httptest.NewServer(routes(auth, func(c echo.Context) error { handled(); return hello(c) }))
		t.Cleanup(srv.Close)
		return srv.URL
	})
}
