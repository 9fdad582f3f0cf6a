package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// usageTotal is the part of a usage report the check reads.
type usageTotal struct {
	Total struct {
		Verified     int64 `json:"verified"`
		MissingScope int64 `json:"missing_scope"`
	} `json:"total"`
}

// TestUsageOnTheServer: 7 requests with one key and one refused for a
// missing group; after the flush interval, 'apikey usage --key K --json'
// totals 7 verified and 1 missing scope, and the admin API agrees.
func TestUsageOnTheServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the apikey command")
	}
	bin := filepath.Join(t.TempDir(), "apikey")
	build := exec.Command("go", "build", "-C", filepath.Join("..", "..", "cmd", "apikey"), "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	db := filepath.Join(t.TempDir(), "keys.db")
	s := startServer(t, db, "-last-used-interval", "200ms")
	apikey := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--dsn", db, "--owner", "acme"}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.Output()
		require.NoError(t, err, "apikey %s: %s", strings.Join(args, " "), stderr.String())
		return stdout
	}
	key := strings.TrimSpace(string(apikey("create", "--name", "ci", "--group", "reports:read")))
	var keys []struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(apikey("list", "--json"), &keys))
	var id string
	for _, k := range keys {
		var shown map[string]any
		require.NoError(t, json.Unmarshal(apikey("show", "--json", k.ID), &shown))
		if shown["name"] == "ci" {
			id = k.ID
		}
	}
	require.NotEmpty(t, id)

	for range 7 {
		status, body := s.call(t, "GET", "/api/reports", key)
		require.Equal(t, http.StatusOK, status, body)
	}
	status, _ := s.call(t, "POST", "/api/invoices", key)
	require.Equal(t, http.StatusForbidden, status, "the key holds reports:read only")

	var cli usageTotal
	deadline := time.Now().Add(10 * time.Second)
	for {
		require.NoError(t, json.Unmarshal(apikey("usage", "--key", id, "--json"), &cli))
		if cli.Total.Verified+cli.Total.MissingScope == 8 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // the server's next flush
	}
	assert.Equal(t, int64(7), cli.Total.Verified)
	assert.Equal(t, int64(1), cli.Total.MissingScope, "a request with a missing scope counts as refused")

	status, body := s.call(t, "GET", "/admin/api/keys/"+id+"/usage?step=day", s.adminKey)
	require.Equal(t, http.StatusOK, status, body)
	var api usageTotal
	require.NoError(t, json.Unmarshal([]byte(body), &api))
	assert.Equal(t, cli, api, "the admin API agrees with the command")
}
