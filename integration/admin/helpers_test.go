package admin_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/admin"
	"github.com/apikit/apikey/sqlstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "modernc.org/sqlite"
)

// testGroups are the groups every test Manager registers.
var testGroups = []apikey.Group{
	{Name: "apikeys:admin", Description: "Manage API keys"},
	{Name: "billing:read", Description: "Read invoices"},
	{Name: "billing:write", Description: "Create invoices"},
	{Name: "reports:read", Description: "Read reports"},
}

// env is a Manager over SQLite, its admin handler mounted under /admin/ of a
// test server, and keys to call it with. Every response it receives is
// kept, and checked when the test ends: none carries a hash, and none but
// the one that created it carries a plaintext.
type env struct {
	t      *testing.T
	m      *apikey.Manager
	store  apikey.Store
	server *httptest.Server

	root    string // plaintext of "Root admin": every group
	limited string // plaintext of "Limited admin": apikeys:admin, reports:read
	reader  string // plaintext of "Reader": reports:read, no admin group

	mu         sync.Mutex
	hashes     map[string]bool // every hash a key has had
	plaintexts map[string]bool // every plaintext issued
	responses  []recorded
}

type recorded struct {
	what   string // "POST /admin/api/keys"
	body   string
	header string
}

// newStore returns a migrated sqlstore on a new SQLite file.
func newStore(t *testing.T) apikey.Store {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "keys.db") + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	s, err := sqlstore.New(db, sqlstore.SQLite)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	return s
}

// newEnv builds an env whose handler has the given options. wrap, if not
// nil, wraps the store (to make it fail).
func newEnv(t *testing.T, wrap func(apikey.Store) apikey.Store, opts ...admin.Option) *env {
	t.Helper()
	return newEnvWithManager(t, nil, wrap, opts...)
}

// newEnvWithManager is newEnv with more options for the Manager.
func newEnvWithManager(t *testing.T, managerOpts []apikey.Option, wrap func(apikey.Store) apikey.Store, opts ...admin.Option) *env {
	t.Helper()
	var store apikey.Store = newStore(t)
	if wrap != nil {
		store = wrap(store)
	}
	m, err := apikey.New(store, append([]apikey.Option{apikey.WithGroups(testGroups...), apikey.WithLastUsedFlushInterval(-1)}, managerOpts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	h, err := admin.New(m, opts...)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", h))
	e := &env{t: t, m: m, store: store, server: httptest.NewServer(mux),
		hashes: map[string]bool{}, plaintexts: map[string]bool{}}
	t.Cleanup(e.server.Close)
	t.Cleanup(e.checkNoSecrets)
	e.root = e.issue("Root admin", "apikeys:admin", "billing:read", "billing:write", "reports:read")
	e.limited = e.issue("Limited admin", "apikeys:admin", "reports:read")
	e.reader = e.issue("Reader", "reports:read")
	return e
}

// issue issues a key directly, as a trusted bootstrap step would.
func (e *env) issue(name string, groups ...string) string {
	e.t.Helper()
	k, plaintext, err := e.m.Issue(context.Background(), apikey.IssueRequest{Name: name, Groups: groups, CreatedBy: "test"})
	require.NoError(e.t, err)
	e.remember(k.ID, plaintext)
	return plaintext
}

// remember records the plaintext and the stored hash of a key.
func (e *env) remember(id uuid.UUID, plaintext string) {
	e.t.Helper()
	k, err := e.store.Get(context.Background(), id)
	require.NoError(e.t, err)
	require.NotEmpty(e.t, k.Hash)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hashes[k.Hash] = true
	e.plaintexts[plaintext] = true
}

// checkNoSecrets scans every response of the test for hashes and
// plaintexts.
func (e *env) checkNoSecrets() {
	e.mu.Lock()
	defer e.mu.Unlock()
	require.NotEmpty(e.t, e.hashes)
	for _, r := range e.responses {
		var created struct {
			Plaintext string `json:"plaintext"`
		}
		_ = json.Unmarshal([]byte(r.body), &created)
		r.body += r.header
		assert.NotContains(e.t, r.body, "$sha256$", "%s: a hash in the response", r.what)
		for h := range e.hashes {
			assert.NotContains(e.t, r.body, h, "%s: a key's hash in the response", r.what)
			// The hash's digest alone, without its PHC prefix.
			assert.NotContains(e.t, r.body, h[strings.LastIndex(h, "$")+1:], "%s: a key's digest in the response", r.what)
		}
		for p := range e.plaintexts {
			if p == created.Plaintext {
				continue // the one response that creates this key
			}
			assert.NotContains(e.t, r.body, p, "%s: a plaintext key in the response", r.what)
		}
	}
}

// response is a received response, its body read.
type response struct {
	*http.Response
	body []byte
}

// json decodes the body into a map.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal(r.body, &v), "body: %s", r.body)
	return v
}

// problem checks that the response is a problem document with the given
// status and code, and returns its detail.
func (r response) problem(t *testing.T, status int, code string) string {
	t.Helper()
	require.Equal(t, status, r.StatusCode, "body: %s", r.body)
	assert.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
	p := r.json(t)
	assert.Equal(t, code, p["code"], "body: %s", r.body)
	assert.Equal(t, float64(status), p["status"])
	assert.Equal(t, http.StatusText(status), p["title"])
	detail, _ := p["detail"].(string)
	assert.NotEmpty(t, detail)
	return detail
}

// req describes a request to the test server.
type req struct {
	method, path string
	key          string // sent as a Bearer token if not empty
	body         any    // a string is sent as is; anything else as JSON
	contentType  string // default application/json when there is a body; "-" for none
	header       http.Header
}

// do sends a request and keeps its response for checkNoSecrets.
func (e *env) do(r req) response {
	e.t.Helper()
	var body io.Reader
	if r.body != nil {
		switch b := r.body.(type) {
		case string:
			body = strings.NewReader(b)
		case []byte:
			body = bytes.NewReader(b)
		default:
			j, err := json.Marshal(b)
			require.NoError(e.t, err)
			body = bytes.NewReader(j)
		}
	}
	hr, err := http.NewRequest(r.method, e.server.URL+r.path, body)
	require.NoError(e.t, err)
	if r.body != nil {
		switch r.contentType {
		case "":
			hr.Header.Set("Content-Type", "application/json")
		case "-":
		default:
			hr.Header.Set("Content-Type", r.contentType)
		}
	}
	if r.key != "" {
		hr.Header.Set("Authorization", "Bearer "+r.key)
	}
	for name, values := range r.header {
		hr.Header[name] = values
	}
	res, err := e.server.Client().Do(hr)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	e.mu.Lock()
	e.responses = append(e.responses, recorded{what: r.method + " " + r.path, body: string(b), header: fmt.Sprint(res.Header)})
	e.mu.Unlock()
	return response{Response: res, body: b}
}

// create creates a key through the API as the root admin and returns its
// JSON and plaintext.
func (e *env) create(name string, groups ...string) (map[string]any, string) {
	e.t.Helper()
	r := e.do(req{method: "POST", path: "/admin/api/keys", key: e.root, body: map[string]any{"name": name, "groups": groups}})
	require.Equal(e.t, http.StatusCreated, r.StatusCode, "body: %s", r.body)
	v := r.json(e.t)
	k := v["key"].(map[string]any)
	plaintext := v["plaintext"].(string)
	e.remember(uuid.MustParse(k["id"].(string)), plaintext)
	return k, plaintext
}

// count returns the number of stored keys.
func (e *env) count() int {
	e.t.Helper()
	page, err := e.m.List(context.Background(), apikey.ListOptions{Limit: apikey.MaxListLimit})
	require.NoError(e.t, err)
	return len(page.Keys)
}

// keyPath returns the API path of a key.
func keyPath(k map[string]any, suffix string) string {
	return "/admin/api/keys/" + k["id"].(string) + suffix
}
