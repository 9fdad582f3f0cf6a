package secretscan

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// PublicKeySource gives the public keys that GitHub signs alerts with.
type PublicKeySource interface {
	// PublicKey returns the ECDSA public key with the given identifier, the
	// value of the Github-Public-Key-Identifier header. It returns an error
	// wrapping ErrUnknownKeyID if no such key exists, and any other error
	// if the keys could not be obtained (the handler then answers 503, and
	// GitHub retries). It must be safe for concurrent use.
	PublicKey(ctx context.Context, keyID string) (*ecdsa.PublicKey, error)
}

// ErrUnknownKeyID means that no public key has the identifier a request
// names: the request was not signed by GitHub.
var ErrUnknownKeyID = errors.New("secretscan: unknown public key identifier")

// DefaultKeysURL is where GitHub publishes the public keys of secret
// scanning.
const DefaultKeysURL = "https://api.github.com/meta/public_keys/secret_scanning"

// Defaults of [GitHubKeys].
const (
	DefaultKeysTTL     = time.Hour
	DefaultMinRefetch  = time.Minute
	maxKeysBody        = 1 << 20
	defaultKeysTimeout = 10 * time.Second
)

// GitHubKeys is the default PublicKeySource: it fetches GitHub's public
// keys and keeps them for TTL. A request naming a key it does not hold makes
// it fetch again (GitHub may have added a key). It fetches at most once per
// MinRefetch, failed or not, so that forged requests cannot make it hammer
// GitHub; when a fetch fails, the keys it holds stay in use. It fetches only
// when asked, within the caller's request: it starts no goroutine.
//
// The zero value uses the defaults below. It is safe for concurrent use,
// and must not be copied after first use.
type GitHubKeys struct {
	// URL of the keys document. Default: DefaultKeysURL.
	URL string

	// Client fetches the keys. Default: an *http.Client with a 10-second
	// timeout.
	Client *http.Client

	// TTL is how long fetched keys are used without fetching again.
	// Default: DefaultKeysTTL.
	TTL time.Duration

	// MinRefetch is the least time between two fetches caused by unknown
	// key identifiers. Default: DefaultMinRefetch.
	MinRefetch time.Duration

	// Now is the clock, for tests. Default: time.Now.
	Now func() time.Time

	mu          sync.Mutex
	keys        map[string]*ecdsa.PublicKey
	fetchedAt   time.Time // of the keys held
	attemptedAt time.Time // of the last fetch, failed or not
	lastErr     error     // of the last fetch
}

var _ PublicKeySource = (*GitHubKeys)(nil)

// PublicKey implements PublicKeySource.
func (g *GitHubKeys) PublicKey(ctx context.Context, keyID string) (*ecdsa.PublicKey, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	_, known := g.keys[keyID]
	stale := g.keys == nil || !within(now, g.fetchedAt, orDefault(g.TTL, DefaultKeysTTL))
	if (stale || !known) && !within(now, g.attemptedAt, orDefault(g.MinRefetch, DefaultMinRefetch)) {
		// The fetch outlives the request that caused it: a client that
		// disconnects (anyone can send an unsigned request naming an
		// unknown key) must not cancel it and so keep GitHub's new keys
		// out for MinRefetch. It has a bound of its own.
		fetchCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), defaultKeysTimeout)
		g.attemptedAt = now
		g.lastErr = g.fetch(fetchCtx, now)
		cancel()
	}
	if g.keys == nil {
		return nil, g.lastErr
	}
	// After a failed fetch the keys already held stay in use.
	if k, ok := g.keys[keyID]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownKeyID, truncate(keyID, 80))
}

// within reports whether now is less than d after then (and not before it:
// a clock that went back counts as elapsed).
func within(now, then time.Time, d time.Duration) bool {
	return !then.IsZero() && !now.Before(then) && now.Sub(then) < d
}

// truncate shortens s, a header value, for an error message.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func (g *GitHubKeys) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// keysDocument is the JSON that GitHub publishes at DefaultKeysURL.
type keysDocument struct {
	PublicKeys []struct {
		KeyIdentifier string `json:"key_identifier"`
		Key           string `json:"key"`
		IsCurrent     bool   `json:"is_current"`
	} `json:"public_keys"`
}

// fetch replaces the keys with those GitHub publishes now. On failure the
// keys already held are kept, and used until a fetch succeeds.
func (g *GitHubKeys) fetch(ctx context.Context, now time.Time) error {
	url := g.URL
	if url == "" {
		url = DefaultKeysURL
	}
	client := g.Client
	if client == nil {
		client = &http.Client{Timeout: defaultKeysTimeout}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("secretscan: fetch public keys: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("secretscan: fetch public keys: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("secretscan: fetch public keys: %s answered %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeysBody+1))
	if err != nil {
		return fmt.Errorf("secretscan: fetch public keys: %w", err)
	}
	if len(body) > maxKeysBody {
		return fmt.Errorf("secretscan: fetch public keys: larger than %d bytes", maxKeysBody)
	}
	keys, err := parseKeysDocument(body)
	if err != nil {
		return err
	}
	g.keys, g.fetchedAt = keys, now
	return nil
}

// parseKeysDocument reads the ECDSA keys of a keys document. An entry that
// is not a PEM-encoded ECDSA public key is skipped; a document without any
// usable key is an error.
func parseKeysDocument(body []byte) (map[string]*ecdsa.PublicKey, error) {
	var doc keysDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("secretscan: public keys: %w", err)
	}
	keys := make(map[string]*ecdsa.PublicKey, len(doc.PublicKeys))
	for _, k := range doc.PublicKeys {
		block, _ := pem.Decode([]byte(k.Key))
		if block == nil || k.KeyIdentifier == "" {
			continue
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			continue
		}
		// GitHub signs with ECDSA P-256 and SHA-256: a key on another
		// curve is not GitHub's, whatever the document says.
		if ec, ok := pub.(*ecdsa.PublicKey); ok && ec.Curve == elliptic.P256() {
			keys[k.KeyIdentifier] = ec
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("secretscan: public keys: no ECDSA key in the document")
	}
	return keys, nil
}
