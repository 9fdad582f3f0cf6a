package apikey_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
)

// Every change of a key is recorded as an Event, atomically with the change:
// who made it, when, and the values it touched. Events outlive their key and
// are read oldest first, within the acting administrator's organization.
func ExampleManager_Events() {
	ctx := context.Background()
	now := time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC)
	m, err := apikey.New(memstore.New(), apikey.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}
	defer m.Close()
	alice := apikey.NewActorContext(ctx, apikey.Actor{ID: "u-17", Name: "alice",
		Groups: []string{"reports:read", "reports:write"}, Owner: "acme"})

	k, _, err := m.Issue(alice, apikey.IssueRequest{Name: "CI", Groups: []string{"reports:read"}})
	if err != nil {
		panic(err)
	}
	now = now.Add(time.Hour)
	_ = m.Rename(alice, k.ID, "CI deploy")
	_ = m.SetGroups(alice, k.ID, []string{"reports:read", "reports:write"})
	// Trusted code without an actor names itself, and says why.
	ops := apikey.NewChangeContext(ctx, apikey.Change{ActorName: "ops bot", Reason: "found in a build log"})
	now = now.Add(time.Hour)
	_ = m.Deactivate(ops, k.ID)

	page, err := m.Events(alice, apikey.EventOptions{KeyID: k.ID})
	if err != nil {
		panic(err)
	}
	for _, e := range page.Events {
		line := e.At.Format(time.RFC3339) + " " + e.ActorName + ": " + string(e.Kind)
		if e.Old.Name != e.New.Name {
			line += fmt.Sprintf(", name %q → %q", e.Old.Name, e.New.Name)
		}
		if len(e.Old.Groups)+len(e.New.Groups) > 0 {
			line += fmt.Sprintf(", groups %v → %v", e.Old.Groups, e.New.Groups)
		}
		if e.Reason != "" {
			line += " (" + e.Reason + ")"
		}
		fmt.Println(line)
	}
	// Another organization's administrator sees none of it.
	globex := apikey.NewActorContext(ctx, apikey.Actor{Name: "bob", Owner: "globex"})
	page, _ = m.Events(globex, apikey.EventOptions{KeyID: k.ID})
	fmt.Println("globex sees", len(page.Events), "events")
	// Output:
	// 2026-01-31T09:00:00Z alice: issued, name "" → "CI", groups [] → [reports:read]
	// 2026-01-31T10:00:00Z alice: renamed, name "CI" → "CI deploy"
	// 2026-01-31T10:00:00Z alice: groups_changed, groups [reports:read] → [reports:read reports:write]
	// 2026-01-31T11:00:00Z ops bot: deactivated (found in a build log)
	// globex sees 0 events
}

// Two Managers on one Store stand for two instances of a service on one
// database. With a verification cache, a key deactivated on one instance
// keeps working on another until its cache entry expires; with the change
// feed, the other instance reads the event within one poll interval and
// drops its cached verification, whatever the cache's TTL.
func ExampleVerifyCache_followChanges() {
	ctx := context.Background()
	now := time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC)
	clock := apikey.WithClock(func() time.Time { return now })
	store := memstore.New()
	following, err := apikey.New(store, clock, apikey.WithVerifyCache(apikey.VerifyCache{
		TTL: 10 * time.Minute, FollowChanges: true, FeedInterval: 10 * time.Millisecond, FeedMaxStale: time.Second,
	}))
	if err != nil {
		panic(err)
	}
	defer following.Close()
	cacheOnly, _ := apikey.New(store, clock, apikey.WithVerifyCache(apikey.VerifyCache{TTL: 10 * time.Minute}))
	defer cacheOnly.Close()
	admin, _ := apikey.New(store, clock)
	defer admin.Close()

	// waitFor waits, at most five seconds, until the feed has read n events.
	waitFor := func(n uint64) {
		for deadline := time.Now().Add(5 * time.Second); following.Stats().FeedEvents < n && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); following.Stats().FeedSuccesses == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond) // the feed starts at the latest event
	}

	k, plaintext, err := admin.Issue(ctx, apikey.IssueRequest{Name: "partner", Groups: []string{"orders:read"}, CreatedBy: "ops"})
	if err != nil {
		panic(err)
	}
	waitFor(1)                                // the issue
	_, err = following.Verify(ctx, plaintext) // cached for ten minutes
	fmt.Println("with the feed, before:", err)
	_, err = cacheOnly.Verify(ctx, plaintext)
	fmt.Println("cache only, before:", err)

	_ = admin.Deactivate(ctx, k.ID) // on another instance
	waitFor(2)                      // the deactivation, within one poll

	_, err = following.Verify(ctx, plaintext)
	fmt.Println("with the feed, after:", errors.Is(err, apikey.ErrInactive))
	_, err = cacheOnly.Verify(ctx, plaintext)
	fmt.Println("cache only, after:", err, "(until its entry expires)")
	// Output:
	// with the feed, before: <nil>
	// cache only, before: <nil>
	// with the feed, after: true
	// cache only, after: <nil> (until its entry expires)
}
