package apikey_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
)

// Roll a key with a grace period: both keys work until it ends, then only
// the successor does. A leaked key is rolled with no grace at all.
func ExampleManager_Roll() {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	m, err := apikey.New(memstore.New(), apikey.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}
	defer m.Close()

	old, oldText, err := m.Issue(ctx, apikey.IssueRequest{Name: "CI deploy", Groups: []string{"deploy:write"}, CreatedBy: "alice"})
	if err != nil {
		panic(err)
	}
	successor, newText, err := m.Roll(ctx, old.ID, apikey.RollRequest{Grace: 24 * time.Hour, CreatedBy: "alice"})
	if err != nil {
		panic(err)
	}
	fmt.Println(successor.RolledFrom == old.ID, successor.Groups)

	k, err := m.Verify(ctx, oldText)
	end, _ := k.EndsAt()
	fmt.Println("old key:", err, "until", end.Format(time.RFC3339))

	now = now.Add(24 * time.Hour)
	_, err = m.Verify(ctx, oldText)
	fmt.Println("old key:", errors.Is(err, apikey.ErrExpired))
	_, err = m.Verify(ctx, newText)
	fmt.Println("new key:", err)
	// Output:
	// true [deploy:write]
	// old key: <nil> until 2026-01-02T09:00:00Z
	// old key: true
	// new key: <nil>
}

// An expiry policy gives new keys a default lifetime and refuses any longer
// than the maximum, naming the policy.
func ExampleWithExpiryPolicy() {
	ctx := context.Background()
	m, err := apikey.New(memstore.New(), apikey.WithExpiryPolicy(apikey.ExpiryPolicy{
		DefaultLifetime: 30 * 24 * time.Hour,
		MaxLifetime:     90 * 24 * time.Hour,
	}))
	if err != nil {
		panic(err)
	}
	defer m.Close()

	k, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "reports", Groups: []string{"reports:read"}, CreatedBy: "alice"})
	if err != nil {
		panic(err)
	}
	fmt.Println(k.ExpiresAt.Sub(k.CreatedAt))

	_, _, err = m.Issue(ctx, apikey.IssueRequest{Name: "forever", Groups: []string{"reports:read"}, CreatedBy: "alice",
		ExpiresAt: time.Now().AddDate(1, 0, 0)})
	var v *apikey.ValidationError
	fmt.Println(errors.Is(err, apikey.ErrExpiryPolicy), errors.As(err, &v) && v.Field == "ExpiresAt")
	// Output:
	// 720h0m0s
	// true true
}
