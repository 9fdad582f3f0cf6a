package apikey_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mwOK answers 200 with the name of the key in the context.
var mwOK = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	k, ok := apikey.FromContext(r.Context())
	if !ok {
		http.Error(w, "no key in context", http.StatusTeapot)
		return
	}
	fmt.Fprint(w, "hello "+k.Name)
})

func mwServe(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// mwRequest returns GET target with the given header fields, set directly
// so that values no client could send (CR, LF, NUL) reach the middleware.
func mwRequest(target string, fields ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(fields); i += 2 {
		name := http.CanonicalHeaderKey(fields[i])
		r.Header[name] = append(r.Header[name], fields[i+1])
	}
	return r
}

// mwFailures records what a failure hook sees.
type mwFailures struct {
	mu  sync.Mutex
	got []*apikey.AuthError
}

func (f *mwFailures) hook(_ *http.Request, err *apikey.AuthError) {
	f.mu.Lock()
	f.got = append(f.got, err)
	f.mu.Unlock()
}

func (f *mwFailures) take() []*apikey.AuthError {
	f.mu.Lock()
	defer f.mu.Unlock()
	got := f.got
	f.got = nil
	return got
}

// mwFixture is a Manager with keys in every state.
type mwFixture struct {
	clock    *fakeClock
	store    *countingStore
	m        *apikey.Manager
	key      *apikey.Key
	good     string // active, groups reports:read and reports:write
	inactive string
	expired  string
	unknown  string // well formed, another store's key
	wrong    string // the good key's lookup ID with another secret
	badSum   string // the good key with a wrong checksum
	secrets  []string
}

func newMWFixture(t *testing.T, opts ...apikey.Option) *mwFixture {
	t.Helper()
	f := &mwFixture{clock: newFakeClock(), store: newCountingStore()}
	f.m = newManager(t, f.store, append([]apikey.Option{apikey.WithClock(f.clock.Now)}, opts...)...)
	ctx := context.Background()
	f.key, f.good = issue(t, f.m, "good", "reports:read", "reports:write")
	k, inactive := issue(t, f.m, "inactive", "reports:read")
	require.NoError(t, f.m.Deactivate(ctx, k.ID))
	f.inactive = inactive
	_, expired, err := f.m.Issue(ctx, apikey.IssueRequest{Name: "expired", Groups: []string{"reports:read"}, CreatedBy: "tester", ExpiresAt: f.clock.Now().Add(time.Hour)})
	require.NoError(t, err)
	f.expired = expired
	f.clock.Advance(2 * time.Hour)
	_, f.unknown = issue(t, newManager(t, memstore.New()), "elsewhere", "reports:read")

	secretAt := len("ak_") + 12
	c := byte('A')
	if f.good[secretAt] == c {
		c = 'B'
	}
	f.wrong = withChecksum(f.good[:secretAt] + string(c) + f.good[secretAt+1:len(f.good)-6])
	last := f.good[len(f.good)-1]
	f.badSum = f.good[:len(f.good)-1] + map[bool]string{true: "x", false: "y"}[last != 'x']
	f.secrets = []string{f.good, f.inactive, f.expired, f.unknown, f.wrong, f.good[secretAt : len(f.good)-6]}
	return f
}

// assertNoSecrets checks that s shows none of the fixture's keys or secrets.
func (f *mwFixture) assertNoSecrets(t *testing.T, s string) {
	t.Helper()
	for _, secret := range f.secrets {
		assert.NotContains(t, s, secret)
	}
	assert.NotContains(t, s, f.key.Hash)
}

// mwProblem is an RFC 9457 problem document as the middleware writes it.
type mwProblem struct {
	Type           string   `json:"type"`
	Title          string   `json:"title"`
	Status         int      `json:"status"`
	Detail         string   `json:"detail"`
	RequiredGroups []string `json:"required_groups"`
}

// assertProblem checks the form of a refusal and returns its document.
func mwAssertProblem(t *testing.T, rec *httptest.ResponseRecorder, status int) mwProblem {
	t.Helper()
	assert.Equal(t, status, rec.Code)
	assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	assert.Equal(t, fmt.Sprint(rec.Body.Len()), rec.Header().Get("Content-Length"))
	var doc mwProblem
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&doc), "body: %s", rec.Body)
	assert.Equal(t, "about:blank", doc.Type)
	assert.Equal(t, http.StatusText(status), doc.Title)
	assert.Equal(t, status, doc.Status)
	assert.NotEmpty(t, doc.Detail)
	return doc
}

// Kinds of refusal, as mwKindOf names them: the status and the RFC 6750
// error code.
const (
	mwMissingKey        = "401"
	mwInvalidRequest    = "400 invalid_request"
	mwInvalidToken      = "401 invalid_token"
	mwInsufficientScope = "403 insufficient_scope"
	mwUnavailable       = "503"
	mwInternal          = "500"
)

// mwKindOf names the kind of a refusal: its status and RFC 6750 code.
func mwKindOf(e *apikey.AuthError) string {
	if c := e.Code(); c != "" {
		return fmt.Sprint(e.Status, " ", c)
	}
	return fmt.Sprint(e.Status)
}

// mwAuth returns the Authenticator of m for cfg.
func mwAuth(t testing.TB, m *apikey.Manager, cfg apikey.AuthConfig) *apikey.Authenticator {
	t.Helper()
	a, err := m.Authenticator(cfg)
	require.NoError(t, err)
	return a
}

const (
	mwChallengeNoKey   = `Bearer realm="api"`
	mwChallengeRequest = `Bearer realm="api", error="invalid_request"`
	mwChallengeToken   = `Bearer realm="api", error="invalid_token"`
)

// TestMiddlewareRequests is the catalogue of requests, honest and hostile,
// and the answer to each.
func TestMiddlewareRequests(t *testing.T) {
	f := newMWFixture(t)
	var failures mwFailures
	h := mwAuth(t, f.m, apikey.AuthConfig{OnFailure: failures.hook}).Middleware(mwOK)
	good := f.good
	preview, hash, lookupID := f.key.Preview, f.key.Hash, f.key.LookupID
	cases := []struct {
		name      string
		req       *http.Request
		status    int
		challenge string
		kind      string
		cause     error
		store     bool // whether the Store may be asked
	}{
		{"Bearer", mwRequest("/", "Authorization", "Bearer "+good), 200, "", "", nil, true},
		{"bearer in lower case", mwRequest("/", "Authorization", "bearer "+good), 200, "", "", nil, true},
		{"BEARER in upper case", mwRequest("/", "Authorization", "BEARER "+good), 200, "", "", nil, true},
		{"two spaces (RFC 6750: 1*SP)", mwRequest("/", "Authorization", "Bearer  "+good), 200, "", "", nil, true},
		{"X-API-Key", mwRequest("/", "X-API-Key", good), 200, "", "", nil, true},
		{"x-api-key in lower case", mwRequest("/", "x-api-key", good), 200, "", "", nil, true},
		{"Basic scheme and X-API-Key", mwRequest("/", "Authorization", "Basic dXNlcjpwYXNz", "X-API-Key", good), 200, "", "", nil, true},

		{"no key", mwRequest("/"), 401, mwChallengeNoKey, mwMissingKey, apikey.ErrMissingKey, false},
		{"key only in ?api_key=", mwRequest("/?api_key=" + good), 401, mwChallengeNoKey, mwMissingKey, apikey.ErrMissingKey, false},
		{"key only in ?access_token=", mwRequest("/?access_token=" + good), 401, mwChallengeNoKey, mwMissingKey, apikey.ErrMissingKey, false},
		{"Basic scheme", mwRequest("/", "Authorization", "Basic dXNlcjpwYXNz"), 401, mwChallengeNoKey, mwMissingKey, apikey.ErrMissingKey, false},
		{"another scheme that starts with Bearer", mwRequest("/", "Authorization", "Bearerx "+good), 401, mwChallengeNoKey, mwMissingKey, apikey.ErrMissingKey, false},
		{"key in another header", mwRequest("/", "X-Auth-Token", good), 401, mwChallengeNoKey, mwMissingKey, apikey.ErrMissingKey, false},

		{"empty Bearer", mwRequest("/", "Authorization", "Bearer"), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMalformedCredentials, false},
		{"Bearer and a space", mwRequest("/", "Authorization", "Bearer "), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMalformedCredentials, false},
		{"tab after Bearer", mwRequest("/", "Authorization", "Bearer\t"+good), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMalformedCredentials, false},
		{"comma after Bearer", mwRequest("/", "Authorization", "Bearer,"+good), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMalformedCredentials, false},
		{"two tokens", mwRequest("/", "Authorization", "Bearer "+good+" "+good), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMalformedCredentials, false},
		{"trailing space", mwRequest("/", "Authorization", "Bearer "+good+" "), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMalformedCredentials, false},
		{"tab inside the token", mwRequest("/", "Authorization", "Bearer "+good[:10]+"\t"+good[10:]), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMalformedCredentials, false},
		{"CR LF in the value", mwRequest("/", "Authorization", "Bearer "+good+"\r\nX-Admin: 1"), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMalformedCredentials, false},
		{"LF in X-API-Key", mwRequest("/", "X-API-Key", good+"\n"), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMalformedCredentials, false},
		{"NUL in the value", mwRequest("/", "Authorization", "Bearer "+good[:20]+"\x00"+good[20:]), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMalformedCredentials, false},
		{"NUL in X-API-Key", mwRequest("/", "X-API-Key", good+"\x00"), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMalformedCredentials, false},
		{"empty X-API-Key", mwRequest("/", "X-API-Key", ""), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMalformedCredentials, false},
		{"invalid UTF-8", mwRequest("/", "X-API-Key", "\xff"+good), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMalformedCredentials, false},
		{"preview as key", mwRequest("/", "Authorization", "Bearer "+preview), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMalformedCredentials, false},
		{"preview in X-API-Key", mwRequest("/", "X-API-Key", preview), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMalformedCredentials, false},
		{"stored hash as key", mwRequest("/", "Authorization", "Bearer "+hash), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMalformedCredentials, false},
		{"stored hash in X-API-Key", mwRequest("/", "X-API-Key", hash), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMalformedCredentials, false},
		{"two Authorization headers", mwRequest("/", "Authorization", "Bearer "+good, "Authorization", "Bearer "+good), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMultipleKeys, false},
		{"Basic and Bearer Authorization headers", mwRequest("/", "Authorization", "Basic dXNlcjpwYXNz", "Authorization", "Bearer "+good), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMultipleKeys, false},
		{"two X-API-Key headers", mwRequest("/", "X-API-Key", good, "X-API-Key", good), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMultipleKeys, false},
		{"Bearer and X-API-Key, identical", mwRequest("/", "Authorization", "Bearer "+good, "X-API-Key", good), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMultipleKeys, false},
		{"Bearer and X-API-Key, different", mwRequest("/", "Authorization", "Bearer "+good, "X-API-Key", f.unknown), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMultipleKeys, false},
		{"two keys, one malformed", mwRequest("/", "Authorization", "Bearer", "X-API-Key", good), 400, mwChallengeRequest, mwInvalidRequest, apikey.ErrMultipleKeys, false},

		{"9 KB Bearer", mwRequest("/", "Authorization", "Bearer "+strings.Repeat("A", 9<<10)), 401, mwChallengeToken, mwInvalidToken, apikey.ErrInvalidKey, false},
		{"9 KB X-API-Key", mwRequest("/", "X-API-Key", good+strings.Repeat("A", 9<<10)), 401, mwChallengeToken, mwInvalidToken, apikey.ErrInvalidKey, false},
		{"9 KB of spaces", mwRequest("/", "X-API-Key", strings.Repeat(" ", 9<<10)), 401, mwChallengeToken, mwInvalidToken, apikey.ErrInvalidKey, false},
		{"lookup ID alone", mwRequest("/", "Authorization", "Bearer "+lookupID), 401, mwChallengeToken, mwInvalidToken, apikey.ErrInvalidKey, false},
		{"wrong checksum", mwRequest("/", "Authorization", "Bearer "+f.badSum), 401, mwChallengeToken, mwInvalidToken, apikey.ErrInvalidKey, false},
		{"b64token padding", mwRequest("/", "Authorization", "Bearer "+good+"=="), 401, mwChallengeToken, mwInvalidToken, apikey.ErrInvalidKey, false},
		{"unknown key", mwRequest("/", "Authorization", "Bearer "+f.unknown), 401, mwChallengeToken, mwInvalidToken, apikey.ErrInvalidKey, true},
		{"wrong secret", mwRequest("/", "Authorization", "Bearer "+f.wrong), 401, mwChallengeToken, mwInvalidToken, apikey.ErrInvalidKey, true},
		{"inactive key", mwRequest("/", "X-API-Key", f.inactive), 401, mwChallengeToken, mwInvalidToken, apikey.ErrInactive, true},
		{"expired key", mwRequest("/", "Authorization", "Bearer "+f.expired), 401, mwChallengeToken, mwInvalidToken, apikey.ErrExpired, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			failures.take()
			calls := f.store.calls.Load()
			rec := mwServe(h, tc.req)
			got := failures.take()
			if tc.status == http.StatusOK {
				assert.Equal(t, http.StatusOK, rec.Code)
				assert.Equal(t, "hello good", rec.Body.String())
				assert.Empty(t, got)
				return
			}
			mwAssertProblem(t, rec, tc.status)
			assert.Equal(t, tc.challenge, rec.Header().Get("WWW-Authenticate"))
			assert.Empty(t, rec.Header().Get("Retry-After"))
			f.assertNoSecrets(t, rec.Body.String())
			assert.NotContains(t, rec.Body.String(), preview)
			if !tc.store {
				assert.Equal(t, calls, f.store.calls.Load(), "the request reached the Store")
			}
			require.Len(t, got, 1, "the hook sees each failure once")
			assert.Equal(t, tc.kind, mwKindOf(got[0]))
			assert.Equal(t, tc.status, got[0].Status)
			assert.ErrorIs(t, got[0], tc.cause)
			if errors.Is(tc.cause, apikey.ErrInactive) || errors.Is(tc.cause, apikey.ErrExpired) {
				require.NotNil(t, got[0].Key, "the hook names the refused genuine key")
				assert.Equal(t, tc.name[:len(tc.name)-4], got[0].Key.Name)
			} else {
				assert.Nil(t, got[0].Key)
			}
			f.assertNoSecrets(t, got[0].Error())
			f.assertNoSecrets(t, fmt.Sprintf("%+v", *got[0]))
		})
	}
}

// TestInvalidTokenResponsesAreIdentical checks that a client cannot tell
// which check refused its key.
func TestInvalidTokenResponsesAreIdentical(t *testing.T) {
	f := newMWFixture(t)
	var failures mwFailures
	h := mwAuth(t, f.m, apikey.AuthConfig{OnFailure: failures.hook}).Middleware(mwOK)
	causes := map[string]struct {
		key     string
		want    error
		message string
	}{
		"unknown":        {f.unknown, apikey.ErrInvalidKey, "unknown key"},
		"wrong secret":   {f.wrong, apikey.ErrInvalidKey, "secret mismatch"},
		"wrong checksum": {f.badSum, apikey.ErrInvalidKey, "checksum mismatch"},
		"inactive":       {f.inactive, apikey.ErrInactive, "inactive"},
		"expired":        {f.expired, apikey.ErrExpired, "expired"},
		"too long":       {strings.Repeat("k", 257), apikey.ErrInvalidKey, "longer than"},
	}
	var first *http.Response
	var firstBody []byte
	for name, c := range causes {
		rec := mwServe(h, mwRequest("/", "Authorization", "Bearer "+c.key))
		resp := rec.Result()
		body := rec.Body.Bytes()
		if first == nil {
			first, firstBody = resp, body
			mwAssertProblem(t, rec, http.StatusUnauthorized)
			assert.Equal(t, mwChallengeToken, resp.Header.Get("WWW-Authenticate"))
		}
		assert.Equal(t, first.StatusCode, resp.StatusCode, name)
		assert.Equal(t, first.Header, resp.Header, name)
		assert.Equal(t, firstBody, body, name)

		got := failures.take()
		require.Len(t, got, 1)
		assert.ErrorIs(t, got[0].Err, c.want, "the hook sees the real cause")
		assert.Contains(t, got[0].Error(), c.message, name)
		for other, o := range causes {
			if o.want != c.want {
				assert.NotErrorIs(t, got[0].Err, o.want, "%s reported as %s", name, other)
			}
		}
	}
}

type (
	mwOuterKey struct{}
	mwInnerKey struct{}
)

func TestMiddlewareUnavailable(t *testing.T) {
	t.Run("store failure", func(t *testing.T) {
		f := newMWFixture(t)
		var failures mwFailures
		h := mwAuth(t, f.m, apikey.AuthConfig{OnFailure: failures.hook}).Middleware(mwOK)
		f.store.failing.Store(true)
		for _, key := range []string{f.good, f.unknown, f.inactive} {
			rec := mwServe(h, mwRequest("/", "Authorization", "Bearer "+key))
			mwAssertProblem(t, rec, http.StatusServiceUnavailable)
			assert.Equal(t, "5", rec.Header().Get("Retry-After"))
			assert.Empty(t, rec.Header().Get("WWW-Authenticate"), "not an authentication failure")
			assert.NotContains(t, rec.Body.String(), "connection refused")
			got := failures.take()
			require.Len(t, got, 1)
			assert.Equal(t, mwUnavailable, mwKindOf(got[0]))
			assert.ErrorIs(t, got[0], apikey.ErrStoreFailure)
			assert.ErrorIs(t, got[0], errDown, "the hook sees the Store's own error")
		}
		f.store.failing.Store(false)
		assert.Equal(t, http.StatusOK, mwServe(h, mwRequest("/", "X-API-Key", f.good)).Code)
	})

	t.Run("Retry-After", func(t *testing.T) {
		f := newMWFixture(t, apikey.WithLogger(slog.New(slog.DiscardHandler)))
		f.store.failing.Store(true)
		r := mwRequest("/", "X-API-Key", f.good)
		rec := mwServe(mwAuth(t, f.m, apikey.AuthConfig{RetryAfter: 1500 * time.Millisecond}).Middleware(mwOK), r)
		assert.Equal(t, "2", rec.Header().Get("Retry-After"), "rounded up")
		rec = mwServe(mwAuth(t, f.m, apikey.AuthConfig{}).Middleware(mwOK), r)
		assert.Equal(t, "5", rec.Header().Get("Retry-After"), "zero means the default")
		rec = mwServe(mwAuth(t, f.m, apikey.AuthConfig{RetryAfter: -1}).Middleware(mwOK), r)
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.NotContains(t, rec.Header(), "Retry-After")
	})

	t.Run("timeout", func(t *testing.T) {
		store := &mwBlockingStore{Store: memstore.New()}
		m := newManager(t, store)
		_, plaintext := issue(t, m, "n", "reports:read")
		store.block.Store(true)
		var failures mwFailures
		h := mwAuth(t, m, apikey.AuthConfig{VerifyTimeout: 20 * time.Millisecond, OnFailure: failures.hook}).Middleware(mwOK)
		rec := mwServe(h, mwRequest("/", "X-API-Key", plaintext))
		mwAssertProblem(t, rec, http.StatusServiceUnavailable)
		got := failures.take()
		require.Len(t, got, 1)
		assert.ErrorIs(t, got[0], context.DeadlineExceeded)
		assert.ErrorIs(t, got[0], apikey.ErrStoreFailure)
		store.block.Store(false)
		assert.Equal(t, http.StatusOK, mwServe(h, mwRequest("/", "X-API-Key", plaintext)).Code,
			"the timeout bounds verification, not the handler's context")
	})

	t.Run("closed Manager", func(t *testing.T) {
		f := newMWFixture(t)
		var failures mwFailures
		h := mwAuth(t, f.m, apikey.AuthConfig{OnFailure: failures.hook}).Middleware(mwOK)
		require.NoError(t, f.m.Close())
		rec := mwServe(h, mwRequest("/", "X-API-Key", f.good))
		mwAssertProblem(t, rec, http.StatusServiceUnavailable)
		got := failures.take()
		require.Len(t, got, 1)
		assert.ErrorIs(t, got[0], apikey.ErrClosed)
	})

	t.Run("unsupported hash", func(t *testing.T) {
		store := memstore.New()
		hasher, err := apikey.NewHMACHasher("v1", []byte(strings.Repeat("p", 32)))
		require.NoError(t, err)
		_, plaintext := issue(t, newManager(t, store, apikey.WithHasher(hasher)), "n", "reports:read")
		var failures mwFailures
		h := mwAuth(t, newManager(t, store), apikey.AuthConfig{OnFailure: failures.hook}).Middleware(mwOK)
		rec := mwServe(h, mwRequest("/", "X-API-Key", plaintext))
		mwAssertProblem(t, rec, http.StatusServiceUnavailable)
		got := failures.take()
		require.Len(t, got, 1)
		assert.ErrorIs(t, got[0], apikey.ErrUnsupportedHash)
	})

	t.Run("store error that wraps a refusal", func(t *testing.T) {
		// A Store's error that happens to wrap ErrInactive is still a store
		// failure: nothing is known about the key, so it is 503, never 401.
		store := &mwErrStore{Store: memstore.New()}
		m := newManager(t, store)
		_, plaintext := issue(t, m, "n", "reports:read")
		store.err = fmt.Errorf("replica lag: %w", apikey.ErrInactive)
		var failures mwFailures
		rec := mwServe(mwAuth(t, m, apikey.AuthConfig{OnFailure: failures.hook}).Middleware(mwOK), mwRequest("/", "X-API-Key", plaintext))
		mwAssertProblem(t, rec, http.StatusServiceUnavailable)
		got := failures.take()
		require.Len(t, got, 1)
		assert.ErrorIs(t, got[0], apikey.ErrStoreFailure)
		assert.Equal(t, mwUnavailable, mwKindOf(got[0]))
	})

	t.Run("any other error", func(t *testing.T) {
		store := memstore.New()
		_, plaintext := issue(t, newManager(t, store), "n", "reports:read")
		var failures mwFailures
		m := newManager(t, store, apikey.WithHasher(mwFailingHasher{}))
		h := mwAuth(t, m, apikey.AuthConfig{OnFailure: failures.hook}).Middleware(mwOK)
		rec := mwServe(h, mwRequest("/", "X-API-Key", plaintext))
		mwAssertProblem(t, rec, http.StatusServiceUnavailable)
		assert.Empty(t, rec.Header().Get("WWW-Authenticate"), "an unknown error is not a refusal of the key")
		got := failures.take()
		require.Len(t, got, 1)
		assert.ErrorIs(t, got[0], errHSMDown)
		assert.Equal(t, mwUnavailable, mwKindOf(got[0]))
	})

	t.Run("logged without a hook", func(t *testing.T) {
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, nil))
		f := newMWFixture(t, apikey.WithLogger(logger))
		h := mwAuth(t, f.m, apikey.AuthConfig{}).Middleware(mwOK)
		mwServe(h, mwRequest("/", "X-API-Key", f.inactive))
		assert.Empty(t, logs.String(), "a refused key is not an operator's problem")
		f.store.failing.Store(true)
		assert.Equal(t, http.StatusServiceUnavailable, mwServe(h, mwRequest("/", "X-API-Key", f.good)).Code)
		assert.Contains(t, logs.String(), "level=ERROR")
		assert.Contains(t, logs.String(), "connection refused")
		f.assertNoSecrets(t, logs.String())
	})
}

// mwBlockingStore blocks lookups until their context ends while block is set.
type mwBlockingStore struct {
	apikey.Store
	block atomic.Bool
}

func (s *mwBlockingStore) GetByLookupID(ctx context.Context, lookupID string) (*apikey.Key, error) {
	if s.block.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.Store.GetByLookupID(ctx, lookupID)
}

// mwErrStore fails lookups with err once it is set.
type mwErrStore struct {
	apikey.Store
	err error
}

func (s *mwErrStore) GetByLookupID(ctx context.Context, lookupID string) (*apikey.Key, error) {
	if s.err != nil {
		return nil, s.err
	}
	return s.Store.GetByLookupID(ctx, lookupID)
}

var errHSMDown = errors.New("hsm: device not ready")

// mwFailingHasher reads every hash and fails to check any: an error that is
// neither a refusal nor one of the Manager's fail-closed sentinels.
type mwFailingHasher struct{ apikey.SHA256Hasher }

func (mwFailingHasher) Verify(string, string) (bool, error) { return false, errHSMDown }

// mwPanickingStore panics on lookups with the value stored in it.
type mwPanickingStore struct {
	apikey.Store
	value atomic.Pointer[any]
}

func (s *mwPanickingStore) panicWith(v any) { s.value.Store(&v) }

func (s *mwPanickingStore) GetByLookupID(ctx context.Context, lookupID string) (*apikey.Key, error) {
	if v := s.value.Load(); v != nil {
		panic(*v)
	}
	return s.Store.GetByLookupID(ctx, lookupID)
}

// mwLeakyHasher panics with the key it is asked to verify.
type mwLeakyHasher struct{ apikey.SHA256Hasher }

func (mwLeakyHasher) Verify(key, _ string) (bool, error) {
	panic("cannot verify " + key + " (secret " + key[len("ak_")+12:len(key)-6] + ")")
}

func TestMiddlewareRecoversVerificationPanics(t *testing.T) {
	store := &mwPanickingStore{Store: memstore.New()}
	m := newManager(t, store)
	_, plaintext := issue(t, m, "n", "reports:read")
	var failures mwFailures
	h := mwAuth(t, m, apikey.AuthConfig{OnFailure: failures.hook}).Middleware(mwOK)

	store.panicWith("pq: relation \"api_keys\" does not exist")
	rec := mwServe(h, mwRequest("/", "X-API-Key", plaintext))
	doc := mwAssertProblem(t, rec, http.StatusInternalServerError)
	assert.NotContains(t, rec.Body.String(), "api_keys")
	assert.NotContains(t, rec.Body.String(), "goroutine")
	assert.NotContains(t, doc.Detail, "panic")
	assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
	got := failures.take()
	require.Len(t, got, 1)
	assert.Equal(t, mwInternal, mwKindOf(got[0]))
	assert.ErrorIs(t, got[0], apikey.ErrVerifyPanic)
	assert.Contains(t, got[0].Error(), `relation "api_keys" does not exist`, "the hook sees the panic")
	assert.Contains(t, got[0].Error(), "goroutine", "and its stack")
	assert.NotContains(t, got[0].Error(), plaintext)

	// http.ErrAbortHandler is a deliberate abort, not a failure.
	store.panicWith(http.ErrAbortHandler)
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() { mwServe(h, mwRequest("/", "X-API-Key", plaintext)) })

	// A Hasher that panics with the key: the hook does not get it.
	leaky := newManager(t, memstore.New(), apikey.WithHasher(mwLeakyHasher{}))
	_, leakyKey := issue(t, leaky, "n", "reports:read")
	rec = mwServe(mwAuth(t, leaky, apikey.AuthConfig{OnFailure: failures.hook}).Middleware(mwOK), mwRequest("/", "X-API-Key", leakyKey))
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	got = failures.take()
	require.Len(t, got, 1)
	assert.Contains(t, got[0].Error(), "cannot verify [REDACTED] (secret [REDACTED])")
	assert.NotContains(t, got[0].Error(), leakyKey)
	assert.NotContains(t, got[0].Error(), leakyKey[len("ak_")+12:len(leakyKey)-6])

	// The application's own panics are not the middleware's to swallow.
	sane := newManager(t, memstore.New())
	_, saneKey := issue(t, sane, "n", "reports:read")
	app := mwAuth(t, sane, apikey.AuthConfig{}).Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("handler bug") }))
	assert.PanicsWithValue(t, "handler bug", func() { mwServe(app, mwRequest("/", "X-API-Key", saneKey)) })
}

func TestMiddlewareErrorHandler(t *testing.T) {
	f := newMWFixture(t)
	var calls []string
	var handled []*apikey.AuthError
	hook := func(_ *http.Request, err *apikey.AuthError) { calls = append(calls, "hook "+mwKindOf(err)) }
	handler := func(w http.ResponseWriter, r *http.Request, err *apikey.AuthError) {
		calls = append(calls, "handler "+mwKindOf(err))
		handled = append(handled, err)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(err.Status)
		fmt.Fprintf(w, `{"code":%q}`, err.Code())
	}
	auth := mwAuth(t, f.m, apikey.AuthConfig{OnFailure: hook, ErrorHandler: handler})
	h := auth.Middleware(auth.RequireAll("billing:read")(mwOK))

	rec := mwServe(h, mwRequest("/", "X-API-Key", f.inactive))
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Equal(t, `{"code":"invalid_token"}`, rec.Body.String())
	assert.Empty(t, rec.Header().Get("WWW-Authenticate"), "the handler writes the whole response")
	require.Len(t, handled, 1)
	assert.ErrorIs(t, handled[0], apikey.ErrInactive, "the handler gets the real cause")

	rec = mwServe(h, mwRequest("/", "X-API-Key", f.good))
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.Equal(t, `{"code":"insufficient_scope"}`, rec.Body.String())
	require.Len(t, handled, 2)
	assert.Equal(t, f.key.ID, handled[1].Key.ID)
	assert.Equal(t, []string{"billing:read"}, handled[1].Groups)

	f.store.failing.Store(true)
	rec = mwServe(h, mwRequest("/", "X-API-Key", f.good))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Len(t, handled, 3)
	assert.ErrorIs(t, handled[2], errDown)

	assert.Equal(t, []string{
		"hook 401 invalid_token", "handler 401 invalid_token",
		"hook 403 insufficient_scope", "handler 403 insufficient_scope",
		"hook 503", "handler 503",
	}, calls, "the hook sees each failure before the handler answers it")
	for _, e := range handled {
		f.assertNoSecrets(t, e.Error())
	}
}

// TestMiddlewareDeactivateRace verifies through the middleware from eight
// goroutines while another deactivates the key: once Deactivate has
// returned, no request that starts later succeeds.
func TestMiddlewareDeactivateRace(t *testing.T) {
	for _, cached := range []bool{false, true} {
		t.Run(map[bool]string{false: "no cache", true: "cache"}[cached], func(t *testing.T) {
			var opts []apikey.Option
			if cached {
				opts = append(opts, apikey.WithVerifyCache(apikey.VerifyCache{TTL: time.Hour}))
			}
			m := newManager(t, memstore.New(), opts...)
			k, plaintext := issue(t, m, "n", "reports:read")
			auth := mwAuth(t, m, apikey.AuthConfig{})
			h := auth.Middleware(auth.RequireAll("reports:read")(mwOK))
			var deactivated atomic.Bool
			var succeeded atomic.Int64
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for after := 0; after < 50; {
						started := deactivated.Load()
						rec := mwServe(h, mwRequest("/", "Authorization", "Bearer "+plaintext))
						if !started {
							if rec.Code == http.StatusOK {
								succeeded.Add(1)
							}
							continue
						}
						after++
						if !assert.Equal(t, http.StatusUnauthorized, rec.Code, "a request that started after Deactivate returned got through") {
							return
						}
						assert.Equal(t, mwChallengeToken, rec.Header().Get("WWW-Authenticate"))
					}
				})
			}
			require.Eventually(t, func() bool { return succeeded.Load() >= 100 }, 10*time.Second, time.Millisecond)
			require.NoError(t, m.Deactivate(context.Background(), k.ID))
			deactivated.Store(true)
			wg.Wait()
		})
	}
}

// mwUsesStore records the size of every RecordLastUsed batch.
type mwUsesStore struct {
	*countingStore
	mu      sync.Mutex
	batches []int
}

func (s *mwUsesStore) RecordLastUsed(ctx context.Context, uses map[uuid.UUID]time.Time) error {
	s.mu.Lock()
	s.batches = append(s.batches, len(uses))
	s.mu.Unlock()
	return s.countingStore.RecordLastUsed(ctx, uses)
}

func (s *mwUsesStore) batchSizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.batches...)
}

// TestMiddlewareLastUsed sends 10,000 requests on 10 keys through the
// middleware: each flush writes one batch of at most 10 uses, stored times
// never move backwards, and Close writes what is pending.
func TestMiddlewareLastUsed(t *testing.T) {
	clock := newFakeClock()
	store := &mwUsesStore{countingStore: newCountingStore()}
	m := newManager(t, store, apikey.WithClock(clock.Now))
	ctx := context.Background()
	ids := make([]uuid.UUID, 10)
	plaintexts := make([]string, 10)
	for i := range ids {
		var k *apikey.Key
		k, plaintexts[i] = issue(t, m, fmt.Sprintf("key %d", i), "reports:read")
		ids[i] = k.ID
	}
	h := mwAuth(t, m, apikey.AuthConfig{}).Middleware(mwOK)
	stored := make(map[uuid.UUID]time.Time)
	const rounds, perRound, workers = 10, 1000, 4
	for round := range rounds {
		if round == 6 {
			clock.Advance(-3 * time.Second) // the wall clock steps back, for two rounds
		} else {
			clock.Advance(time.Second)
		}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < perRound; i += workers {
					rec := mwServe(h, mwRequest("/", "X-API-Key", plaintexts[i%len(plaintexts)]))
					if rec.Code != http.StatusOK {
						assert.Equal(t, http.StatusOK, rec.Code)
						return
					}
				}
			})
		}
		wg.Wait()
		require.NoError(t, m.Flush(ctx))
		batches := store.batchSizes()
		require.Len(t, batches, round+1, "one store write per flush")
		assert.LessOrEqual(t, batches[round], len(ids))
		for _, id := range ids {
			k, err := m.Get(ctx, id)
			require.NoError(t, err)
			require.NotNil(t, k.LastUsedAt)
			assert.False(t, k.LastUsedAt.Before(stored[id]), "last used moved backwards")
			want := clock.Now()
			if want.Before(stored[id]) {
				want = stored[id] // an earlier clock does not overwrite a later use
			}
			assert.Equal(t, want, *k.LastUsedAt)
			stored[id] = *k.LastUsedAt
		}
	}
	assert.Equal(t, int64(rounds), store.recordLastUsed.Load())

	// Close writes what is pending.
	clock.Advance(time.Hour)
	for _, p := range plaintexts[:3] {
		require.Equal(t, http.StatusOK, mwServe(h, mwRequest("/", "X-API-Key", p)).Code)
	}
	require.NoError(t, m.Close())
	batches := store.batchSizes()
	require.Len(t, batches, rounds+1)
	assert.Equal(t, 3, batches[rounds])
	for i, id := range ids {
		k, err := store.Get(ctx, id)
		require.NoError(t, err)
		if i < 3 {
			assert.Equal(t, clock.Now(), *k.LastUsedAt)
		} else {
			assert.Equal(t, stored[id], *k.LastUsedAt)
		}
	}
}

// TestMiddlewareWithServeMux runs the middleware under http.ServeMux with
// Go 1.22 patterns, around the mux and around single routes.
func TestMiddlewareWithServeMux(t *testing.T) {
	f := newMWFixture(t)
	_, billing := issue(t, f.m, "billing", "billing:read")
	report := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, _ := apikey.FromContext(r.Context())
		fmt.Fprintf(w, "report %s for %s", r.PathValue("id"), k.Name)
	})

	inner := http.NewServeMux()
	auth := mwAuth(t, f.m, apikey.AuthConfig{})
	inner.Handle("GET /reports/{id}", auth.RequireAll("reports:read")(report))
	inner.Handle("GET /me", mwOK)
	around := auth.Middleware(inner)

	perRoute := http.NewServeMux()
	perRoute.Handle("GET /reports/{id}", auth.Middleware(auth.RequireAll("reports:read")(report)))
	perRoute.Handle("GET /me", auth.Middleware(mwOK))
	perRoute.Handle("GET /health", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))

	for name, h := range map[string]http.Handler{"around the mux": around, "per route": perRoute} {
		t.Run(name, func(t *testing.T) {
			rec := mwServe(h, mwRequest("/reports/42", "Authorization", "Bearer "+f.good))
			assert.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, "report 42 for good", rec.Body.String())
			assert.Equal(t, http.StatusForbidden, mwServe(h, mwRequest("/reports/42", "Authorization", "Bearer "+billing)).Code)
			assert.Equal(t, http.StatusUnauthorized, mwServe(h, mwRequest("/reports/42")).Code)
			assert.Equal(t, "hello billing", mwServe(h, mwRequest("/me", "X-API-Key", billing)).Body.String())
		})
	}
	assert.Equal(t, "ok", mwServe(perRoute, mwRequest("/health")).Body.String(), "routes without the middleware stay public")
}

// TestMiddlewareOverAConnection runs a real server and client, so that the
// headers go through net/http's parser.
func TestMiddlewareOverAConnection(t *testing.T) {
	f := newMWFixture(t)
	auth := mwAuth(t, f.m, apikey.AuthConfig{})
	srv := httptest.NewServer(auth.Middleware(auth.RequireAll("reports:read")(mwOK)))
	defer srv.Close()
	get := func(header ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/?api_key="+f.good, nil)
		require.NoError(t, err)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Add(header[i], header[i+1])
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	assert.Equal(t, http.StatusOK, get("Authorization", "Bearer "+f.good).StatusCode)
	assert.Equal(t, http.StatusOK, get("x-api-key", f.good).StatusCode)
	resp := get()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the query string is never read")
	assert.Equal(t, mwChallengeNoKey, resp.Header.Get("WWW-Authenticate"))
	assert.Equal(t, http.StatusBadRequest, get("X-API-Key", f.good, "X-API-Key", f.good).StatusCode)
	assert.Equal(t, http.StatusUnauthorized, get("Authorization", "Bearer "+f.inactive).StatusCode)
}
