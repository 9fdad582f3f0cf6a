package routers_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/apikit/apikey"
	"github.com/gin-gonic/gin"
)

// ginAuth is the native gin middleware: Authenticate, and on refusal the
// default response and c.Abort(), without which gin would run the handler.
func ginAuth(auth *apikey.Authenticator, optional bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		k, err := auth.Authenticate(c.Request)
		if err != nil && !(optional && errors.Is(err, apikey.ErrMissingKey)) {
			apikey.WriteError(c.Writer, c.Request, err)
			c.Abort()
			return
		}
		c.Request = c.Request.WithContext(apikey.NewContext(c.Request.Context(), k))
		c.Next()
	}
}

// ginRequireAll is the native scope check.
func ginRequireAll(auth *apikey.Authenticator, groups ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		k, _ := apikey.FromContext(c.Request.Context())
		if err := auth.CheckAll(c.Request, k, groups...); err != nil {
			apikey.WriteError(c.Writer, c.Request, err)
			c.Abort()
			return
		}
		c.Next()
	}
}

func TestGin(t *testing.T) {
	gin.SetMode(gin.TestMode)
	f := newFixture(t)
	handler := func(route string) gin.HandlerFunc {
		return func(c *gin.Context) {
			k, _ := apikey.FromContext(c.Request.Context())
			c.String(http.StatusOK, f.greet(route, k))
		}
	}
	r := gin.New()
	r.GET("/maybe", ginAuth(f.auth, true), handler("maybe"))
	api := r.Group("", ginAuth(f.auth, false))
	api.GET("/me", handler("me"))
	api.GET("/reports", ginRequireAll(f.auth, "reports:read"), handler("reports"))

	srv := httptest.NewServer(r)
	defer srv.Close()
	f.checklist(t, srv.URL)
}
