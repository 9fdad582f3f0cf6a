package apikey_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
)

// The Authenticator's middleware authenticates every request to the mux;
// RequireAll guards one route. The keys are used, never printed.
func ExampleAuthenticator_Middleware() {
	m, err := apikey.New(memstore.New())
	if err != nil {
		panic(err)
	}
	defer m.Close()
	ctx := context.Background()
	_, reader, err := m.Issue(ctx, apikey.IssueRequest{Name: "reporting job", Groups: []string{"reports:read"}, CreatedBy: "admin"})
	if err != nil {
		panic(err)
	}
	_, billing, err := m.Issue(ctx, apikey.IssueRequest{Name: "billing job", Groups: []string{"billing:read"}, CreatedBy: "admin"})
	if err != nil {
		panic(err)
	}

	auth, err := m.Authenticator(apikey.AuthConfig{})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /reports", auth.RequireAll("reports:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, _ := apikey.FromContext(r.Context())
		fmt.Fprintf(w, "reports for %s", k.Name)
	})))
	handler := auth.Middleware(mux)

	for _, c := range []struct {
		name    string
		headers []string // name, value, ...
	}{
		{"no key", nil},
		{"reader, Bearer", []string{"Authorization", "Bearer " + reader}},
		{"reader, X-API-Key", []string{"X-API-Key", reader}},
		{"billing key", []string{"Authorization", "Bearer " + billing}},
		{"made-up key", []string{"Authorization", "Bearer ak_madeUp"}},
		{"two keys", []string{"Authorization", "Bearer " + reader, "X-API-Key", reader}},
	} {
		r := httptest.NewRequest(http.MethodGet, "/reports", nil)
		for i := 0; i < len(c.headers); i += 2 {
			r.Header.Add(c.headers[i], c.headers[i+1])
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, r)
		fmt.Printf("%s: %d\n", c.name, rec.Code)
		if challenge := rec.Header().Get("WWW-Authenticate"); challenge != "" {
			fmt.Println("  WWW-Authenticate:", challenge)
		} else {
			fmt.Println(" ", rec.Body)
		}
	}
	// Output:
	// no key: 401
	//   WWW-Authenticate: Bearer realm="api"
	// reader, Bearer: 200
	//   reports for reporting job
	// reader, X-API-Key: 200
	//   reports for reporting job
	// billing key: 403
	//   WWW-Authenticate: Bearer realm="api", error="insufficient_scope", scope="reports:read"
	// made-up key: 401
	//   WWW-Authenticate: Bearer realm="api", error="invalid_token"
	// two keys: 400
	//   WWW-Authenticate: Bearer realm="api", error="invalid_request"
}
