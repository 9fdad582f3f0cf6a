// Command prometheus exports a Manager's Stats to Prometheus: every counter
// as it is (the families are disjoint, so PromQL sums them, never
// subtracts), and Stats.VerifyLatency as a native Prometheus histogram. It
// serves /metrics on :9090 (or $ADDR) and verifies a key once a second so
// that the counters move.
//
//	go run ./prometheus && curl -s localhost:9090/metrics | grep apikey_
package main

import (
	"context"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// statsCollector reads Stats at each scrape: one snapshot, no lock.
type statsCollector struct {
	m *apikey.Manager

	verifications, lookups, cache, storeFailures, flushes, feedPolls *prometheus.Desc
	latency, feedLag                                                 *prometheus.Desc
}

func newStatsCollector(m *apikey.Manager) *statsCollector {
	return &statsCollector{
		m:             m,
		verifications: prometheus.NewDesc("apikey_verifications_total", "Verify calls by outcome.", []string{"outcome"}, nil),
		cache:         prometheus.NewDesc("apikey_cache_lookups_total", "How the verification cache answered.", []string{"result"}, nil),
		lookups:       prometheus.NewDesc("apikey_lookups_total", "How a key the cache did not answer was looked up.", []string{"source"}, nil),
		storeFailures: prometheus.NewDesc("apikey_store_failures_total", "Failed Store calls by kind.", []string{"kind"}, nil),
		flushes:       prometheus.NewDesc("apikey_last_used_flushes_total", "Last-used writes by result.", []string{"result"}, nil),
		feedPolls:     prometheus.NewDesc("apikey_feed_polls_total", "Change feed polls by result.", []string{"result"}, nil),
		latency:       prometheus.NewDesc("apikey_verify_store_latency_seconds", "Verifications that waited for a Store outside memory.", nil, nil),
		feedLag:       prometheus.NewDesc("apikey_feed_lag_seconds", "Time since the last successful poll of the change feed.", nil, nil),
	}
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.Stats()
	counter := func(d *prometheus.Desc, v uint64, label string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), label)
	}
	counter(c.verifications, s.Verified, "verified")
	counter(c.verifications, s.Invalid, "invalid")
	counter(c.verifications, s.Inactive, "inactive")
	counter(c.verifications, s.Expired, "expired")
	counter(c.verifications, s.Unavailable, "unavailable")
	counter(c.cache, s.CacheHits, "hit")
	counter(c.cache, s.CacheMisses, "miss")
	counter(c.cache, s.StaleCacheBypasses, "stale_bypass")
	counter(c.lookups, s.NegativeHits, "negative_cache")
	counter(c.lookups, s.SharedLookups, "shared")
	counter(c.lookups, s.StoreLookups, "store")
	counter(c.storeFailures, s.StoreErrors, "error")
	counter(c.storeFailures, s.StoreTimeouts, "timeout")
	counter(c.flushes, s.Flushes, "ok")
	counter(c.flushes, s.FailedFlushes, "failed")
	counter(c.feedPolls, s.FeedSuccesses, "ok")
	counter(c.feedPolls, s.FeedFailures, "failed")
	ch <- prometheus.MustNewConstMetric(c.feedLag, prometheus.GaugeValue, s.FeedLag.Seconds())

	// Prometheus buckets are cumulative; Stats' are not. The sum is not
	// known: buckets only.
	buckets := make(map[float64]uint64, apikey.VerifyLatencyBuckets-1)
	var total uint64
	for i, n := range s.VerifyLatency {
		total += n
		if bound := apikey.VerifyLatencyBound(i); bound > 0 {
			buckets[bound.Seconds()] = total
		}
	}
	ch <- prometheus.MustNewConstHistogram(c.latency, total, 0, buckets)
}

func main() {
	m, err := apikey.New(memstore.New())
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	_, plaintext, err := m.Issue(ctx, apikey.IssueRequest{Name: "demo", Groups: []string{"read"}, CreatedBy: "example"})
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		for range time.Tick(time.Second) {
			m.Verify(ctx, plaintext)
			m.Verify(ctx, "ak_forged")
		}
	}()

	reg := prometheus.NewRegistry()
	reg.MustRegister(newStatsCollector(m))
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = ":9090"
	}
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	log.Printf("serving /metrics on %s", addr)
	log.Fatal(http.ListenAndServe(addr, nil))
}
