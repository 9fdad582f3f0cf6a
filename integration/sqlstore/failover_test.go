package sqlstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/internal/dsn"
	"github.com/apikit/apikey/sqlstore"
	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failoverRecovery is how soon after the failover requests must succeed again.
const failoverRecovery = 5 * time.Second

// failoverDSNParamsVar names parameters to add to the DSN the store opens
// through the proxy, which internal/dsn keeps: connect_timeout=0 (PostgreSQL)
// or timeout=0&readTimeout=0&writeTimeout=0 (MySQL) shows the behaviour
// without the timeouts, which the "hung" case then fails (no request
// succeeds after the failover).
const failoverDSNParamsVar = "APIKEY_TEST_FAILOVER_DSN_PARAMS"

// TestFailover serves keys through the Authenticator from a store opened as
// internal/dsn opens it (the CLI's and the example server's setup), through a
// proxy of the test's own, with more clients than the pool has connections;
// then freezes every session the proxy holds, while new connections reach
// the server as before: what a failover behind one address looks like to the
// pool. Every request gets 503 until the pool has let go of the frozen
// sessions, never 401, and requests succeed again within failoverRecovery.
//
// In the "hung" case, the host hangs for longer than the verification
// deadline before the failover: connections opened meanwhile are held
// silent too. The pool opens them in the background, for the requests
// waiting for a connection, with a context that never ends: without a
// connect timeout they would keep every slot of the pool, and no request
// would succeed again.
func TestFailover(t *testing.T) {
	for _, b := range backends {
		if b.dialect == sqlstore.SQLite {
			continue
		}
		t.Run(b.dialect.String(), func(t *testing.T) {
			t.Parallel() // mostly waiting: the two databases at once
			b := b.resolve(t)
			t.Run("failover", func(t *testing.T) { testFailover(t, b, 0) })
			t.Run("hung, then failover", func(t *testing.T) { testFailover(t, b, 4*time.Second) })
		})
	}
}

// outcome is what one request got.
type outcome struct {
	start, end time.Time
	status     int // 0 if the client gave up
	err        error
}

func testFailover(t *testing.T, b backend, hang time.Duration) {
	ctx := context.Background()
	direct := b.open(t) // for the tables, around the proxy
	table := randomTable()
	t.Cleanup(func() { dropTables(t, direct, table) })

	proxied, upstream := proxiedDSN(t, b)
	p := startProxy(t, upstream)
	d, err := dsn.Parse(replaceAddr(t, b, proxied, p.Addr()))
	require.NoError(t, err)
	db, err := d.Open()
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	t.Cleanup(p.Close) // before db.Close: the frozen sessions end at once

	store, err := sqlstore.New(db, d.Dialect(), sqlstore.WithTable(table))
	require.NoError(t, err)
	require.NoError(t, store.Migrate(ctx))
	// The verification cache is off (the default), so that every request reaches the
	// store; the verification deadline is the default.
	m, err := apikey.New(store, apikey.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })

	// One key per client: requests with the same key would share one
	// lookup, and use one connection of the pool. More clients than
	// connections, so that requests wait for one.
	clients := dsn.MaxOpenConns + 8
	keys := make([]string, clients)
	for i := range keys {
		_, keys[i], err = m.Issue(ctx, apikey.IssueRequest{Name: fmt.Sprintf("client %d", i), Groups: []string{"read"}, CreatedBy: "failover test"})
		require.NoError(t, err)
	}
	auth, err := m.Authenticator(apikey.AuthConfig{})
	require.NoError(t, err)
	srv := httptest.NewServer(auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := apikey.FromContext(r.Context()); !ok {
			http.Error(w, "no verified key", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})))
	t.Cleanup(srv.Close)
	client := &http.Client{
		Timeout:   30 * time.Second, // far beyond the verification deadline: a client timeout fails the test
		Transport: &http.Transport{MaxIdleConnsPerHost: clients},
	}

	// Each client sends requests one after another until stopped.
	var mu sync.Mutex
	var outcomes []outcome
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				o := outcome{start: time.Now()}
				req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
				req.Header.Set("Authorization", "Bearer "+keys[i])
				res, err := client.Do(req)
				if err == nil {
					o.status = res.StatusCode
					_ = res.Body.Close()
				}
				o.end, o.err = time.Now(), err
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
				time.Sleep(10 * time.Millisecond) // spare the CPU the other tests share
			}
		}()
	}
	stopClients := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopClients)

	time.Sleep(time.Second) // the pool fills with sessions to freeze
	before := db.Stats()
	freezeAt := time.Now()
	p.Freeze(hang > 0)
	failoverAt := freezeAt
	if hang > 0 {
		time.Sleep(hang)
		p.Failover()
		failoverAt = time.Now()
	}
	// Watch for the first success after the failover, for at most 3 times
	// the bound, then 2 s more to see the pool stay recovered.
	deadline := failoverAt.Add(3 * failoverRecovery)
	var recoveredAt time.Time
	for recoveredAt.IsZero() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		for _, o := range outcomes {
			if o.start.After(freezeAt) && o.status == http.StatusOK && (recoveredAt.IsZero() || o.end.Before(recoveredAt)) {
				recoveredAt = o.end
			}
		}
		mu.Unlock()
	}
	if !recoveredAt.IsZero() {
		time.Sleep(2 * time.Second)
	}
	stopClients()
	after := db.Stats()

	mu.Lock()
	defer mu.Unlock()
	slices.SortFunc(outcomes, func(a, b outcome) int { return a.start.Compare(b.start) })
	var unavailable, okBefore, okAfter, stray503 int
	for _, o := range outcomes {
		switch {
		case o.err != nil:
			t.Errorf("request at +%v: %v", o.start.Sub(freezeAt).Round(time.Millisecond), o.err)
		case o.status != http.StatusOK && o.status != http.StatusServiceUnavailable:
			t.Errorf("request at +%v got %d: only 200 and 503 are right while the database fails over",
				o.start.Sub(freezeAt).Round(time.Millisecond), o.status)
		case o.start.Before(freezeAt) && o.status == http.StatusOK:
			okBefore++ // answered before the freeze, or just in time
		case o.status == http.StatusServiceUnavailable && (recoveredAt.IsZero() || o.start.Before(recoveredAt)):
			unavailable++
		case o.status == http.StatusServiceUnavailable:
			stray503++ // a session frozen in the pool, found after the first success
		default:
			okAfter++
		}
	}
	t.Logf("%s, %d clients, hung %v: %d × 200 from before the freeze (pool: %d open); after it: %d × 503, "+
		"then %d × 200 and %d × 503; pool at the end: %d open, %d in use, %d waits; proxy accepted %d connections, "+
		"of which %d frozen ones the client has closed",
		b.name(), clients, hang, okBefore, before.OpenConnections, unavailable, okAfter, stray503,
		after.OpenConnections, after.InUse, after.WaitCount-before.WaitCount, p.accepted.Load(), p.released.Load())
	require.False(t, recoveredAt.IsZero(), "%s: no request succeeded in the %v after the failover", b.name(), 3*failoverRecovery)
	recovery := recoveredAt.Sub(failoverAt)
	t.Logf("%s recovered %v after the failover (%v after the freeze)", b.name(), recovery.Round(time.Millisecond),
		recoveredAt.Sub(freezeAt).Round(time.Millisecond))
	assert.LessOrEqual(t, recovery, failoverRecovery, "requests succeed again within %v of the failover", failoverRecovery)
	assert.Positive(t, okBefore, "requests succeeded before the freeze")
	assert.Positive(t, unavailable, "the freeze made requests fail (with 503)")
	assert.Greater(t, okAfter, stray503, "after recovery, requests succeed")
}

// proxiedDSN returns the test DSN, with the parameters of
// failoverDSNParamsVar if set, and the address of its server.
func proxiedDSN(t *testing.T, b backend) (dsnText, upstream string) {
	t.Helper()
	params := os.Getenv(failoverDSNParamsVar)
	switch b.dialect {
	case sqlstore.Postgres:
		u, err := url.Parse(b.dsn)
		require.NoError(t, err)
		if params != "" {
			if u.RawQuery != "" {
				u.RawQuery += "&"
			}
			u.RawQuery += params
		}
		require.NotEmpty(t, u.Host, "%s names a host:port", postgresDSNVar)
		return u.String(), u.Host
	default:
		cfg, err := mysql.ParseDSN(b.dsn)
		require.NoError(t, err)
		require.Equal(t, "tcp", cfg.Net, "%s names a TCP address", mysqlDSNVar)
		s := cfg.FormatDSN()
		if params != "" {
			sep := "?"
			if strings.Contains(s, "?") {
				sep = "&"
			}
			s += sep + params
		}
		return s, cfg.Addr
	}
}

// replaceAddr points a DSN at another host:port.
func replaceAddr(t *testing.T, b backend, s, addr string) string {
	t.Helper()
	switch b.dialect {
	case sqlstore.Postgres:
		u, err := url.Parse(s)
		require.NoError(t, err)
		u.Host = addr
		return u.String()
	default:
		cfg, err := mysql.ParseDSN(s)
		require.NoError(t, err)
		old := "tcp(" + cfg.Addr + ")"
		require.Contains(t, s, old)
		// Not FormatDSN, which would drop a timeout of 0.
		return strings.Replace(s, old, "tcp("+addr+")", 1)
	}
}
