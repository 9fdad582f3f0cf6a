package redislimit

import (
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// BenchmarkRedis compares a check with a bare Redis round trip in the same
// run: "round-trip" is a GET of a missing key, the cheapest command that
// crosses the network; "trivial-script" an EVALSHA of "return 1", what
// running any script costs; "check" is Take with one counter, "check-3"
// with three. Run with
//
//	APIKEY_TEST_REDIS_ADDR=127.0.0.1:6379 go test -run '^$' -bench Redis -benchmem -count 6 .
func BenchmarkRedis(b *testing.B) {
	c := testClient(b)
	prefix := testPrefix(b, c)
	l := New(c, Config{Prefix: prefix})
	huge := func(name string) apikey.RateCounter {
		return apikey.RateCounter{Limit: apikey.RateLimit{Name: name, Limit: 1_000_000_000, Period: 1000 * time.Second}, KeyID: uuid.New()}
	}
	one := []apikey.RateCounter{huge("requests")}
	three := []apikey.RateCounter{huge("requests"), huge("writes"), huge("reads")}
	if _, err := l.Take(b.Context(), 1, one); err != nil { // loads the script
		b.Fatal(err)
	}
	b.Run("round-trip", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Get(b.Context(), prefix+"missing").Err(); err != nil && err.Error() != "redis: nil" {
				b.Fatal(err)
			}
		}
	})
	trivial := redis.NewScript("return 1")
	b.Run("trivial-script", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := trivial.Run(b.Context(), c, []string{prefix + "x"}).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, cs := range []struct {
		name string
		c    []apikey.RateCounter
	}{{"check", one}, {"check-3", three}} {
		b.Run(cs.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if res, err := l.Take(b.Context(), 1, cs.c); err != nil || !res.Allowed {
					b.Fatal(res, err)
				}
			}
		})
	}
}
