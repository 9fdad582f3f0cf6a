package secretscan_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/apikit/apikey/secretscan"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLogsToTheManagersLogger checks that a Handler without WithLogger
// reports to the Manager's logger (apikey.WithLogger), not slog.Default.
func TestLogsToTheManagersLogger(t *testing.T) {
	var logs bytes.Buffer
	m, err := apikey.New(memstore.New(), apikey.WithPrefix("acme"), apikey.WithLastUsedFlushInterval(-1),
		apikey.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	h, err := secretscan.NewHandler(m, failingKeys{})
	require.NoError(t, err)
	_, token, err := m.Issue(t.Context(), apikey.IssueRequest{Name: "n", Groups: []string{"read"}, CreatedBy: "t"})
	require.NoError(t, err)
	body := alertBody(token)
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Github-Public-Key-Identifier", keyID)
	req.Header.Set("Github-Public-Key-Signature", "MEUCIQ==")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.NotEmpty(t, logs.String(), "the failure of the public keys went to the Manager's logger")
}
