// Command server is a small application with an "API Keys" admin tab: keys
// kept in SQL, the admin page and API of package admin under /admin/, and a
// demo API whose routes need different groups.
//
//	cd examples && go run ./server                 # SQLite file apikeys.db, 127.0.0.1:8080
//	go run ./server -dsn postgres://user:pass@127.0.0.1:5432/app?sslmode=disable
//	APIKEY_DSN=mysql://root@127.0.0.1:3306/app go run ./server
//
// It takes the DSN forms of the apikey command (cmd/apikey) and the same
// key prefix (default ak, or $APIKEY_PREFIX), so a key that the command
// creates on the same database works here.
//
// It serves two organizations, acme and globex (-orgs): once it listens,
// it issues to each organization that has none an administrator key
// holding every group, and prints it once; on a later start it says that
// one exists and how to make another. Open http://127.0.0.1:8080/admin/ and
// sign in with one of them: each organization's administrator sees and
// manages only its own keys. Add keys, then call the demo API with them:
//
//	curl -i -H "Authorization: Bearer $KEY" http://127.0.0.1:8080/api/reports        # reports:read
//	curl -i -H "Authorization: Bearer $KEY" http://127.0.0.1:8080/api/invoices       # billing:read
//	curl -i -X POST -H "Authorization: Bearer $KEY" http://127.0.0.1:8080/api/invoices  # billing:write
//	curl -i -H "Authorization: Bearer $KEY" http://127.0.0.1:8080/api/whoami         # any valid key
//
// Stop it with Ctrl-C: it finishes the requests in flight, then closes the
// Manager, which writes the last-used times still in memory.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/admin"
	"github.com/apikit/apikey/internal/dsn"
	"github.com/apikit/apikey/sqlstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// groups are the permission groups of the application.
var groups = []apikey.Group{
	{Name: admin.DefaultAdminGroup, Description: "Manage API keys in this admin tab"},
	{Name: "reports:read", Description: "Read reports (GET /api/reports)"},
	{Name: "billing:read", Description: "Read invoices (GET /api/invoices)"},
	{Name: "billing:write", Description: "Create invoices (POST /api/invoices)"},
}

// run serves until ctx is done, then shuts down gracefully. It prints the
// address it listens on, and the bootstrap administrator key when it issues
// one, to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("server", flag.ContinueOnError)
	flags.SetOutput(stdout)
	flags.Usage = func() {
		fmt.Fprintf(stdout, "Usage: go run ./server [flags]\n\n"+
			"Serves the API Keys admin tab under /admin/ and a demo API under /api/.\n\nFlags:\n")
		flags.PrintDefaults()
	}
	addr := flags.String("addr", "127.0.0.1:8080", "`address` to listen on (host:port; port 0 picks a free one)")
	// The DSN's default is not the flag's: the flag package would print it
	// as it is, password and all.
	dsnFlag := flags.String("dsn", "",
		"`database`: an SQLite file, sqlite://path, file:…, postgres://…, mysql://… or user:pass@tcp(host:3306)/db\n"+
			dsnDefault())
	prefix := flags.String("prefix", envOr("APIKEY_PREFIX", apikey.DefaultPrefix),
		"`prefix` of the keys it issues and accepts, as the apikey command's --prefix ($APIKEY_PREFIX sets the default)")
	lastUsed := flags.Duration("last-used-interval", 5*time.Second, "how often last-used times are written to the database")
	orgList := flags.String("orgs", "acme,globex",
		"comma-separated `organizations` (owners) to give an administrator key each; each one's admin page shows only its keys")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see -h)", flags.Arg(0))
	}

	orgs := strings.Split(*orgList, ",")
	for _, org := range orgs {
		if err := apikey.ValidateOwner(org); err != nil {
			return fmt.Errorf("-orgs: %q: %w", org, err)
		}
	}

	if *dsnFlag == "" {
		*dsnFlag = envOr("APIKEY_DSN", defaultDSN)
	}
	d, err := dsn.Parse(*dsnFlag)
	if err != nil {
		return err
	}
	db, err := d.Open()
	if err != nil {
		return err
	}
	defer db.Close()
	store, err := sqlstore.New(db, d.Dialect())
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx); err != nil {
		return fmt.Errorf("migrating the %s database at %s: %s", d.DialectName(), d.Where(), d.Scrub(err.Error()))
	}
	m, err := apikey.New(store, apikey.WithPrefix(*prefix), apikey.WithGroups(groups...),
		apikey.WithLastUsedFlushInterval(*lastUsed))
	if err != nil {
		return err
	}
	defer m.Close() // after a failed start; the normal path closes it below
	handler, err := routes(m)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "Admin page: %s/admin/\n", base)
	fmt.Fprintf(stdout, "Demo API:   GET %[1]s/api/reports, GET|POST %[1]s/api/invoices, GET %[1]s/api/whoami\n", base)
	// Only now that the port is ours: a start that fails to bind must not
	// have issued (and printed) a key nobody will use.
	if err := bootstrap(ctx, m, orgs, d.Redacted(), stdout); err != nil {
		ln.Close()
		return err
	}

	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	// Every request is done: write the last-used times still in memory.
	return errors.Join(err, m.Close())
}

// bootstrap makes sure that each organization has an active administrator
// key: for one that has none, it issues a key holding every group, owned by
// the organization, and prints it (the one time anyone sees it); for one
// that has, it prints how to make another with the apikey command. It ends
// with the line "Ready.".
func bootstrap(ctx context.Context, m *apikey.Manager, orgs []string, redactedDSN string, stdout io.Writer) error {
	all := make([]string, len(groups))
	for i, g := range groups {
		all[i] = g.Name
	}
	for _, org := range orgs {
		page, err := m.List(ctx, apikey.ListOptions{Owner: org, Group: admin.DefaultAdminGroup, Status: apikey.StatusActive, Limit: 1})
		if err != nil {
			return err
		}
		if len(page.Keys) > 0 {
			fmt.Fprintf(stdout, "Organization %s: an active administrator key (group %s) exists, so none was issued.\n"+
				"To make another: go run ../cmd/apikey --dsn '%s' --owner %s create --name admin --group %s\n",
				org, admin.DefaultAdminGroup, redactedDSN, org, admin.DefaultAdminGroup)
			continue
		}
		// No actor in the context: a bootstrap step is trusted, and may
		// issue to any owner.
		_, plaintext, err := m.Issue(ctx, apikey.IssueRequest{Name: "Administrator", Groups: all, CreatedBy: "examples/server", Owner: org})
		if err != nil {
			return fmt.Errorf("issuing the administrator key of %s: %w", org, err)
		}
		fmt.Fprintf(stdout, "Organization %s: no administrator key yet, so one was issued with every group.\n"+
			"Store it now, it will not be shown again:\n\n    %s\n\n", org, plaintext)
	}
	fmt.Fprintln(stdout, "Ready.")
	return nil
}

// routes returns the application's handler: the admin tab under /admin/ and
// the demo API under /api/.
func routes(m *apikey.Manager) (http.Handler, error) {
	adminTab, err := admin.New(m)
	if err != nil {
		return nil, err
	}
	auth, err := m.Authenticator(apikey.AuthConfig{})
	if err != nil {
		return nil, err
	}
	need := func(group string, h http.HandlerFunc) http.Handler {
		return auth.Middleware(auth.RequireAll(group)(h))
	}

	mux := http.NewServeMux()
	// The page and its assets load without a key; the admin API checks
	// the key and the admin group itself.
	mux.Handle("/admin/", http.StripPrefix("/admin", adminTab))
	// The demo data of each organization: a key sees its owner's, and no
	// other's, as an application scopes its data by the verified key's
	// owner.
	mux.Handle("GET /api/reports", need("reports:read", func(w http.ResponseWriter, r *http.Request) {
		k, _ := apikey.FromContext(r.Context())
		writeJSON(w, http.StatusOK, map[string]any{"organization": k.Owner, "reports": []map[string]any{
			{"id": "rpt_2026_10", "title": "Revenue of " + k.Owner + ", October 2026"},
			{"id": "rpt_2026_11", "title": "Revenue of " + k.Owner + ", November 2026"},
		}})
	}))
	mux.Handle("GET /api/invoices", need("billing:read", func(w http.ResponseWriter, r *http.Request) {
		k, _ := apikey.FromContext(r.Context())
		writeJSON(w, http.StatusOK, map[string]any{"organization": k.Owner, "invoices": []map[string]any{
			{"id": "inv_1001", "customer": "Customer of " + k.Owner, "amount": 1200, "status": "paid"},
		}})
	}))
	mux.Handle("POST /api/invoices", need("billing:write", func(w http.ResponseWriter, r *http.Request) {
		k, _ := apikey.FromContext(r.Context())
		writeJSON(w, http.StatusCreated, map[string]any{"id": "inv_1002", "status": "draft", "created_by_key": k.Preview})
	}))
	mux.Handle("GET /api/whoami", auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, _ := apikey.FromContext(r.Context())
		writeJSON(w, http.StatusOK, map[string]any{"name": k.Name, "organization": k.Owner, "preview": k.Preview, "groups": k.Groups})
	})))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/", http.StatusFound)
	})
	return mux, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// defaultDSN is the database without -dsn or $APIKEY_DSN.
const defaultDSN = "apikeys.db"

// dsnDefault says what -dsn defaults to, with $APIKEY_DSN redacted: -h
// never prints a password.
func dsnDefault() string {
	v := os.Getenv("APIKEY_DSN")
	if v == "" {
		return "(default $APIKEY_DSN if set, else " + defaultDSN + ")"
	}
	d, err := dsn.Parse(v)
	if err != nil {
		// Parse's errors quote no part of the DSN.
		return "(default $APIKEY_DSN, which is not usable: " + err.Error() + ")"
	}
	return "(default $APIKEY_DSN: " + d.Redacted() + ")"
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
