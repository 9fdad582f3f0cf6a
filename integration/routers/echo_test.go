package routers_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/apikit/apikey"
	"github.com/labstack/echo/v4"
)

func TestEcho(t *testing.T) {
	f := newFixture(t)
	auth := f.auth
	handler := func(route string) echo.HandlerFunc {
		return func(c echo.Context) error {
			k, _ := apikey.FromContext(c.Request().Context())
			return c.String(http.StatusOK, f.greet(route, k))
		}
	}
	e := echo.New()
	e.HideBanner = true
	// echo.WrapMiddleware passes the request that the middleware made on to
	// echo (c.SetRequest), so the key is in c.Request().Context().
	e.GET("/maybe", handler("maybe"), echo.WrapMiddleware(auth.Optional))
	g := e.Group("", echo.WrapMiddleware(auth.Middleware))
	g.GET("/me", handler("me"))
	g.GET("/reports", handler("reports"), echo.WrapMiddleware(auth.RequireAll("reports:read")))

	srv := httptest.NewServer(e)
	defer srv.Close()
	f.checklist(t, srv.URL)
}
