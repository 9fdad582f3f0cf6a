// Command fiber serves API-key-protected routes with gofiber/fiber v2:
//
//	cd examples && go run ./routers/fiber     # or -addr 127.0.0.1:9090
//
// It prints a key holding reports:read, once; then
//
//	curl -i http://127.0.0.1:8080/catalog                        # optional: hello anonymous
//	curl -i -H "X-API-Key: $KEY" http://127.0.0.1:8080/me        # a key is required
//	curl -i -H "X-API-Key: $KEY" http://127.0.0.1:8080/reports   # a key holding reports:read
//
// fiber is built on fasthttp, not net/http. It authenticates natively: the
// headers go to Authenticator.Authenticate, a refusal is written through
// adaptor.HTTPHandlerFunc, and the key is kept in c.Locals.
//
// Do not use adaptor.HTTPMiddleware(auth.Middleware): it converts the request
// with ConvertRequest, which keeps only the last of repeated headers (two
// keys would pass as one), and it does not carry the request's context back
// to fiber, so handlers would not see the key. fasthttp normalizes header
// names (x-api-key arrives as X-Api-Key, which the Authenticator reads
// case-insensitively anyway). fiber reuses its Ctx after the handler
// returns: keep neither c nor c.Locals values beyond it (the *apikey.Key
// itself is the request's own copy and may be kept).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
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
	log.Fatal(routes(auth, hello).Listen(*addr))
}

// routes serves hello at /catalog (optional key), /me (a key) and /reports
// (a key holding reports:read).
func routes(auth *apikey.Authenticator, hello fiber.Handler) *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/catalog", apiKey(auth, true), hello)
	api := app.Group("", apiKey(auth, false))
	api.Get("/me", hello)
	api.Get("/reports", requireAll(auth, "reports:read"), hello)
	return app
}

// keyLocal is the c.Locals key of the verified key.
type keyLocal struct{}

// request copies every header, repeated ones included, for Authenticate.
// adaptor.ConvertRequest keeps only the last of two X-API-Key headers, which
// would turn a "two keys" refusal (400) into a success.
func request(c *fiber.Ctx) *http.Request {
	r := &http.Request{Method: c.Method(), Header: make(http.Header)}
	c.Request().Header.VisitAll(func(k, v []byte) { r.Header.Add(string(k), string(v)) })
	return r.WithContext(c.UserContext())
}

// refuse writes the library's standard response for err.
func refuse(c *fiber.Ctx, err error) error {
	return adaptor.HTTPHandlerFunc(func(w http.ResponseWriter, r *http.Request) { apikey.WriteError(w, r, err) })(c)
}

// apiKey authenticates a request; optional lets a request without any key
// through.
func apiKey(auth *apikey.Authenticator, optional bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		k, err := auth.Authenticate(request(c))
		if err != nil && !(optional && errors.Is(err, apikey.ErrMissingKey)) {
			return refuse(c, err)
		}
		c.Locals(keyLocal{}, k)
		return c.Next()
	}
}

// requireAll refuses a key that lacks one of groups.
func requireAll(auth *apikey.Authenticator, groups ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		k, _ := c.Locals(keyLocal{}).(*apikey.Key)
		if err := auth.CheckAll(request(c), k, groups...); err != nil {
			return refuse(c, err)
		}
		return c.Next()
	}
}

// hello greets the verified key by name, or an anonymous caller.
func hello(c *fiber.Ctx) error {
	if k, ok := c.Locals(keyLocal{}).(*apikey.Key); ok && k != nil {
		return c.SendString("hello " + k.Name)
	}
	return c.SendString("hello anonymous")
}
