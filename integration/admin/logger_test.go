package admin_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/apikit/apikey"
	"github.com/stretchr/testify/assert"
)

// lockedBuffer is a bytes.Buffer safe for the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLogsToTheManagersLogger checks that a handler without
// admin.WithLogger reports a Store failure to the Manager's logger
// (apikey.WithLogger), not to slog.Default.
func TestLogsToTheManagersLogger(t *testing.T) {
	var logs lockedBuffer
	var fs *failingStore
	e := newEnvWithManager(t, []apikey.Option{apikey.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))},
		func(s apikey.Store) apikey.Store { fs = &failingStore{Store: s}; return fs })
	fs.fail.Store(true)
	r := e.do(req{method: "GET", path: "/admin/api/keys", key: e.root})
	r.problem(t, http.StatusServiceUnavailable, "unavailable")
	assert.Contains(t, logs.String(), "admin: key store unavailable")
}
