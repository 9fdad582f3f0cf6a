package routers_test

import (
	"errors"
	"net"
	"net/http"
	"testing"

	"github.com/apikit/apikey"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fiberRequest returns the headers of a fiber request as an *http.Request
// for Authenticate. It does not use adaptor.ConvertRequest, which keeps only
// the last of repeated headers: a request with two X-API-Key headers would
// pass as one key instead of being refused with 400.
func fiberRequest(c *fiber.Ctx) *http.Request {
	r := &http.Request{Method: c.Method(), Header: make(http.Header)}
	c.Request().Header.VisitAll(func(k, v []byte) { r.Header.Add(string(k), string(v)) })
	return r.WithContext(c.UserContext())
}

// fiberAuth is the native fiber middleware: fiber is not net/http, so the
// headers are handed to Authenticate, a refusal is written through
// adaptor.HTTPHandlerFunc, and the key is kept in c.Locals (the adaptor's
// HTTPMiddleware would not carry the request's context back to fiber).
func fiberAuth(auth *apikey.Authenticator, optional bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		k, err := auth.Authenticate(fiberRequest(c))
		if err != nil && !(optional && errors.Is(err, apikey.ErrMissingKey)) {
			return adaptor.HTTPHandlerFunc(func(w http.ResponseWriter, r *http.Request) { apikey.WriteError(w, r, err) })(c)
		}
		c.Locals(fiberKey{}, k)
		return c.Next()
	}
}

// fiberKey is the c.Locals key of the verified key.
type fiberKey struct{}

// fiberRequireAll is the native scope check.
func fiberRequireAll(auth *apikey.Authenticator, groups ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		k, _ := c.Locals(fiberKey{}).(*apikey.Key)
		if err := auth.CheckAll(fiberRequest(c), k, groups...); err != nil {
			return adaptor.HTTPHandlerFunc(func(w http.ResponseWriter, r *http.Request) { apikey.WriteError(w, r, err) })(c)
		}
		return c.Next()
	}
}

// TestFiberAdaptorMergesHeaders documents why fiberRequest exists: the
// adaptor's conversion keeps one of two X-API-Key headers.
func TestFiberAdaptorMergesHeaders(t *testing.T) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	var converted, visited []string
	app.Get("/", func(c *fiber.Ctx) error {
		r, err := adaptor.ConvertRequest(c, false)
		if err != nil {
			return err
		}
		converted = r.Header.Values("X-Api-Key")
		visited = fiberRequest(c).Header.Values("X-Api-Key")
		return nil
	})
	req, err := http.NewRequest(http.MethodGet, "/", nil)
	require.NoError(t, err)
	req.Header.Add("X-API-Key", "one")
	req.Header.Add("X-API-Key", "two")
	resp, err := app.Test(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Len(t, converted, 1, "if the adaptor keeps both headers one day, fiberRequest can go")
	assert.Equal(t, []string{"one", "two"}, visited)
}

func TestFiber(t *testing.T) {
	f := newFixture(t)
	handler := func(route string) fiber.Handler {
		return func(c *fiber.Ctx) error {
			k, _ := c.Locals(fiberKey{}).(*apikey.Key)
			return c.SendString(f.greet(route, k))
		}
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/maybe", fiberAuth(f.auth, true), handler("maybe"))
	api := app.Group("", fiberAuth(f.auth, false))
	api.Get("/me", handler("me"))
	api.Get("/reports", fiberRequireAll(f.auth, "reports:read"), handler("reports"))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	f.checklist(t, "http://"+ln.Addr().String())
}
