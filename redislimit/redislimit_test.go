package redislimit

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// addrVar names the Redis the tests run against.
const addrVar = "APIKEY_TEST_REDIS_ADDR"

// missing skips a test whose service is not configured, or fails it under
// CI=true, where every service must be there.
func missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("CI=true: "+format, args...)
	}
	tb.Skipf(format, args...)
}

// testClient returns a client of the test Redis, closed with the test.
func testClient(tb testing.TB) *redis.Client {
	tb.Helper()
	addr := os.Getenv(addrVar)
	if addr == "" {
		missing(tb, "%s not set: skipping the Redis tests", addrVar)
	}
	c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 64})
	if err := c.Ping(context.Background()).Err(); err != nil {
		missing(tb, "Redis at %s: %v", addr, err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// testPrefix returns a prefix of keys of the test's own, deleted after it.
func testPrefix(tb testing.TB, c *redis.Client) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	p := "apikey-test:" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, p+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return p
}

func counter(name string, limit int64, period time.Duration, id uuid.UUID) apikey.RateCounter {
	return apikey.RateCounter{Limit: apikey.RateLimit{Name: name, Limit: limit, Period: period}, KeyID: id}
}

func TestBurstAndRefusal(t *testing.T) {
	c := testClient(t)
	l := New(c, Config{Prefix: testPrefix(t, c)})
	cs := []apikey.RateCounter{counter("requests", 5, time.Minute, uuid.New())}
	for i := range 5 {
		res, err := l.Take(t.Context(), 1, cs)
		if err != nil || !res.Allowed {
			t.Fatalf("request %d: %+v, %v", i, res, err)
		}
		if res.Status[0].Remaining != int64(4-i) {
			t.Errorf("request %d: remaining %d", i, res.Status[0].Remaining)
		}
	}
	res, err := l.Take(t.Context(), 1, cs)
	if err != nil || res.Allowed || res.Refused != 0 {
		t.Fatalf("sixth request: %+v, %v", res, err)
	}
	if res.RetryAfter <= 11*time.Second || res.RetryAfter > 12*time.Second {
		t.Errorf("retry after %v, want about 12s", res.RetryAfter)
	}
}

// Two limits where the second refuses: the first's count is unchanged.
func TestAllOrNothing(t *testing.T) {
	c := testClient(t)
	l := New(c, Config{Prefix: testPrefix(t, c)})
	id := uuid.New()
	wide, narrow := counter("requests", 100, time.Hour, id), counter("writes", 2, time.Hour, id)
	for range 2 {
		if res, err := l.Take(t.Context(), 1, []apikey.RateCounter{wide, narrow}); err != nil || !res.Allowed {
			t.Fatalf("%+v %v", res, err)
		}
	}
	for range 20 {
		res, err := l.Take(t.Context(), 1, []apikey.RateCounter{wide, narrow})
		if err != nil || res.Allowed || res.Refused != 1 {
			t.Fatalf("want refused by writes: %+v %v", res, err)
		}
		if res.Status[0].Remaining != 98 {
			t.Fatalf("requests remaining %d after a refusal, want 98: the refused request counted", res.Status[0].Remaining)
		}
	}
	if err := l.Give(t.Context(), 1, []apikey.RateCounter{wide}); err != nil {
		t.Fatal(err)
	}
	res, err := l.Take(t.Context(), 1, []apikey.RateCounter{wide})
	if err != nil || res.Status[0].Remaining != 98 {
		t.Fatalf("after Give and Take: %+v %v", res, err)
	}
}

// The exactness test: 4 processes x 32 goroutines against one Redis at a
// limit of 500 per minute, each trial with a counter of its own, more
// attempts than the limit. The processes start each trial together (a
// barrier in Redis). Every attempt reports the Redis time the script saw;
// replaying GCRA over those times in order gives exactly how many requests
// the limit allows (500, plus one per 120ms the trial lasted): the count
// allowed must equal it in every trial, never one more. A trial whose
// attempts all fall within one emission interval must allow exactly 500.
const (
	exactProcs    = 4
	exactWorkers  = 32
	exactAttempts = 4 // per goroutine: 512 attempts per trial
	exactLimit    = 500
	exactTrials   = 400
	exactEnough   = 100 // trials that must allow exactly 500
	childEnv      = "REDISLIMIT_EXACT_CHILD"
)

func TestExactAcrossProcesses(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		exactChild(t)
		return
	}
	if testing.Short() {
		t.Skip("starts 4 processes")
	}
	c := testClient(t)
	prefix := testPrefix(t, c)
	type trial struct {
		allowed int
		times   []int64 // Redis times (us) of every attempt
	}
	trials := make([]trial, exactTrials)
	var wg sync.WaitGroup
	var mu sync.Mutex
	errs := make(chan error, exactProcs)
	for p := range exactProcs {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestExactAcrossProcesses$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), childEnv+"="+prefix)
			out, err := cmd.StdoutPipe()
			if err != nil {
				errs <- err
				return
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				errs <- err
				return
			}
			sc := bufio.NewScanner(out)
			sc.Buffer(make([]byte, 1<<20), 1<<22)
			n := 0
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) < 3 || f[0] != "TRIAL" {
					continue
				}
				i, _ := strconv.Atoi(f[1])
				a, _ := strconv.Atoi(f[2])
				mu.Lock()
				trials[i].allowed += a
				for _, v := range f[3:] {
					x, _ := strconv.ParseInt(v, 10, 64)
					trials[i].times = append(trials[i].times, x)
				}
				mu.Unlock()
				n++
			}
			if err := cmd.Wait(); err != nil {
				errs <- fmt.Errorf("process %d: %w", p, err)
				return
			}
			if n != exactTrials {
				errs <- fmt.Errorf("process %d reported %d trials", p, n)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	interval := (time.Minute / exactLimit).Microseconds()
	exact500, longest := 0, int64(0)
	for i, tr := range trials {
		if len(tr.times) != exactProcs*exactWorkers*exactAttempts {
			t.Fatalf("trial %d: %d attempts reported", i, len(tr.times))
		}
		slices.Sort(tr.times)
		// Replay GCRA: burst 500, one more every interval.
		want, tat := 0, int64(0)
		for _, now := range tr.times {
			next := max(tat, now) + interval
			if next-now <= exactLimit*interval {
				want, tat = want+1, next
			}
		}
		if tr.allowed != want {
			t.Errorf("trial %d: %d allowed, GCRA allows exactly %d (attempts over %dus)", i, tr.allowed, want, tr.times[len(tr.times)-1]-tr.times[0])
		}
		if tr.allowed == exactLimit {
			exact500++
		}
		longest = max(longest, tr.times[len(tr.times)-1]-tr.times[0])
	}
	t.Logf("%d trials of %d processes x %d goroutines x %d attempts at %d per minute: every trial allowed exactly what GCRA allows; %d trials allowed exactly %d (the others lasted longer than one 120ms interval; the longest %v)",
		exactTrials, exactProcs, exactWorkers, exactAttempts, exactLimit, exact500, exactLimit, time.Duration(longest)*time.Microsecond)
	if exact500 < exactEnough {
		t.Errorf("only %d trials allowed exactly %d, want at least %d", exact500, exactLimit, exactEnough)
	}
}

// exactChild is one process of TestExactAcrossProcesses.
func exactChild(t *testing.T) {
	prefix := os.Getenv(childEnv)
	c := testClient(t)
	l := New(c, Config{Prefix: prefix})
	ctx := context.Background()
	for i := range exactTrials {
		barrier := prefix + "barrier:" + strconv.Itoa(i)
		if err := c.Incr(ctx, barrier).Err(); err != nil {
			t.Fatal(err)
		}
		for {
			n, err := c.Get(ctx, barrier).Int()
			if err != nil {
				t.Fatal(err)
			}
			if n >= exactProcs {
				break
			}
			time.Sleep(50 * time.Microsecond)
		}
		cs := []apikey.RateCounter{{Limit: apikey.RateLimit{Name: "trial" + strconv.Itoa(i), Limit: exactLimit, Period: time.Minute, Scope: apikey.ScopeOwner}, Owner: "exact"}}
		var mu sync.Mutex
		allowed := 0
		var times []int64
		var wg sync.WaitGroup
		for range exactWorkers {
			wg.Go(func() {
				for range exactAttempts {
					res, now, err := l.run(ctx, 1, false, cs)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					times = append(times, now)
					if res.Allowed {
						allowed++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		var b strings.Builder
		fmt.Fprintf(&b, "TRIAL %d %d", i, allowed)
		for _, x := range times {
			b.WriteString(" ")
			b.WriteString(strconv.FormatInt(x, 10))
		}
		fmt.Println(b.String())
	}
}
