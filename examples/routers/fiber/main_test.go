package main

import (
	"net"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/examples/routers/internal/routercheck"
)

// The program's routes pass the checklist of every router example.
func TestRoutes(t *testing.T) {
	routercheck.Run(t, func(t *testing.T, auth *apikey.Authenticator, handled func()) string {
		app := routes(auth, func(c *fiber.Ctx) error { handled(); return hello(c) })
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		go func() { _ = app.Listener(ln) }()
		t.Cleanup(func() { _ = app.Shutdown() })
		return "http://" + ln.Addr().String()
	})
}
