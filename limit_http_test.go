package apikey_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func limitedKey(t *testing.T, m *apikey.Manager, l *apikey.Limits, groups ...string) (*apikey.Key, string) {
	t.Helper()
	if len(groups) == 0 {
		groups = []string{"read"}
	}
	k, plaintext, err := m.Issue(context.Background(), apikey.IssueRequest{Name: "limited", Groups: groups, CreatedBy: "tester", Limits: l})
	require.NoError(t, err)
	return k, plaintext
}

func get(h http.Handler, key string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-API-Key", key)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

func TestMiddlewareRateLimit(t *testing.T) {
	clock := newFakeClock()
	m := newManager(t, memstore.New(), apikey.WithClock(clock.Now))
	auth, err := m.Authenticator(apikey.AuthConfig{})
	require.NoError(t, err)
	_, key := limitedKey(t, m, &apikey.Limits{Rates: []apikey.RateLimit{{Name: "requests", Limit: 5, Period: time.Minute}}})
	h := auth.Middleware(okHandler)
	for i := range 5 {
		w := get(h, key)
		require.Equal(t, http.StatusOK, w.Code, "request %d", i)
		assert.Equal(t, `"requests";q=5;w=60`, w.Header().Get("RateLimit-Policy"))
		assert.Equal(t, `"requests";r=`+string(rune('0'+4-i))+`;t=`+[]string{"12", "24", "36", "48", "60"}[i], w.Header().Get("RateLimit"))
	}
	w := get(h, key)
	require.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Equal(t, "12", w.Header().Get("Retry-After"))
	assert.Equal(t, `"requests";r=0;t=60`, w.Header().Get("RateLimit"))
	assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &doc))
	assert.Equal(t, apikey.ProblemRateLimited, doc["type"])
	assert.Equal(t, "requests", doc["limit"])
	assert.NotContains(t, w.Body.String(), key[:12])
	assert.Equal(t, uint64(1), m.Stats().RateLimited)
	clock.Advance(12 * time.Second)
	assert.Equal(t, http.StatusOK, get(h, key).Code, "one request came back after 12s")
	assert.Equal(t, http.StatusTooManyRequests, get(h, key).Code)
}

func TestMiddlewareCredits(t *testing.T) {
	m := newManager(t, memstore.New())
	auth, err := m.Authenticator(apikey.AuthConfig{})
	require.NoError(t, err)
	k, key := limitedKey(t, m, &apikey.Limits{
		Rates:   []apikey.RateLimit{{Name: "requests", Limit: 100, Period: time.Minute}},
		Credits: &apikey.CreditPolicy{},
	})
	three := int64(3)
	n, err := m.ChangeCredits(context.Background(), apikey.CreditAccount{KeyID: k.ID}, &three, 0)
	require.NoError(t, err)
	require.Equal(t, int64(3), n)
	h := auth.Middleware(okHandler)
	for range 3 {
		require.Equal(t, http.StatusOK, get(h, key).Code)
	}
	for range 5 {
		w := get(h, key)
		require.Equal(t, http.StatusTooManyRequests, w.Code)
		var doc map[string]any
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &doc))
		assert.Equal(t, apikey.ProblemNoCredits, doc["type"])
		assert.Empty(t, w.Header().Get("Retry-After"), "no refill: no time to retry at")
	}
	w := get(h, key)
	assert.Equal(t, `"requests";r=97;t=2`, w.Header().Get("RateLimit"), "the refused requests took nothing from the rate limit")
	b, err := m.Credits(context.Background(), apikey.CreditAccount{Owner: k.Owner, KeyID: k.ID})
	require.NoError(t, err)
	assert.Equal(t, int64(0), b.Remaining)
	assert.Equal(t, uint64(6), m.Stats().NoCredits)
}

// A request refused by a scope check consumes none of the key's limits;
// Limit sets a route's cost.
func TestLimitsAfterScopesAndCost(t *testing.T) {
	m := newManager(t, memstore.New())
	auth, err := m.Authenticator(apikey.AuthConfig{})
	require.NoError(t, err)
	_, key := limitedKey(t, m, &apikey.Limits{Rates: []apikey.RateLimit{{Name: "requests", Limit: 10, Period: time.Hour}}})
	forbidden := auth.Middleware(auth.RequireAll("admin")(okHandler))
	for range 20 {
		require.Equal(t, http.StatusForbidden, get(forbidden, key).Code)
	}
	expensive := auth.Middleware(auth.RequireAll("read")(auth.Limit(4)(okHandler)))
	w := get(expensive, key)
	require.Equal(t, http.StatusOK, w.Code)
	assert.True(t, strings.HasPrefix(w.Header().Get("RateLimit"), `"requests";r=6;`), w.Header().Get("RateLimit"))
	require.Equal(t, http.StatusOK, get(expensive, key).Code)
	require.Equal(t, http.StatusTooManyRequests, get(expensive, key).Code, "4+4+4 > 10")
	cheap := auth.Middleware(okHandler)
	require.Equal(t, http.StatusOK, get(cheap, key).Code)
	require.Equal(t, http.StatusOK, get(cheap, key).Code)
	require.Equal(t, http.StatusTooManyRequests, get(cheap, key).Code)
}

// Owner-scoped limits and credits are shared by the owner's keys; owner
// defaults apply to keys without their own.
func TestOwnerLimits(t *testing.T) {
	m := newManager(t, memstore.New(), apikey.WithOwnerLimits(func(owner string) apikey.Limits {
		return apikey.Limits{Rates: []apikey.RateLimit{{Name: "plan", Limit: 3, Period: time.Hour, Scope: apikey.ScopeOwner}}}
	}))
	auth, err := m.Authenticator(apikey.AuthConfig{})
	require.NoError(t, err)
	_, a := issue(t, m, "a", "read")
	_, b := issue(t, m, "b", "read")
	h := auth.Middleware(okHandler)
	assert.Equal(t, http.StatusOK, get(h, a).Code)
	assert.Equal(t, http.StatusOK, get(h, b).Code)
	assert.Equal(t, http.StatusOK, get(h, a).Code)
	assert.Equal(t, http.StatusTooManyRequests, get(h, b).Code, "the owner's limit is shared")
}

type failingLimiter struct{}

func (failingLimiter) Take(context.Context, int64, []apikey.RateCounter) (apikey.LimitResult, error) {
	return apikey.LimitResult{}, errors.New("connection refused")
}
func (failingLimiter) Give(context.Context, int64, []apikey.RateCounter) error {
	return errors.New("connection refused")
}

func TestLimiterFailure(t *testing.T) {
	l := &apikey.Limits{Rates: []apikey.RateLimit{{Name: "requests", Limit: 2, Period: time.Hour}}}
	m := newManager(t, memstore.New(), apikey.WithLimiter(failingLimiter{}))
	auth, err := m.Authenticator(apikey.AuthConfig{})
	require.NoError(t, err)
	_, key := limitedKey(t, m, l)
	w := get(auth.Middleware(okHandler), key)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code, "fail closed by default")
	assert.Equal(t, uint64(1), m.Stats().LimiterFailures)

	m = newManager(t, memstore.New(), apikey.WithLimiter(failingLimiter{}), apikey.WithLimiterFallback(true))
	auth, err = m.Authenticator(apikey.AuthConfig{})
	require.NoError(t, err)
	_, key = limitedKey(t, m, l)
	h := auth.Middleware(okHandler)
	assert.Equal(t, http.StatusOK, get(h, key).Code)
	assert.Equal(t, http.StatusOK, get(h, key).Code)
	assert.Equal(t, http.StatusTooManyRequests, get(h, key).Code, "the fallback counts in process")
	assert.Equal(t, uint64(3), m.Stats().LimiterFallbacks)
}

// A Store that cannot keep limits refuses them.
func TestLimitsNeedLimitStore(t *testing.T) {
	m := newManager(t, plainStore{memstore.New()})
	_, _, err := m.Issue(context.Background(), apikey.IssueRequest{Name: "x", Groups: []string{"read"}, CreatedBy: "t",
		Limits: &apikey.Limits{Rates: []apikey.RateLimit{{Name: "requests", Limit: 1, Period: time.Second}}}})
	assert.ErrorIs(t, err, errors.ErrUnsupported)
	k, _ := issue(t, m, "y", "read")
	assert.ErrorIs(t, m.SetLimits(context.Background(), k.ID, &apikey.Limits{}), errors.ErrUnsupported)
	_, err = m.ChangeCredits(context.Background(), apikey.CreditAccount{KeyID: k.ID}, nil, 5)
	assert.ErrorIs(t, err, errors.ErrUnsupported)
}

func TestCheckLimitsRequestLevel(t *testing.T) {
	m := newManager(t, memstore.New())
	auth, err := m.Authenticator(apikey.AuthConfig{})
	require.NoError(t, err)
	_, key := limitedKey(t, m, &apikey.Limits{Rates: []apikey.RateLimit{{Name: "requests", Limit: 1, Period: time.Hour}}})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-API-Key", key)
	k, err := auth.Authenticate(r)
	require.NoError(t, err)
	h, err := auth.CheckLimits(r, k, 0)
	require.NoError(t, err)
	assert.Equal(t, `"requests";r=0;t=3600`, h.Get("RateLimit"))
	h, err = auth.CheckLimits(r, k, 0)
	var le *apikey.LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "requests", le.Limit)
	assert.Equal(t, "3600", h.Get("Retry-After"))
	w := httptest.NewRecorder()
	apikey.WriteError(w, r, err)
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
}

// The header names SetRateLimitHeaders writes are canonical, so Get and
// Values find them, and each field holds exactly one value.
func TestRateLimitHeadersCanonical(t *testing.T) {
	h := http.Header{}
	apikey.SetRateLimitHeaders(h, []apikey.LimitStatus{
		{Limit: apikey.RateLimit{Name: "requests", Limit: 100, Period: time.Minute}, Remaining: 97, Reset: 1500 * time.Millisecond},
		{Limit: apikey.RateLimit{Name: "writes", Limit: 10, Period: time.Second}, Remaining: -1, Reset: 0},
	})
	assert.Equal(t, []string{`"requests";q=100;w=60, "writes";q=10;w=1`}, h.Values("RateLimit-Policy"))
	assert.Equal(t, []string{`"requests";r=97;t=2, "writes";r=0;t=0`}, h.Values("RateLimit"))
	assert.Len(t, h, 2)
	h.Add("RateLimit", "other")
	assert.Equal(t, []string{`"requests";q=100;w=60, "writes";q=10;w=1`}, h.Values("RateLimit-Policy"), "an Add to one field leaves the other alone")
}
