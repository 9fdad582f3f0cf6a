// Command gorilla serves API-key-protected routes with gorilla/mux:
//
//	cd examples && go run ./routers/gorilla     # or -addr 127.0.0.1:9090
//
// It prints a key holding reports:read, once; then
//
//	curl -i http://127.0.0.1:8080/catalog                        # optional: hello anonymous
//	curl -i -H "X-API-Key: $KEY" http://127.0.0.1:8080/me        # a key is required
//	curl -i -H "X-API-Key: $KEY" http://127.0.0.1:8080/reports   # a key holding reports:read
//
// auth.Middleware converts to mux.MiddlewareFunc as is. gorilla/mux runs Use
// middleware only after a route matched: an unknown path is a 404 and a wrong
// method a 405, without authentication.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/gorilla/mux"
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
	log.Fatal(http.ListenAndServe(*addr, routes(auth, http.HandlerFunc(hello))))
}

// routes serves hello at /catalog (optional key), /me (a key) and /reports
// (a key holding reports:read).
func routes(auth *apikey.Authenticator, hello http.Handler) http.Handler {
	r := mux.NewRouter()
	r.Handle("/catalog", auth.Optional(hello)).Methods(http.MethodGet)
	api := r.NewRoute().Subrouter()
	api.Use(auth.Middleware)
	api.Handle("/me", hello).Methods(http.MethodGet)
	api.Handle("/reports", auth.RequireAll("reports:read")(hello)).Methods(http.MethodGet)
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
