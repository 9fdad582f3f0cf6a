package apikey_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
)

// An ErrorHandler receives the real cause of a refusal in an *AuthError
// (Status, Err for errors.Is, Code() for the RFC 6750 code). This one writes
// a body of its own and keeps the standard status and headers
// (WWW-Authenticate, Cache-Control: no-store, Retry-After) with SetHeaders;
// one that only logs would end with apikey.WriteError(w, r, err), the
// default response. What the client may learn is the application's
// decision: err.Err tells an inactive key from an unknown one, the default
// responses never do.
func ExampleAuthConfig_errorHandler() {
	ctx := context.Background()
	m, err := apikey.New(memstore.New())
	if err != nil {
		panic(err)
	}
	defer m.Close()
	k, plaintext, _ := m.Issue(ctx, apikey.IssueRequest{Name: "partner", Groups: []string{"orders:read"}, CreatedBy: "ops"})
	_ = m.Deactivate(ctx, k.ID)

	auth, err := m.Authenticator(apikey.AuthConfig{
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err *apikey.AuthError) {
			// Log err.Err here: it is the cause, for the operator only.
			fmt.Println("cause: inactive key:", errors.Is(err, apikey.ErrInactive))
			err.SetHeaders(w.Header())
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(err.Status)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Code()})
		},
	})
	if err != nil {
		panic(err)
	}
	handler := auth.Middleware(http.NotFoundHandler())

	r := httptest.NewRequest(http.MethodGet, "/orders", nil)
	r.Header.Set("X-API-Key", plaintext)
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, r)
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Header().Get("Cache-Control"))
	fmt.Print(rec.Body)
	// Output:
	// cause: inactive key: true
	// 401 Bearer realm="api", error="invalid_token" no-store
	// {"error":"invalid_token"}
}
