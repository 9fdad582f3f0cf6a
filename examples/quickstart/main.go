// Command quickstart serves a small API protected by API keys kept in
// memory. It issues two keys at start-up and prints each once.
//
//	go run ./examples/quickstart            # or -addr 127.0.0.1:9090
//
// Then, with the keys it printed:
//
//	# public: no key needed
//	curl -i http://127.0.0.1:8080/healthz
//
//	# any valid key: 200 with the key's name and groups
//	curl -i -H "Authorization: Bearer $READER_KEY" http://127.0.0.1:8080/whoami
//	curl -i -H "X-API-Key: $BASIC_KEY" http://127.0.0.1:8080/whoami
//
//	# needs the group reports:read: 200 for the reader key, 403 for the other
//	curl -i -H "Authorization: Bearer $READER_KEY" http://127.0.0.1:8080/reports
//	curl -i -H "Authorization: Bearer $BASIC_KEY" http://127.0.0.1:8080/reports
//
//	# no key: 401; a made-up key: 401 invalid_token; two keys: 400
//	curl -i http://127.0.0.1:8080/reports
//	curl -i -H "Authorization: Bearer ak_madeUp" http://127.0.0.1:8080/reports
//	curl -i -H "Authorization: Bearer $READER_KEY" -H "X-API-Key: $READER_KEY" http://127.0.0.1:8080/reports
//
// Stop it with Ctrl-C: it stops accepting requests, finishes those in
// flight and closes the Manager, which writes the last-used times.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*addr, logger); err != nil {
		logger.Error("quickstart failed", "error", err)
		os.Exit(1)
	}
}

func run(addr string, logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	m, err := apikey.New(memstore.New(), apikey.WithLogger(logger), apikey.WithGroups(
		apikey.Group{Name: "reports:read", Description: "read reports"},
		apikey.Group{Name: "profile:read", Description: "read one's own profile"},
	))
	if err != nil {
		return err
	}
	defer func() {
		if err := m.Close(); err != nil {
			logger.Error("closing the key manager", "error", err)
		}
	}()

	for _, req := range []struct {
		env string
		apikey.IssueRequest
	}{
		{"READER_KEY", apikey.IssueRequest{Name: "reports reader", Groups: []string{"reports:read", "profile:read"}, CreatedBy: "quickstart"}},
		{"BASIC_KEY", apikey.IssueRequest{Name: "basic client", Groups: []string{"profile:read"}, CreatedBy: "quickstart"}},
	} {
		k, plaintext, err := m.Issue(ctx, req.IssueRequest)
		if err != nil {
			return err
		}
		// The only time the key is shown: the store keeps its hash.
		fmt.Printf("export %s=%s   # %s, groups %v\n", req.env, plaintext, k.Name, k.Groups)
	}

	auth, err := m.Authenticator(apikey.AuthConfig{OnFailure: func(r *http.Request, err *apikey.AuthError) {
		// Never the key itself: err holds the cause, and the key record
		// when one was verified (its LogValue shows no secret).
		attrs := []any{"method", r.Method, "path", r.URL.Path, "status", err.Status, "code", err.Code(), "error", err.Err}
		if err.Key != nil {
			attrs = append(attrs, "key", err.Key)
		}
		logger.Warn("request refused", attrs...)
	}})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /whoami", auth.Middleware(http.HandlerFunc(whoami)))
	mux.Handle("GET /reports", auth.Middleware(auth.RequireAll("reports:read")(http.HandlerFunc(reports))))

	srv := &http.Server{
		Addr:              addr,
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.ListenAndServe() }()
	logger.Info("listening", "addr", addr)

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func whoami(w http.ResponseWriter, r *http.Request) {
	k, ok := apikey.FromContext(r.Context())
	if !ok { // cannot happen behind the middleware; never assume it
		http.Error(w, "unauthenticated", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"name": k.Name, "groups": k.Groups, "preview": k.Preview})
}

func reports(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode([]map[string]any{
		{"id": 1, "title": "Q3 revenue"},
		{"id": 2, "title": "Q4 forecast"},
	})
}
