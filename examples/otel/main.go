// Command otel exports a Manager's Stats with OpenTelemetry: asynchronous
// counters read from one Stats snapshot per collection (the families are
// disjoint: a backend sums them), and the buckets of Stats.VerifyLatency as
// a counter with an "le" attribute (OpenTelemetry has no asynchronous
// histogram). It verifies a few keys and prints one collection to stdout;
// a service would use an OTLP exporter instead of stdoutmetric.
//
//	go run ./otel
package main

import (
	"context"
	"log"
	"strconv"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

func main() {
	ctx := context.Background()
	m, err := apikey.New(memstore.New())
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	exporter, err := stdoutmetric.New(stdoutmetric.WithPrettyPrint())
	if err != nil {
		log.Fatal(err)
	}
	reader := sdkmetric.NewPeriodicReader(exporter)
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(ctx)
	if err := register(provider.Meter("github.com/apikit/apikey"), m); err != nil {
		log.Fatal(err)
	}

	_, plaintext, err := m.Issue(ctx, apikey.IssueRequest{Name: "demo", Groups: []string{"read"}, CreatedBy: "example"})
	if err != nil {
		log.Fatal(err)
	}
	for range 3 {
		m.Verify(ctx, plaintext)
	}
	m.Verify(ctx, "ak_forged")
	if err := provider.ForceFlush(ctx); err != nil {
		log.Fatal(err)
	}
}

// register makes one callback that reads Stats once and reports every
// counter from that snapshot.
func register(meter metric.Meter, m *apikey.Manager) error {
	verifications, err := meter.Int64ObservableCounter("apikey.verifications", metric.WithDescription("Verify calls by outcome"))
	if err != nil {
		return err
	}
	lookups, err := meter.Int64ObservableCounter("apikey.lookups", metric.WithDescription("How a key the cache did not answer was looked up"))
	if err != nil {
		return err
	}
	storeFailures, err := meter.Int64ObservableCounter("apikey.store.failures", metric.WithDescription("Failed Store calls by kind"))
	if err != nil {
		return err
	}
	latency, err := meter.Int64ObservableCounter("apikey.verify.store_latency.buckets",
		metric.WithDescription("Verifications that waited for a Store outside memory, by latency bucket (le in seconds, not cumulative)"))
	if err != nil {
		return err
	}
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := m.Stats()
		observe := func(c metric.Int64ObservableCounter, v uint64, key, value string) {
			o.ObserveInt64(c, int64(v), metric.WithAttributes(attribute.String(key, value)))
		}
		observe(verifications, s.Verified, "outcome", "verified")
		observe(verifications, s.Invalid, "outcome", "invalid")
		observe(verifications, s.Inactive, "outcome", "inactive")
		observe(verifications, s.Expired, "outcome", "expired")
		observe(verifications, s.Unavailable, "outcome", "unavailable")
		observe(lookups, s.NegativeHits, "source", "negative_cache")
		observe(lookups, s.SharedLookups, "source", "shared")
		observe(lookups, s.StoreLookups, "source", "store")
		observe(storeFailures, s.StoreErrors, "kind", "error")
		observe(storeFailures, s.StoreTimeouts, "kind", "timeout")
		for i, n := range s.VerifyLatency {
			le := "+Inf"
			if bound := apikey.VerifyLatencyBound(i); bound > 0 {
				le = strconv.FormatFloat(bound.Seconds(), 'g', -1, 64)
			}
			observe(latency, n, "le", le)
		}
		return nil
	}, verifications, lookups, storeFailures, latency)
	return err
}
