package apikey_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
)

// The middleware's cost is the difference between BenchmarkHTTPMiddleware
// (or BenchmarkHTTPRequireAll) and BenchmarkHTTPBare, its baseline: the same
// handler, recorder and request without authentication. Reproduce with
//
//	go test -run '^$' -bench 'HTTP' -benchmem -count 6 .

// httpBenchHandler is the application handler of the HTTP benchmarks: it
// answers 204 without a body.
var httpBenchHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
})

func serveHTTPBench(b *testing.B, h http.Handler, r *http.Request) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusNoContent {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// httpBenchRequest returns a manager (memstore, no background flush) and a
// request carrying a valid key with the group "reports:read".
func httpBenchRequest(b *testing.B) (*apikey.Manager, *http.Request) {
	m := newManager(b, memstore.New())
	_, plaintext := issue(b, m, "bench", "reports:read", "reports:write")
	r := httptest.NewRequest(http.MethodGet, "/reports", nil)
	r.Header.Set("Authorization", "Bearer "+plaintext)
	return m, r
}

// BenchmarkHTTPBare is the baseline: the handler alone.
func BenchmarkHTTPBare(b *testing.B) {
	_, r := httpBenchRequest(b)
	serveHTTPBench(b, httpBenchHandler, r)
}

// BenchmarkHTTPMiddleware serves a valid key through Authenticator.Middleware.
func BenchmarkHTTPMiddleware(b *testing.B) {
	m, r := httpBenchRequest(b)
	serveHTTPBench(b, benchAuth(b, m).Middleware(httpBenchHandler), r)
}

// BenchmarkHTTPVerifyOnly calls Manager.Verify alone with the same key: the
// share of BenchmarkHTTPMiddleware that belongs to the Manager and the Store
// rather than to the HTTP layer.
func BenchmarkHTTPVerifyOnly(b *testing.B) {
	m, r := httpBenchRequest(b)
	plaintext := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Verify(ctx, plaintext); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHTTPRequireAll adds a RequireAll check to BenchmarkHTTPMiddleware.
func BenchmarkHTTPRequireAll(b *testing.B) {
	m, r := httpBenchRequest(b)
	auth := benchAuth(b, m)
	serveHTTPBench(b, auth.Middleware(auth.RequireAll("reports:read", "reports:write")(httpBenchHandler)), r)
}

// BenchmarkHTTPInvalidKey serves a well-formed unknown key: the cost of a
// refusal, which an attacker can make the server pay at will.
func BenchmarkHTTPInvalidKey(b *testing.B) {
	m, _ := httpBenchRequest(b)
	other := newManager(b, memstore.New())
	_, plaintext := issue(b, other, "other", "reports:read")
	r := httptest.NewRequest(http.MethodGet, "/reports", nil)
	r.Header.Set("Authorization", "Bearer "+plaintext)
	h := benchAuth(b, m).Middleware(httpBenchHandler)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusUnauthorized {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

func benchAuth(b *testing.B, m *apikey.Manager) *apikey.Authenticator {
	b.Helper()
	a, err := m.Authenticator(apikey.AuthConfig{})
	if err != nil {
		b.Fatal(err)
	}
	return a
}
