// Command gin serves API-key-protected routes with gin-gonic/gin:
//
//	cd examples && go run ./routers/gin     # or -addr 127.0.0.1:9090
//
// It prints a key holding reports:read, once; then
//
//	curl -i http://127.0.0.1:8080/catalog                        # optional: hello anonymous
//	curl -i -H "X-API-Key: $KEY" http://127.0.0.1:8080/me        # a key is required
//	curl -i -H "X-API-Key: $KEY" http://127.0.0.1:8080/reports   # a key holding reports:read
//
// gin does not take net/http middleware: apiKey and requireAll are native
// gin middleware around Authenticator.Authenticate and CheckAll. Call
// c.Abort() on refusal: returning from a gin middleware does not stop the
// chain, and without Abort the handler runs after the 401 was written. Read
// the key from c.Request.Context(): apikey.FromContext(c) with the
// *gin.Context itself finds nothing unless the engine sets
// ContextWithFallback. WriteError writes the same response as the
// middleware (an AuthConfig.ErrorHandler is not called by Authenticate: call
// it yourself if you have one).
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
	"github.com/gin-gonic/gin"
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
	fmt.Printf("A key holding reports:read, shown once:\n\n    %s\n\nListening on http://%s\n", key, *addr)
	log.Fatal(http.ListenAndServe(*addr, routes(auth, hello)))
}

// routes serves hello at /catalog (optional key), /me (a key) and /reports
// (a key holding reports:read).
func routes(auth *apikey.Authenticator, hello gin.HandlerFunc) *gin.Engine {
	r := gin.New()
	r.GET("/catalog", apiKey(auth, true), hello)
	api := r.Group("", apiKey(auth, false))
	api.GET("/me", hello)
	api.GET("/reports", requireAll(auth, "reports:read"), hello)
	return r
}

// apiKey authenticates a request; optional lets a request without any key
// through.
func apiKey(auth *apikey.Authenticator, optional bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		k, err := auth.Authenticate(c.Request)
		if err != nil && !(optional && errors.Is(err, apikey.ErrMissingKey)) {
			apikey.WriteError(c.Writer, c.Request, err)
			c.Abort() // without it, gin runs the next handlers anyway
			return
		}
		c.Request = c.Request.WithContext(apikey.NewContext(c.Request.Context(), k))
		c.Next()
	}
}

// requireAll refuses a key that lacks one of groups.
func requireAll(auth *apikey.Authenticator, groups ...string) gin.HandlerFunc {
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

// hello greets the verified key by name, or an anonymous caller.
func hello(c *gin.Context) {
	k, ok := apikey.FromContext(c.Request.Context())
	if !ok {
		c.String(http.StatusOK, "hello anonymous")
		return
	}
	c.String(http.StatusOK, "hello "+k.Name)
}
