package apikey_test

import (
	"context"
	"fmt"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
)

// Usage metering is on with a Store that keeps usage (memstore and
// sqlstore do): the uses counted in memory reach the Store with each
// flush, and Usage reads them back by hour or by day.
func ExampleManager_Usage() {
	ctx := context.Background()
	m, err := apikey.New(memstore.New())
	if err != nil {
		panic(err)
	}
	defer m.Close()
	k, plaintext, err := m.Issue(ctx, apikey.IssueRequest{Name: "billing", Groups: []string{"invoices:read"}, CreatedBy: "ops"})
	if err != nil {
		panic(err)
	}
	for range 3 {
		if _, err := m.Verify(ctx, plaintext); err != nil {
			panic(err)
		}
	}
	_ = m.Deactivate(ctx, k.ID)
	_, _ = m.Verify(ctx, plaintext) // refused: inactive, and counted as such
	if err := m.Flush(ctx); err != nil {
		panic(err)
	}

	r, err := m.Usage(ctx, apikey.UsageQuery{KeyID: k.ID, Step: apikey.UsageByDay})
	if err != nil {
		panic(err)
	}
	fmt.Println("days:", len(r.Points))
	fmt.Println("verified:", r.Total.Verified, "refused:", r.Total.Refused(), "inactive:", r.Total.Inactive)
	// Output:
	// days: 30
	// verified: 3 refused: 1 inactive: 1
}
