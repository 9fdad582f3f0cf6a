package secretscan_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apikit/apikey/secretscan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keyServer serves a keys document like GitHub's, and counts fetches.
type keyServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    map[string]*ecdsa.PublicKey
	status  int
	fetches atomic.Int64
}

func newKeyServer(t *testing.T) *keyServer {
	s := &keyServer{keys: map[string]*ecdsa.PublicKey{}, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.status != http.StatusOK {
			w.WriteHeader(s.status)
			return
		}
		type entry struct {
			KeyIdentifier string `json:"key_identifier"`
			Key           string `json:"key"`
			IsCurrent     bool   `json:"is_current"`
		}
		doc := struct {
			PublicKeys []entry `json:"public_keys"`
		}{}
		doc.PublicKeys = append(doc.PublicKeys, entry{KeyIdentifier: "rsa", Key: "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n"})
		for id, k := range s.keys {
			der, err := x509.MarshalPKIXPublicKey(k)
			require.NoError(t, err)
			doc.PublicKeys = append(doc.PublicKeys, entry{id, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), true})
		}
		json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *keyServer) add(t *testing.T, id string) *ecdsa.PublicKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	s.mu.Lock()
	s.keys[id] = &k.PublicKey
	s.mu.Unlock()
	return &k.PublicKey
}

func (s *keyServer) setStatus(code int) {
	s.mu.Lock()
	s.status = code
	s.mu.Unlock()
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func TestGitHubKeys(t *testing.T) {
	ctx := context.Background()
	srv := newKeyServer(t)
	k1 := srv.add(t, "k1")
	clk := &clock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	g := &secretscan.GitHubKeys{URL: srv.URL, Client: srv.Client(), TTL: time.Hour, MinRefetch: time.Minute, Now: clk.Now}

	got, err := g.PublicKey(ctx, "k1")
	require.NoError(t, err)
	assert.True(t, k1.Equal(got))
	_, err = g.PublicKey(ctx, "k1")
	require.NoError(t, err)
	assert.Equal(t, int64(1), srv.fetches.Load(), "cached")

	// An unknown identifier fetches again, at most once per MinRefetch.
	_, err = g.PublicKey(ctx, "nope")
	assert.ErrorIs(t, err, secretscan.ErrUnknownKeyID)
	assert.Equal(t, int64(1), srv.fetches.Load(), "fetched less than MinRefetch ago")
	clk.add(2 * time.Minute)
	k2 := srv.add(t, "k2")
	got, err = g.PublicKey(ctx, "k2")
	require.NoError(t, err, "a key GitHub added is fetched")
	assert.True(t, k2.Equal(got))
	assert.Equal(t, int64(2), srv.fetches.Load())
	for range 10 {
		_, err = g.PublicKey(ctx, "nope")
		assert.ErrorIs(t, err, secretscan.ErrUnknownKeyID)
	}
	assert.Equal(t, int64(2), srv.fetches.Load(), "forged identifiers do not hammer GitHub")

	// After the TTL, a fetch; if it fails, the keys held stay in use.
	clk.add(time.Hour)
	srv.setStatus(http.StatusInternalServerError)
	got, err = g.PublicKey(ctx, "k1")
	require.NoError(t, err)
	assert.True(t, k1.Equal(got))
	assert.Equal(t, int64(3), srv.fetches.Load())
	srv.setStatus(http.StatusOK)
	clk.add(2 * time.Minute)
	_, err = g.PublicKey(ctx, "k1")
	require.NoError(t, err)
	assert.Equal(t, int64(4), srv.fetches.Load(), "stale keys are fetched again")
}

func TestGitHubKeysUnavailable(t *testing.T) {
	srv := newKeyServer(t)
	srv.add(t, "k1")
	srv.setStatus(http.StatusServiceUnavailable)
	g := &secretscan.GitHubKeys{URL: srv.URL, Client: srv.Client()}
	_, err := g.PublicKey(context.Background(), "k1")
	require.Error(t, err)
	assert.NotErrorIs(t, err, secretscan.ErrUnknownKeyID, "the handler answers 503, not 401")

	empty := newKeyServer(t) // only an unusable entry
	g = &secretscan.GitHubKeys{URL: empty.URL, Client: empty.Client()}
	_, err = g.PublicKey(context.Background(), "k1")
	require.Error(t, err)
	assert.NotErrorIs(t, err, secretscan.ErrUnknownKeyID)
}
