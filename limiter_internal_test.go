package apikey

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestGCRABurstThenRate(t *testing.T) {
	clock := &manualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newMemoryLimiter(clock.Now)
	c := []RateCounter{{Limit: RateLimit{Name: "requests", Limit: 5, Period: time.Minute}, KeyID: uuid.New()}}
	for i := range 5 {
		res, err := l.Take(context.Background(), 1, c)
		require.NoError(t, err)
		require.True(t, res.Allowed, "request %d", i)
		assert.Equal(t, int64(4-i), res.Status[0].Remaining)
	}
	res, err := l.Take(context.Background(), 1, c)
	require.NoError(t, err)
	assert.False(t, res.Allowed)
	assert.Equal(t, 0, res.Refused)
	assert.Equal(t, 12*time.Second, res.RetryAfter)
	clock.Advance(12*time.Second - time.Nanosecond)
	res, _ = l.Take(context.Background(), 1, c)
	assert.False(t, res.Allowed)
	clock.Advance(time.Nanosecond)
	res, _ = l.Take(context.Background(), 1, c)
	assert.True(t, res.Allowed)
	res, _ = l.Take(context.Background(), 1, c)
	assert.False(t, res.Allowed)
}

func TestGCRACost(t *testing.T) {
	clock := &manualClock{now: time.Unix(1e9, 0)}
	l := newMemoryLimiter(clock.Now)
	c := []RateCounter{{Limit: RateLimit{Name: "r", Limit: 10, Period: time.Second}, KeyID: uuid.New()}}
	res, _ := l.Take(context.Background(), 7, c)
	assert.True(t, res.Allowed)
	res, _ = l.Take(context.Background(), 4, c)
	assert.False(t, res.Allowed, "7+4 > 10")
	res, _ = l.Take(context.Background(), 3, c)
	assert.True(t, res.Allowed, "7+3 = 10")
}

// A request refused by one limit consumes none of the others.
func TestTakeAllOrNothing(t *testing.T) {
	clock := &manualClock{now: time.Unix(1e9, 0)}
	l := newMemoryLimiter(clock.Now)
	id := uuid.New()
	wide := RateCounter{Limit: RateLimit{Name: "requests", Limit: 100, Period: time.Minute}, KeyID: id}
	narrow := RateCounter{Limit: RateLimit{Name: "writes", Limit: 2, Period: time.Minute}, KeyID: id}
	for range 2 {
		res, _ := l.Take(context.Background(), 1, []RateCounter{wide, narrow})
		require.True(t, res.Allowed)
	}
	for range 50 {
		res, _ := l.Take(context.Background(), 1, []RateCounter{wide, narrow})
		require.False(t, res.Allowed)
		require.Equal(t, 1, res.Refused)
	}
	res, _ := l.Take(context.Background(), 1, []RateCounter{wide})
	require.True(t, res.Allowed)
	assert.Equal(t, int64(97), res.Status[0].Remaining, "the refused requests took nothing from requests")
	require.NoError(t, l.Give(context.Background(), 1, []RateCounter{wide}))
	res, _ = l.Take(context.Background(), 0, []RateCounter{wide})
	assert.Equal(t, int64(98), res.Status[0].Remaining, "Give returned one")
}

func TestTakeConcurrentExact(t *testing.T) {
	clock := &manualClock{now: time.Unix(1e9, 0)}
	l := newMemoryLimiter(clock.Now)
	owner := "org"
	c := []RateCounter{
		{Limit: RateLimit{Name: "requests", Limit: 500, Period: time.Minute, Scope: ScopeOwner}, Owner: owner},
		{Limit: RateLimit{Name: "k", Limit: 100000, Period: time.Minute}, KeyID: uuid.New()},
	}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 100 {
				res, err := l.Take(context.Background(), 1, c)
				if err == nil && res.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(500), allowed.Load())
}

func TestRefillPeriodStart(t *testing.T) {
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	cases := []struct {
		r          Refill
		now, start string
		next       string
	}{
		{Refill{Amount: 1, Interval: RefillDaily}, "2026-03-05T13:00:00Z", "2026-03-05T00:00:00Z", "2026-03-06T00:00:00Z"},
		{Refill{Amount: 1, Interval: RefillMonthly}, "2026-03-05T13:00:00Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"},
		{Refill{Amount: 1, Interval: RefillMonthly, Day: 15}, "2026-03-05T13:00:00Z", "2026-02-15T00:00:00Z", "2026-03-15T00:00:00Z"},
		{Refill{Amount: 1, Interval: RefillMonthly, Day: 31}, "2026-03-05T13:00:00Z", "2026-02-28T00:00:00Z", "2026-03-31T00:00:00Z"},
		{Refill{Amount: 1, Interval: RefillMonthly, Day: 31}, "2026-04-30T00:00:00Z", "2026-04-30T00:00:00Z", "2026-05-31T00:00:00Z"},
		{Refill{Amount: 1, Interval: RefillMonthly, Day: 31}, "2026-01-01T00:00:00Z", "2025-12-31T00:00:00Z", "2026-01-31T00:00:00Z"},
	}
	for _, c := range cases {
		assert.Equal(t, at(c.start), c.r.PeriodStart(at(c.now)), "%+v at %s", c.r, c.now)
		assert.Equal(t, at(c.next), c.r.next(at(c.now)), "%+v after %s", c.r, c.now)
	}
}
