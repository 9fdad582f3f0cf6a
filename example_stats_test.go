package apikey_test

import (
	"context"
	"encoding/json"
	"expvar"
	"fmt"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
)

// Stats are counters kept since New, which only grow: export them as
// counters and let the monitoring system compute rates. With the standard
// library's expvar, a program publishes them once,
//
//	expvar.Publish("apikey", expvar.Func(func() any { return m.Stats() }))
//
// and serves them at /debug/vars (expvar.Handler()). This example puts them
// in a map of its own instead of the process-wide registry, and reads them
// back as /debug/vars would show them. For Prometheus, one
// prometheus.NewCounterFunc per field reading m.Stats().Field does the same.
func ExampleManager_Stats() {
	ctx := context.Background()
	m, err := apikey.New(memstore.New())
	if err != nil {
		panic(err)
	}
	defer m.Close()
	vars := new(expvar.Map).Init()
	vars.Set("apikey", expvar.Func(func() any { return m.Stats() }))

	k, plaintext, _ := m.Issue(ctx, apikey.IssueRequest{Name: "n", Groups: []string{"read"}, CreatedBy: "ops"})
	_, _ = m.Verify(ctx, plaintext)
	_, _ = m.Verify(ctx, plaintext)
	_, _ = m.Verify(ctx, "ak_not-a-key")
	_ = m.Deactivate(ctx, k.ID)
	_, _ = m.Verify(ctx, plaintext)

	var published map[string]any
	if err := json.Unmarshal([]byte(vars.Get("apikey").String()), &published); err != nil {
		panic(err)
	}
	for _, name := range []string{"Verified", "Invalid", "Inactive", "Unavailable"} {
		fmt.Println(name, published[name])
	}
	// Output:
	// Verified 2
	// Invalid 1
	// Inactive 1
	// Unavailable 0
}
