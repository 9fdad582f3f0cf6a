package redislimit

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/apikit/apikey"
	"github.com/redis/go-redis/v9"
)

// Config configures a Limiter. The zero value is the default.
type Config struct {
	// Prefix starts the name of every counter key. Default: "apikey:rl:".
	Prefix string
}

// Limiter is an [apikey.Limiter] on Redis. It is safe for concurrent use.
type Limiter struct {
	client redis.Scripter
	prefix string
}

var _ apikey.Limiter = (*Limiter)(nil)

// script is the whole check: see gcra.lua.
//
//go:embed gcra.lua
var scriptText string

var script = redis.NewScript(scriptText)

// New returns a Limiter that counts in client (a *redis.Client, a
// *redis.ClusterClient, a *redis.Ring; anything that runs scripts).
func New(client redis.Scripter, cfg Config) *Limiter {
	if cfg.Prefix == "" {
		cfg.Prefix = "apikey:rl:"
	}
	return &Limiter{client: client, prefix: cfg.Prefix}
}

// Take implements [apikey.Limiter]: one script, all or nothing.
func (l *Limiter) Take(ctx context.Context, cost int64, counters []apikey.RateCounter) (apikey.LimitResult, error) {
	res, _, err := l.run(ctx, cost, false, counters)
	return res, err
}

// Give implements [apikey.Limiter].
func (l *Limiter) Give(ctx context.Context, cost int64, counters []apikey.RateCounter) error {
	_, _, err := l.run(ctx, cost, true, counters)
	return err
}

// run runs the script and returns its decision and Redis's time.
func (l *Limiter) run(ctx context.Context, cost int64, give bool, counters []apikey.RateCounter) (apikey.LimitResult, int64, error) {
	res := apikey.LimitResult{Refused: -1}
	if len(counters) == 0 {
		res.Allowed = true
		return res, 0, nil
	}
	keys := make([]string, len(counters))
	args := make([]any, 0, 2+2*len(counters))
	mode := "0"
	if give {
		mode = "1"
	}
	args = append(args, cost, mode)
	for i, c := range counters {
		keys[i] = l.prefix + c.ID()
		interval := intervalMicros(c.Limit)
		args = append(args, interval, interval*burst(c.Limit))
	}
	v, err := script.Run(ctx, l.client, keys, args...).Int64Slice()
	if err != nil {
		return res, 0, fmt.Errorf("redislimit: %w", err)
	}
	if len(v) != 4+2*len(counters) {
		return res, 0, errors.New("redislimit: the script answered " + strconv.Itoa(len(v)) + " values")
	}
	res.Allowed = v[0] == 1
	if !res.Allowed {
		res.Refused = int(v[1]) - 1
		res.RetryAfter = time.Duration(v[2]) * time.Microsecond
	}
	res.Status = make([]apikey.LimitStatus, len(counters))
	for i, c := range counters {
		res.Status[i] = apikey.LimitStatus{Limit: c.Limit, Remaining: v[4+2*i], Reset: time.Duration(v[5+2*i]) * time.Microsecond}
	}
	return res, v[3], nil
}

// intervalMicros is the emission interval of r in microseconds, as the
// in-process limiter counts it (Period/Limit, rounded down to the
// microsecond).
func intervalMicros(r apikey.RateLimit) int64 {
	return int64(r.Period/time.Duration(r.Limit)) / int64(time.Microsecond)
}

func burst(r apikey.RateLimit) int64 {
	if r.Burst > 0 {
		return r.Burst
	}
	return r.Limit
}
