package apikey_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDeprecationHeaders(t *testing.T) {
	clock := newFakeClock()
	m := newManager(t, memstore.New(), apikey.WithClock(clock.Now))
	auth, err := m.Authenticator(apikey.AuthConfig{DeprecationWindow: 7 * 24 * time.Hour, DeprecationLink: "https://example.com/docs/rotate"})
	require.NoError(t, err)
	h := auth.Middleware(mwOK)
	ctx := context.Background()
	get := func(key string) *http.Response {
		rec := mwServe(h, mwRequest("/", "X-API-Key", key))
		return rec.Result()
	}
	absent := func(res *http.Response, what string) {
		t.Helper()
		for _, name := range []string{"Deprecation", "Sunset", "Link"} {
			assert.Empty(t, res.Header.Values(name), "%s: %s", name, what)
		}
	}

	_, permanent := issue(t, m, "permanent", "read")
	expiring, expiringText, err := m.Issue(ctx, apikey.IssueRequest{Name: "expiring", Groups: []string{"read"}, CreatedBy: "t", ExpiresAt: clock.Now().Add(10 * 24 * time.Hour)})
	require.NoError(t, err)
	old, oldText := issue(t, m, "old", "read")

	res := get(permanent)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	absent(res, "a key that never expires")
	res = get(expiringText)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	absent(res, "a key that expires after the window")

	clock.Advance(3 * 24 * time.Hour) // 7 days left: the window begins
	res = get(expiringText)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	windowStart := expiring.ExpiresAt.Add(-7 * 24 * time.Hour)
	assert.Equal(t, "@"+strconv.FormatInt(windowStart.Unix(), 10), res.Header.Get("Deprecation"))
	assert.Equal(t, expiring.ExpiresAt.Format(http.TimeFormat), res.Header.Get("Sunset"))
	assert.Equal(t, `<https://example.com/docs/rotate>; rel="deprecation"`, res.Header.Get("Link"))
	_, err = time.Parse(http.TimeFormat, res.Header.Get("Sunset"))
	assert.NoError(t, err, "Sunset is an HTTP-date")

	rolledAt := clock.Now()
	_, succText, err := m.Roll(ctx, old.ID, apikey.RollRequest{Grace: 30 * 24 * time.Hour, CreatedBy: "ops"})
	require.NoError(t, err)
	res = get(oldText)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "@"+strconv.FormatInt(rolledAt.Unix(), 10), res.Header.Get("Deprecation"), "a key in grace, even with no expiry and a grace longer than the window")
	assert.Equal(t, rolledAt.Add(30*24*time.Hour).Format(http.TimeFormat), res.Header.Get("Sunset"))
	absent(get(succText), "the successor")

	clock.Advance(30 * 24 * time.Hour)
	res = get(oldText)
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "past its grace")
	absent(res, "a refused request")
	expired := get(expiringText)
	assert.Equal(t, http.StatusUnauthorized, expired.StatusCode)
	assert.Equal(t, mwBody(t, expired), mwBody(t, get(oldText)), "past its grace, the response is that of an expired key")
	assert.Equal(t, expired.Header, get(oldText).Header)
}

func TestDeprecationHeadersWithoutAWindow(t *testing.T) {
	clock := newFakeClock()
	m := newManager(t, memstore.New(), apikey.WithClock(clock.Now))
	auth, err := m.Authenticator(apikey.AuthConfig{})
	require.NoError(t, err)
	_, text, err := m.Issue(context.Background(), apikey.IssueRequest{Name: "soon", Groups: []string{"read"}, CreatedBy: "t", ExpiresAt: clock.Now().Add(time.Minute)})
	require.NoError(t, err)
	res := mwServe(auth.Middleware(mwOK), mwRequest("/", "X-API-Key", text)).Result()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Empty(t, res.Header.Get("Deprecation"), "no window: no headers for an expiring key")

	for _, bad := range []apikey.AuthConfig{
		{DeprecationWindow: -time.Second},
		{DeprecationLink: "/docs"},
		{DeprecationLink: "ftp://example.com/x"},
		{DeprecationLink: "https://example.com/a>b"},
		{DeprecationLink: "https://example.com/a b"},
	} {
		_, err := m.Authenticator(bad)
		assert.Error(t, err, "%+v", bad)
	}
}

func mwBody(t *testing.T, res *http.Response) string {
	t.Helper()
	b := make([]byte, 4096)
	n, _ := res.Body.Read(b)
	return string(b[:n])
}
