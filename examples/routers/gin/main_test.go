package main

import (
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/examples/routers/internal/routercheck"
)

// The program's routes pass the checklist of every router example.
func TestRoutes(t *testing.T) {
	routercheck.Run(t, func(t *testing.T, auth *apikey.Authenticator, handled func()) string {
		gin.SetMode(gin.TestMode)
		srv := httptest.NewServer(routes(auth, func(c *gin.Context) { handled(); hello(c) }))
		t.Cleanup(srv.Close)
		return srv.URL
	})
}
