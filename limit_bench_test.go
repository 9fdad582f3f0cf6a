package apikey_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
)

// BenchmarkAuthenticateLimits measures what the in-process limit check adds
// to Authenticator.Authenticate: "authenticate" is the baseline (a key
// without limits), "rate-limit" authenticates a key with one rate limit and
// meters the request (Authenticator.CheckLimits), "three-limits" the same
// with three. The limit is high enough never to refuse. Run with
//
//	go test -run '^$' -bench AuthenticateLimits -benchmem -count 6 .
func BenchmarkAuthenticateLimits(b *testing.B) {
	m := newManager(b, memstore.New())
	auth, err := m.Authenticator(apikey.AuthConfig{})
	if err != nil {
		b.Fatal(err)
	}
	req := func(l *apikey.Limits) *http.Request {
		_, plaintext, err := m.Issue(context.Background(), apikey.IssueRequest{Name: "bench", Groups: []string{"read"}, CreatedBy: "b", Limits: l})
		if err != nil {
			b.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+plaintext)
		return r
	}
	huge := func(name string) apikey.RateLimit {
		return apikey.RateLimit{Name: name, Limit: 1_000_000_000, Period: 1000 * time.Second}
	}
	plain := req(nil)
	one := req(&apikey.Limits{Rates: []apikey.RateLimit{huge("requests")}})
	three := req(&apikey.Limits{Rates: []apikey.RateLimit{huge("requests"), huge("writes"), {Name: "org", Limit: 1_000_000_000, Period: 1000 * time.Second, Scope: apikey.ScopeOwner}}})
	b.Run("authenticate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := auth.Authenticate(plain); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, c := range []struct {
		name string
		r    *http.Request
	}{{"rate-limit", one}, {"three-limits", three}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				k, err := auth.Authenticate(c.r)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := m.CheckLimits(context.Background(), k, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing but its header,
// cleared between requests.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkMiddlewareLimits measures what the in-process check adds to a
// request through Authenticator.Middleware, RateLimit headers included:
// "no-limits" is the baseline (a key without limits), "rate-limit" a key
// with one rate limit that never refuses. Run with
//
//	go test -run '^$' -bench MiddlewareLimits -benchmem -count 6 .
func BenchmarkMiddlewareLimits(b *testing.B) {
	m := newManager(b, memstore.New())
	auth, err := m.Authenticator(apikey.AuthConfig{})
	if err != nil {
		b.Fatal(err)
	}
	h := auth.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := func(l *apikey.Limits) *http.Request {
		_, plaintext, err := m.Issue(context.Background(), apikey.IssueRequest{Name: "bench", Groups: []string{"read"}, CreatedBy: "b", Limits: l})
		if err != nil {
			b.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+plaintext)
		return r
	}
	for _, c := range []struct {
		name string
		r    *http.Request
	}{
		{"no-limits", req(nil)},
		{"rate-limit", req(&apikey.Limits{Rates: []apikey.RateLimit{{Name: "requests", Limit: 1_000_000_000, Period: 1000 * time.Second}}})},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			w := &discardWriter{h: http.Header{}}
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, c.r)
			}
		})
	}
}
