// Command echo serves API-key-protected routes with labstack/echo v4:
//
//	cd examples && go run ./routers/echo     # or -addr 127.0.0.1:9090
//
// It prints a key holding reports:read, once; then
//
//	curl -i http://127.0.0.1:8080/catalog                        # optional: hello anonymous
//	curl -i -H "X-API-Key: $KEY" http://127.0.0.1:8080/me        # a key is required
//	curl -i -H "X-API-Key: $KEY" http://127.0.0.1:8080/reports   # a key holding reports:read
//
// echo.WrapMiddleware hands the request that the middleware made back to
// echo (c.SetRequest), so read the key from c.Request().Context(), not from
// c.Get. A refusal is written by the middleware itself and never reaches
// echo's HTTPErrorHandler. Route middleware given to e.GET runs after group
// middleware.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/labstack/echo/v4"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	m, err := apikey.New(memstore.New())
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	auth, err := m.Authenticator(apikey.AuthConfig{})
	if err != nil {
		log.Fatal(err)
	}
	_, key, err := m.Issue(context.Background(), apikey.IssueRequest{Name: "demo", Groups: []string{"reports:read"}, CreatedBy: "example"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("A key holding reports:read, shown once:\n\n    %s\n\n", key)
	log.Fatal(routes(auth, hello).Start(*addr))
}

// routes serves hello at /catalog (optional key), /me (a key) and /reports
// (a key holding reports:read).
func routes(auth *apikey.Authenticator, hello echo.HandlerFunc) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.GET("/catalog", hello, echo.WrapMiddleware(auth.Optional))
	g := e.Group("", echo.WrapMiddleware(auth.Middleware))
	g.GET("/me", hello)
	g.GET("/reports", hello, echo.WrapMiddleware(auth.RequireAll("reports:read")))
	return e
}

// hello greets the verified key by name, or an anonymous caller.
func hello(c echo.Context) error {
	k, ok := apikey.FromContext(c.Request().Context())
	if !ok {
		return c.String(http.StatusOK, "hello anonymous")
	}
	return c.String(http.StatusOK, "hello "+k.Name)
}
