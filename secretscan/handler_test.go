package secretscan_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/apikit/apikey/secretscan"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// staticKeys is a PublicKeySource with fixed keys, for offline tests.
type staticKeys map[string]*ecdsa.PublicKey

func (s staticKeys) PublicKey(_ context.Context, id string) (*ecdsa.PublicKey, error) {
	if k, ok := s[id]; ok {
		return k, nil
	}
	return nil, secretscan.ErrUnknownKeyID
}

// failingKeys is a PublicKeySource that cannot reach GitHub.
type failingKeys struct{}

func (failingKeys) PublicKey(context.Context, string) (*ecdsa.PublicKey, error) {
	return nil, errors.New("connection refused")
}

// failingStore fails every call when down is set.
type failingStore struct {
	apikey.Store
	mu   sync.Mutex
	down bool
}

func (s *failingStore) GetByLookupID(ctx context.Context, id string) (*apikey.Key, error) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		return nil, errors.New("connection refused")
	}
	return s.Store.GetByLookupID(ctx, id)
}

const keyID = "bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c"

type fixture struct {
	t       *testing.T
	signer  *ecdsa.PrivateKey
	store   *failingStore
	m       *apikey.Manager
	alerts  []secretscan.Alert
	logs    *bytes.Buffer
	handler *secretscan.Handler
}

func newFixture(t *testing.T, opts ...secretscan.Option) *fixture {
	signer, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	f := &fixture{t: t, signer: signer, store: &failingStore{Store: memstore.New()}, logs: &bytes.Buffer{}}
	f.m, err = apikey.New(f.store, apikey.WithPrefix("acme"), apikey.WithLastUsedFlushInterval(-1))
	require.NoError(t, err)
	t.Cleanup(func() { f.m.Close() })
	opts = append([]secretscan.Option{
		secretscan.WithHook(func(_ context.Context, a secretscan.Alert) { f.alerts = append(f.alerts, a) }),
		secretscan.WithLogger(slog.New(slog.NewTextHandler(f.logs, nil))),
	}, opts...)
	f.handler, err = secretscan.NewHandler(f.m, staticKeys{keyID: &signer.PublicKey}, opts...)
	require.NoError(t, err)
	return f
}

func (f *fixture) issue() (*apikey.Key, string) {
	k, plaintext, err := f.m.Issue(context.Background(), apikey.IssueRequest{Name: "customer 42", Groups: []string{"read"}, CreatedBy: "t"})
	require.NoError(f.t, err)
	return k, plaintext
}

func (f *fixture) sign(body []byte) string {
	digest := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, f.signer, digest[:])
	require.NoError(f.t, err)
	return base64.StdEncoding.EncodeToString(sig)
}

func alertBody(tokens ...string) []byte {
	var items []map[string]string
	for _, tok := range tokens {
		items = append(items, map[string]string{"token": tok, "type": "acme_api_key", "url": "https://github.com/o/r/blob/abc/.env", "source": "content"})
	}
	b, _ := json.Marshal(items)
	return b
}

type response struct {
	status int
	body   string
}

func (f *fixture) post(body []byte, header map[string]string) response {
	req := httptest.NewRequest(http.MethodPost, "/github/secret-scanning", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return response{rec.Code, rec.Body.String()}
}

func (f *fixture) signed(body []byte) map[string]string {
	return map[string]string{secretscan.HeaderKeyIdentifier: keyID, secretscan.HeaderKeySignature: f.sign(body)}
}

func (f *fixture) active(id uuid.UUID) bool {
	k, err := f.m.Get(context.Background(), id)
	require.NoError(f.t, err)
	return k.Active
}

// assertNoToken checks that nothing the handler produced holds any part of
// the token beyond its preview.
func (f *fixture) assertNoToken(token string, outputs ...string) {
	f.t.Helper()
	secret := token[len(token)-30:]
	for _, out := range append(outputs, f.logs.String(), fmt.Sprintf("%+v %v", f.alerts, f.alerts)) {
		assert.NotContains(f.t, out, secret)
	}
}

func hashOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func TestValidAlertDeactivates(t *testing.T) {
	f := newFixture(t)
	k, token := f.issue()
	other, _ := f.issue()
	body := alertBody(token)
	r := f.post(body, f.signed(body))
	require.Equal(t, http.StatusOK, r.status, r.body)

	var answer []map[string]string
	require.NoError(t, json.Unmarshal([]byte(r.body), &answer))
	assert.Equal(t, []map[string]string{{"token_hash": hashOf(token), "token_type": "acme_api_key", "label": "true_positive"}}, answer)
	assert.False(t, f.active(k.ID), "deactivated")
	assert.True(t, f.active(other.ID), "only the reported key")
	require.Len(t, f.alerts, 1)
	a := f.alerts[0]
	assert.Equal(t, k.ID, a.Key.ID)
	assert.False(t, a.Key.Active)
	assert.True(t, a.Deactivated)
	assert.Equal(t, "https://github.com/o/r/blob/abc/.env", a.URL)
	assert.Equal(t, "content", a.Source)
	assert.Equal(t, "acme_api_key", a.Type)
	_, err := f.m.Verify(context.Background(), token)
	assert.ErrorIs(t, err, apikey.ErrInactive)
	f.assertNoToken(token, r.body)
	assert.Contains(t, f.logs.String(), k.Preview, "the log names the key by its preview")

	// The audit trail names the handler and where the key was found.
	events, err := f.store.Store.(apikey.EventStore).Events(context.Background(), apikey.EventQuery{KeyID: k.ID, Limit: 10})
	require.NoError(t, err)
	require.Len(t, events, 2, "issued, deactivated")
	e := events[1]
	assert.Equal(t, apikey.EventDeactivated, e.Kind)
	assert.Equal(t, "GitHub secret scanning", e.ActorName)
	assert.Equal(t, "found at https://github.com/o/r/blob/abc/.env", e.Reason)

	// GitHub sends it again (a retry, another repository): still a true
	// positive, nothing more to deactivate.
	r = f.post(body, f.signed(body))
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Contains(t, r.body, `"true_positive"`)
	require.Len(t, f.alerts, 2)
	assert.False(t, f.alerts[1].Deactivated)
}

func TestReportOnlyChangesNothing(t *testing.T) {
	f := newFixture(t, secretscan.WithPolicy(secretscan.ReportOnly))
	k, token := f.issue()
	body := alertBody(token)
	r := f.post(body, f.signed(body))
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Contains(t, r.body, `"true_positive"`)
	assert.True(t, f.active(k.ID))
	require.Len(t, f.alerts, 1)
	assert.False(t, f.alerts[0].Deactivated)
}

func TestFalsePositives(t *testing.T) {
	f := newFixture(t)
	k, token := f.issue()
	parts, err := apikey.ParseKey(token)
	require.NoError(t, err)
	// A token with a valid checksum, the real lookup ID and another secret:
	// someone who saw the lookup ID must not be able to revoke the key.
	forged := withChecksum("acme_" + parts.LookupID + strings.Repeat("Z", len(parts.Secret)))
	_, err = apikey.ParseKey(forged)
	require.NoError(t, err)
	unknown := withChecksum("acme_" + strings.Repeat("Q", 12) + parts.Secret)
	tokens := []string{
		token[:len(token)-1] + "!", // checksum fails
		forged,
		unknown,
		"",
		strings.Repeat("x", 10000),
		k.Preview,
	}
	body := alertBody(tokens...)
	r := f.post(body, f.signed(body))
	require.Equal(t, http.StatusOK, r.status, r.body)
	var answer []map[string]string
	require.NoError(t, json.Unmarshal([]byte(r.body), &answer))
	require.Len(t, answer, len(tokens))
	for i, a := range answer {
		assert.Equal(t, "false_positive", a["label"], i)
		assert.Equal(t, hashOf(tokens[i]), a["token_hash"], i)
	}
	assert.True(t, f.active(k.ID), "nothing changed")
	assert.Empty(t, f.alerts, "no hook")
	f.assertNoToken(token, r.body)
	f.assertNoToken(forged, r.body)
}

func TestMixedBatch(t *testing.T) {
	f := newFixture(t)
	k1, t1 := f.issue()
	k2, t2 := f.issue()
	require.NoError(t, f.m.Deactivate(context.Background(), k2.ID))
	body := alertBody(t1, "acme_nope", t2)
	r := f.post(body, f.signed(body))
	require.Equal(t, http.StatusOK, r.status, r.body)
	var answer []map[string]string
	require.NoError(t, json.Unmarshal([]byte(r.body), &answer))
	require.Len(t, answer, 3)
	assert.Equal(t, []string{"true_positive", "false_positive", "true_positive"},
		[]string{answer[0]["label"], answer[1]["label"], answer[2]["label"]})
	assert.False(t, f.active(k1.ID))
	require.Len(t, f.alerts, 2)
	assert.True(t, f.alerts[0].Deactivated)
	assert.False(t, f.alerts[1].Deactivated, "was inactive already")
}

// TestRefusedRequests sends requests that are not valid alerts, each
// carrying a live key, and checks that each is refused with nothing changed.
func TestRefusedRequests(t *testing.T) {
	f := newFixture(t, secretscan.WithMaxBodyBytes(4096))
	k, token := f.issue()
	body := alertBody(token)
	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	strangerSig := func(b []byte) string {
		d := sha256.Sum256(b)
		sig, _ := ecdsa.SignASN1(rand.Reader, stranger, d[:])
		return base64.StdEncoding.EncodeToString(sig)
	}
	big := alertBody(token, strings.Repeat("a", 5000))
	notArray := []byte(`{"token":"` + token + `"}`)

	for _, tc := range []struct {
		name   string
		method string
		body   []byte
		header map[string]string
		status int
	}{
		{"unsigned", "", body, map[string]string{}, 401},
		{"no signature", "", body, map[string]string{secretscan.HeaderKeyIdentifier: keyID}, 401},
		{"no key identifier", "", body, map[string]string{secretscan.HeaderKeySignature: f.sign(body)}, 401},
		{"signed by someone else", "", body, map[string]string{secretscan.HeaderKeyIdentifier: keyID, secretscan.HeaderKeySignature: strangerSig(body)}, 401},
		{"signature of another body", "", body, map[string]string{secretscan.HeaderKeyIdentifier: keyID, secretscan.HeaderKeySignature: f.sign(alertBody(token + "x"))}, 401},
		{"signature not base64", "", body, map[string]string{secretscan.HeaderKeyIdentifier: keyID, secretscan.HeaderKeySignature: "!!!"}, 401},
		{"garbage signature", "", body, map[string]string{secretscan.HeaderKeyIdentifier: keyID, secretscan.HeaderKeySignature: base64.StdEncoding.EncodeToString([]byte("garbage"))}, 401},
		{"unknown key identifier", "", body, map[string]string{secretscan.HeaderKeyIdentifier: "deadbeef", secretscan.HeaderKeySignature: f.sign(body)}, 401},
		{"oversized header", "", body, map[string]string{secretscan.HeaderKeyIdentifier: strings.Repeat("a", 600), secretscan.HeaderKeySignature: f.sign(body)}, 401},
		{"body over the limit", "", big, map[string]string{secretscan.HeaderKeyIdentifier: keyID, secretscan.HeaderKeySignature: f.sign(big)}, 413},
		{"wrong content type", "", body, map[string]string{"Content-Type": "text/plain", secretscan.HeaderKeyIdentifier: keyID, secretscan.HeaderKeySignature: f.sign(body)}, 415},
		{"form content type", "", body, map[string]string{"Content-Type": "application/x-www-form-urlencoded", secretscan.HeaderKeyIdentifier: keyID, secretscan.HeaderKeySignature: f.sign(body)}, 415},
		{"GET", http.MethodGet, body, f.signed(body), 405},
		{"signed, not an array", "", notArray, f.signed(notArray), 400},
		{"signed, not JSON", "", []byte(token), f.signed([]byte(token)), 400},
		{"signed, null", "", []byte("null"), f.signed([]byte("null")), 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(tc.body))
			if tc.method != "" {
				req.Method = tc.method
			}
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			f.handler.ServeHTTP(rec, req)
			assert.Equal(t, tc.status, rec.Code, rec.Body.String())
			assert.True(t, f.active(k.ID), "nothing changed")
			assert.Empty(t, f.alerts, "no hook")
			f.assertNoToken(token, rec.Body.String())
		})
	}
}

func TestUnavailable(t *testing.T) {
	t.Run("public keys", func(t *testing.T) {
		f := newFixture(t)
		h, err := secretscan.NewHandler(f.m, failingKeys{}, secretscan.WithLogger(slog.New(slog.NewTextHandler(f.logs, nil))))
		require.NoError(t, err)
		k, token := f.issue()
		body := alertBody(token)
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range f.signed(body) {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.True(t, f.active(k.ID))
	})
	t.Run("key store", func(t *testing.T) {
		f := newFixture(t)
		k, token := f.issue()
		f.store.mu.Lock()
		f.store.down = true
		f.store.mu.Unlock()
		body := alertBody(token)
		r := f.post(body, f.signed(body))
		assert.Equal(t, http.StatusServiceUnavailable, r.status)
		f.store.mu.Lock()
		f.store.down = false
		f.store.mu.Unlock()
		assert.True(t, f.active(k.ID))
		assert.Empty(t, f.alerts)
		f.assertNoToken(token, r.body)
	})
}

func TestNewHandlerOptions(t *testing.T) {
	m, err := apikey.New(memstore.New())
	require.NoError(t, err)
	defer m.Close()
	for name, opts := range map[string][]secretscan.Option{
		"nil hook":      {secretscan.WithHook(nil)},
		"zero limit":    {secretscan.WithMaxBodyBytes(0)},
		"bad policy":    {secretscan.WithPolicy(7)},
		"nil logger":    {secretscan.WithLogger(nil)},
		"negative size": {secretscan.WithMaxBodyBytes(-1)},
	} {
		_, err := secretscan.NewHandler(m, staticKeys{}, opts...)
		assert.Error(t, err, name)
	}
	_, err = secretscan.NewHandler(nil, staticKeys{})
	assert.Error(t, err)
	_, err = secretscan.NewHandler(m, nil)
	assert.Error(t, err)
	assert.Equal(t, "deactivate", secretscan.Deactivate.String())
	assert.Equal(t, "report-only", secretscan.ReportOnly.String())
}

// TestConcurrentAlerts sends the same alert from many goroutines: the key is
// deactivated, every answer is a true positive, and the race detector sees
// the handler.
func TestConcurrentAlerts(t *testing.T) {
	f := newFixture(t, secretscan.WithHook(func(context.Context, secretscan.Alert) {}))
	k, token := f.issue()
	body := alertBody(token)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range f.signed(body) {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			f.handler.ServeHTTP(rec, req)
			assert.Equal(t, http.StatusOK, rec.Code)
			assert.Contains(t, rec.Body.String(), "true_positive")
		}()
	}
	wg.Wait()
	assert.False(t, f.active(k.ID))
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// withChecksum appends the key format's checksum (CRC-32C, six base62
// digits) to s, to forge well-formed tokens.
func withChecksum(s string) string {
	v := crc32.Checksum([]byte(s), crc32.MakeTable(crc32.Castagnoli))
	var sum [6]byte
	for i := 5; i >= 0; i-- {
		sum[i] = base62[v%62]
		v /= 62
	}
	return s + string(sum[:])
}
