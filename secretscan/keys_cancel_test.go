package secretscan_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/apikit/apikey/secretscan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A forged request naming an unknown key identifier, whose client goes away
// during the fetch it causes, must not make the fetch fail: a failed fetch
// uses up MinRefetch, and GitHub's alerts signed with a newly rotated key
// would be refused with 401 for that minute, again and again.
func TestCancelledRequestDoesNotBlockKeyRotation(t *testing.T) {
	ks := newKeyServer(t)
	ks.add(t, "old")
	start := time.Now()
	now := start
	g := &secretscan.GitHubKeys{URL: ks.URL, Now: func() time.Time { return now }}
	_, err := g.PublicKey(context.Background(), "old")
	require.NoError(t, err)

	// GitHub rotates: a new key is published.
	ks.add(t, "new")
	now = start.Add(2 * time.Minute)

	// The attacker: any key identifier, a request that is cancelled (the
	// client disconnected) while the fetch runs.
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = g.PublicKey(cancelled, "forged")
	require.Error(t, err)

	// GitHub's genuine alert, signed with the new key, a second later.
	now = now.Add(time.Second)
	_, err = g.PublicKey(context.Background(), "new")
	assert.NoError(t, err, "the genuine key identifier is refused")
	assert.False(t, errors.Is(err, secretscan.ErrUnknownKeyID), "GitHub's alert would get 401 for a minute")
}

// at a cold start, the same forged, cancelled request makes every
// alert fail with 503 for MinRefetch.
func TestCancelledRequestDoesNotBlockTheFirstFetch(t *testing.T) {
	ks := newKeyServer(t)
	ks.add(t, "k")
	now := time.Now()
	g := &secretscan.GitHubKeys{URL: ks.URL, Now: func() time.Time { return now }}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := g.PublicKey(cancelled, "forged")
	require.Error(t, err)
	now = now.Add(time.Second)
	_, err = g.PublicKey(context.Background(), "k")
	assert.NoError(t, err, "GitHub's alert refused after a forged request")
}

// the same through the Handler over real HTTP: a forged request
// whose client disconnects during the refetch keeps GitHub's real alert,
// signed with a rotated key, from being accepted.
func TestDisconnectedForgeryDoesNotBlockRotation(t *testing.T) {
	ks := newKeyServer(t)
	ks.add(t, "old")
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond) // GitHub's API, a little slow
		ks.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(slow.Close)
	start := time.Now()
	var mu sync.Mutex
	now := start
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	g := &secretscan.GitHubKeys{URL: slow.URL, Now: clock}
	_, err := g.PublicKey(context.Background(), "old")
	require.NoError(t, err)

	m, err := apikey.New(memstore.New(), apikey.WithLastUsedFlushInterval(-1))
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	h, err := secretscan.NewHandler(m, g)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	// GitHub rotates its key.
	newKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ks.mu.Lock()
	ks.keys["new"] = &newKey.PublicKey
	ks.mu.Unlock()
	mu.Lock()
	now = start.Add(2 * time.Minute)
	mu.Unlock()

	post := func(ctx context.Context, keyID string, signer *ecdsa.PrivateKey) (*http.Response, error) {
		body := []byte(`[]`)
		sum := sha256.Sum256(body)
		sig, _ := ecdsa.SignASN1(rand.Reader, signer, sum[:])
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(secretscan.HeaderKeyIdentifier, keyID)
		req.Header.Set(secretscan.HeaderKeySignature, base64.StdEncoding.EncodeToString(sig))
		return http.DefaultClient.Do(req)
	}
	// Attacker: no valid signature needed; disconnects after 50 ms.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = post(ctx, "forged", newKey /* any key */)
	require.Error(t, err)
	time.Sleep(400 * time.Millisecond)

	res, err := post(context.Background(), "new", newKey)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "GitHub's genuine alert after the rotation")
}
