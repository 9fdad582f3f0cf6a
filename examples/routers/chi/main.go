// Command chi serves API-key-protected routes with go-chi/chi:
//
//	cd examples && go run ./routers/chi     # or -addr 127.0.0.1:9090
//
// It prints a key holding reports:read, once; then
//
//	curl -i http://127.0.0.1:8080/catalog                        # optional: hello anonymous
//	curl -i -H "X-API-Key: $KEY" http://127.0.0.1:8080/me        # a key is required
//	curl -i -H "X-API-Key: $KEY" http://127.0.0.1:8080/reports   # a key holding reports:read
//
// chi takes net/http middleware as is. r.Use must come before the routes of
// its group (chi panics otherwise); r.With adds middleware to one route. The
// key travels in the request's context, which chi passes on.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/go-chi/chi/v5"
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
func routes(auth *apikey.Authenticator, hello http.HandlerFunc) http.Handler {
	r := chi.NewRouter()
	r.With(auth.Optional).Get("/catalog", hello)
	r.Group(func(r chi.Router) {
		r.Use(auth.Middleware)
		r.Get("/me", hello)
		r.With(auth.RequireAll("reports:read")).Get("/reports", hello)
	})
	return r
}

// hello greets the verified key by name, or an anonymous caller.
func hello(w http.ResponseWriter, r *http.Request) {
	k, ok := apikey.FromContext(r.Context())
	if !ok {
		fmt.Fprintln(w, "hello anonymous")
		return
	}
	fmt.Fprintln(w, "hello", k.Name)
}
