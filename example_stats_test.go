package apikey_test

import (
	"context"
	"encoding/json"
	"expvar"
	"fmt"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
)

// ExampleManager_Stats exports a Manager's counters with expvar: one
// expvar.Func that returns the snapshot, served as JSON at /debug/vars by
// the expvar handler. The counters are read as they are, never subtracted:
// the outcomes of Verify are disjoint, so their sum is the number of calls.
func ExampleManager_Stats() {
	m, err := apikey.New(memstore.New(), apikey.WithLastUsedFlushInterval(-1))
	if err != nil {
		panic(err)
	}
	defer m.Close()
	ctx := context.Background()
	_, plaintext, err := m.Issue(ctx, apikey.IssueRequest{Name: "ci", Groups: []string{"read"}, CreatedBy: "ops"})
	if err != nil {
		panic(err)
	}
	m.Verify(ctx, plaintext)
	m.Verify(ctx, "ak_not-a-key")

	// In a program: expvar.Publish("apikey", expvar.Func(...)), once.
	stats := expvar.Func(func() any { return m.Stats() })

	var s apikey.Stats
	if err := json.Unmarshal([]byte(stats.String()), &s); err != nil {
		panic(err)
	}
	fmt.Println("verified:", s.Verified, "invalid:", s.Invalid)
	fmt.Println("calls:", s.Verified+s.Invalid+s.Inactive+s.Expired+s.Unavailable)
	// Output:
	// verified: 1 invalid: 1
	// calls: 2
}
