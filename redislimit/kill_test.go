package redislimit

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/redis/go-redis/v9"
)

// ownRedis starts a redis-server of the test's own on a free port (never
// the shared one), without persistence, and returns its address and a
// function that kills it with SIGKILL.
func ownRedis(t *testing.T, port int) (addr string, kill func()) {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		missing(t, "redis-server not installed: skipping the kill test")
	}
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr = "127.0.0.1:" + strconv.Itoa(port)
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i > 200 {
			t.Fatalf("redis-server on %s did not start", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var once sync.Once
	kill = func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(kill)
	return addr, kill
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Redis killed mid-load overspends nothing: credits are spent on the Store,
// which stays the source of truth; while Redis is down requests are
// refused (503: ErrLimiterUnavailable); after it restarts the balance is
// what the Store says, and exactly the balance is ever spent.
func TestKillRedisMidLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server")
	}
	testClient(t) // the Redis tests are configured at all
	port := freePort(t)
	addr, kill := ownRedis(t, port)
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond, PoolSize: 32})
	t.Cleanup(func() { _ = rdb.Close() })
	store := memstore.New()
	m, err := apikey.New(store, apikey.WithLimiter(New(rdb, Config{})), apikey.WithLastUsedFlushInterval(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ctx := context.Background()
	const balance = 1000
	k, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "metered", Groups: []string{"read"}, CreatedBy: "test", Limits: &apikey.Limits{
		Rates:   []apikey.RateLimit{{Name: "requests", Limit: 1_000_000, Period: time.Second}},
		Credits: &apikey.CreditPolicy{},
	}})
	if err != nil {
		t.Fatal(err)
	}
	set := int64(balance)
	if _, err := m.ChangeCredits(ctx, apikey.CreditAccount{KeyID: k.ID}, &set, 0); err != nil {
		t.Fatal(err)
	}
	account := apikey.CreditAccount{Owner: k.Owner, KeyID: k.ID}
	var spent, unavailable, other atomic.Int64
	load := func(stop <-chan struct{}) {
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					_, err := m.CheckLimits(ctx, k, 1)
					switch {
					case err == nil:
						spent.Add(1)
					case errors.Is(err, apikey.ErrLimiterUnavailable):
						unavailable.Add(1)
					case errors.Is(err, apikey.ErrNoCredits):
						time.Sleep(time.Millisecond)
					default:
						other.Add(1)
					}
				}
			})
		}
		wg.Wait()
	}
	remaining := func() int64 {
		b, err := m.Credits(ctx, account)
		if err != nil {
			t.Fatal(err)
		}
		return b.Remaining
	}

	// Load, and kill Redis once 300 requests went through.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { load(stop); close(done) }()
	for spent.Load() < 300 {
		time.Sleep(time.Millisecond)
	}
	kill()
	killedAt := spent.Load()
	time.Sleep(300 * time.Millisecond) // load on a dead Redis
	close(stop)
	<-done
	if other.Load() != 0 {
		t.Fatalf("%d unexpected errors", other.Load())
	}
	afterKill := spent.Load()
	if unavailable.Load() == 0 {
		t.Fatal("no request was refused while Redis was down")
	}
	if got := remaining(); got != balance-afterKill {
		t.Fatalf("after the kill the Store holds %d, want %d - %d spent", got, balance, afterKill)
	}
	t.Logf("killed at %d requests allowed; %d allowed in all before the load stopped (in flight at the kill), %d refused with 503 while Redis was down; the Store's balance: %d",
		killedAt, afterKill, unavailable.Load(), remaining())

	// Restart Redis on the same port: the balance is the Store's, and the
	// rest of it is spent exactly.
	ownRedisOn(t, port)
	stop = make(chan struct{})
	done = make(chan struct{})
	go func() { load(stop); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for remaining() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // refusals only from here on
	close(stop)
	<-done
	if got, want := spent.Load(), int64(balance); got != want {
		t.Fatalf("%d requests allowed in all, want exactly the balance %d", got, want)
	}
	if got := remaining(); got != 0 {
		t.Fatalf("final balance %d", got)
	}
	t.Logf("after the restart: %d allowed in all, exactly the balance; final balance 0", spent.Load())
}

// ownRedisOn restarts a redis-server of the test's own on port.
func ownRedisOn(t *testing.T, port int) { ownRedis(t, port) }
