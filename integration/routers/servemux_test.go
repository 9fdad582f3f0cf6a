package routers_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/apikit/apikey"
)

func TestServeMux(t *testing.T) {
	f := newFixture(t)
	auth := f.auth
	handler := func(route string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			k, _ := apikey.FromContext(r.Context())
			fmt.Fprint(w, f.greet(route, k))
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /me", auth.Middleware(handler("me")))
	mux.Handle("GET /reports", auth.Middleware(auth.RequireAll("reports:read")(handler("reports"))))
	mux.Handle("GET /maybe", auth.Optional(handler("maybe")))

	srv := httptest.NewServer(mux)
	defer srv.Close()
	f.checklist(t, srv.URL)
}
