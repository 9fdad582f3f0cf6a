package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// limitSubtests are the subtests of an apikey.LimitStore.
func limitSubtests() []subtest {
	return []subtest{
		{"LimitsFields", limits(testLimitsFields)},
		{"SetLimits", limits(testSetLimits)},
		{"ChangeCredits", limits(testChangeCredits)},
		{"SpendCredits", limits(testSpendCredits)},
		{"CreditsRefill", limits(testCreditsRefill)},
		{"ConcurrentCredits", limits(testConcurrentCredits)},
	}
}

// limits runs a subtest on a store that implements apikey.LimitStore, and
// skips it on any other.
func limits(test func(t *testing.T, s apikey.LimitStore)) func(t *testing.T, s apikey.Store) {
	return func(t *testing.T, s apikey.Store) {
		ls, ok := s.(apikey.LimitStore)
		if !ok {
			t.Skipf("%T is not an apikey.LimitStore", s)
		}
		test(t, ls)
	}
}

// sampleLimits returns limits that use every field.
func sampleLimits() *apikey.Limits {
	return &apikey.Limits{
		Rates: []apikey.RateLimit{
			{Name: "requests", Limit: 100, Period: time.Minute},
			{Name: "writes", Limit: 10, Period: time.Second, Burst: 3, Scope: apikey.ScopeOwner},
		},
		Credits: &apikey.CreditPolicy{Scope: apikey.ScopeOwner, Refill: &apikey.Refill{Amount: 1000, Interval: apikey.RefillMonthly, Day: 15}},
	}
}

// testLimitsFields checks that the Limits given to Create come back from
// Get, GetByLookupID and List, and nil stays nil.
func testLimitsFields(t *testing.T, s apikey.LimitStore) {
	k := newKey(at(0))
	k.Limits = sampleLimits()
	create(t, s, k)
	plain := newKey(at(time.Second))
	create(t, s, plain)
	got, err := s.Get(t.Context(), k.ID)
	must.NoError(t, err, "Get")
	check.Equal(t, sampleLimits(), got.Limits, "Get returns the limits")
	got, err = s.GetByLookupID(t.Context(), k.LookupID)
	must.NoError(t, err, "GetByLookupID")
	check.Equal(t, sampleLimits(), got.Limits, "GetByLookupID returns the limits")
	list, err := s.List(t.Context(), apikey.ListQuery{Limit: 10})
	must.NoError(t, err, "List")
	must.Len(t, list, 2, "List")
	check.Equal(t, sampleLimits(), list[0].Limits, "List returns the limits")
	check.Nil(t, list[1].Limits, "a key without limits has none")
	k.Limits.Rates[0].Limit = 1 // the store keeps its own copy
	got, _ = s.Get(t.Context(), k.ID)
	check.Equal(t, sampleLimits(), got.Limits, "Create copies the limits")
}

// testSetLimits checks SetLimits: set, replace, remove, UpdatedAt, a
// missing key and the owner guard.
func testSetLimits(t *testing.T, s apikey.LimitStore) {
	k := newKey(at(0))
	create(t, s, k)
	l := sampleLimits()
	must.NoError(t, s.SetLimits(t.Context(), opAt(at(time.Minute)), k.ID, l, nil), "SetLimits")
	l.Rates = nil // the store keeps its own copy
	got, err := s.Get(t.Context(), k.ID)
	must.NoError(t, err, "Get")
	check.Equal(t, sampleLimits(), got.Limits, "SetLimits stores the limits")
	check.Equal(t, at(time.Minute), got.UpdatedAt, "SetLimits sets UpdatedAt")
	got, _ = s.GetByLookupID(t.Context(), k.LookupID)
	check.Equal(t, sampleLimits(), got.Limits, "GetByLookupID after SetLimits")

	one := &apikey.Limits{Rates: []apikey.RateLimit{{Name: "requests", Limit: 5, Period: time.Minute}}}
	must.NoError(t, s.SetLimits(t.Context(), opAt(at(2*time.Minute)), k.ID, one, nil), "SetLimits again")
	got, _ = s.Get(t.Context(), k.ID)
	check.Equal(t, one, got.Limits, "SetLimits replaces the limits")
	must.NoError(t, s.SetLimits(t.Context(), opAt(at(3*time.Minute)), k.ID, nil, nil), "SetLimits nil")
	got, _ = s.Get(t.Context(), k.ID)
	check.Nil(t, got.Limits, "SetLimits nil removes the limits")

	check.ErrorIs(t, s.SetLimits(t.Context(), opAt(at(time.Hour)), uuid.Must(uuid.NewV7()), one, nil), apikey.ErrNotFound, "SetLimits of a missing key")
	check.ErrorIs(t, s.SetLimits(t.Context(), opAt(at(time.Hour)), k.ID, one, &apikey.Guard{Owner: "org-2"}), apikey.ErrNotFound, "SetLimits of another owner's key")
	got, _ = s.Get(t.Context(), k.ID)
	check.Nil(t, got.Limits, "a refused SetLimits changes nothing")
}

func credits(n int64) *int64 { return &n }

// testChangeCredits checks set, add and subtract (never below zero), the
// balances of keys and owners apart, and the event of each change.
func testChangeCredits(t *testing.T, s apikey.LimitStore) {
	k := newKey(at(0))
	create(t, s, k)
	acct := apikey.CreditAccount{Owner: k.Owner, KeyID: k.ID}
	owner := apikey.CreditAccount{Owner: k.Owner}
	_, err := s.Credits(t.Context(), acct)
	check.ErrorIs(t, err, apikey.ErrNotFound, "a balance never set")

	n, err := s.ChangeCredits(t.Context(), changeAt(at(time.Minute), false), apikey.CreditChange{Account: acct, Set: credits(100)}, nil)
	must.NoError(t, err, "set")
	check.Equal(t, int64(100), n, "set")
	n, err = s.ChangeCredits(t.Context(), changeAt(at(2*time.Minute), false), apikey.CreditChange{Account: acct, Add: 50}, nil)
	must.NoError(t, err, "add")
	check.Equal(t, int64(150), n, "add")
	n, err = s.ChangeCredits(t.Context(), changeAt(at(3*time.Minute), false), apikey.CreditChange{Account: acct, Add: -500}, nil)
	must.NoError(t, err, "subtract")
	check.Equal(t, int64(0), n, "subtracting more than the balance leaves zero")
	n, err = s.ChangeCredits(t.Context(), changeAt(at(4*time.Minute), false), apikey.CreditChange{Account: owner, Add: 7}, nil)
	must.NoError(t, err, "owner balance")
	check.Equal(t, int64(7), n, "an owner's balance starts at zero")
	b, err := s.Credits(t.Context(), acct)
	must.NoError(t, err, "Credits")
	check.Equal(t, int64(0), b.Remaining, "the key's balance is its own")

	_, err = s.ChangeCredits(t.Context(), opAt(at(time.Hour)), apikey.CreditChange{Account: apikey.CreditAccount{Owner: "org-1", KeyID: uuid.Must(uuid.NewV7())}, Set: credits(1)}, nil)
	check.ErrorIs(t, err, apikey.ErrNotFound, "credits of a missing key")
	_, err = s.ChangeCredits(t.Context(), opAt(at(time.Hour)), apikey.CreditChange{Account: acct, Set: credits(1)}, &apikey.Guard{Owner: "org-2"})
	check.ErrorIs(t, err, apikey.ErrNotFound, "credits of another owner's key")

	es, ok := s.(apikey.EventStore)
	if !ok {
		return
	}
	events, err := es.Events(t.Context(), apikey.EventQuery{Limit: 100})
	must.NoError(t, err, "Events")
	var got [][2]int64
	for _, e := range events {
		if e.Kind != apikey.EventCreditsChanged {
			continue
		}
		if check.NotNil(t, e.Old.Credits, "Old.Credits") && check.NotNil(t, e.New.Credits, "New.Credits") {
			got = append(got, [2]int64{*e.Old.Credits, *e.New.Credits})
		}
		check.Equal(t, alice.Name, e.ActorName, "the actor of a credits change")
	}
	check.Equal(t, [][2]int64{{0, 100}, {100, 150}, {150, 0}, {0, 7}}, got, "one event per change, none for a refused one")
}

// testSpendCredits checks that spending takes exactly the cost, never
// below zero, and that a balance never set is zero.
func testSpendCredits(t *testing.T, s apikey.LimitStore) {
	k := newKey(at(0))
	create(t, s, k)
	acct := apikey.CreditAccount{Owner: k.Owner, KeyID: k.ID}
	_, ok, err := s.SpendCredits(t.Context(), acct, 1, nil, time.Time{})
	must.NoError(t, err, "spend from no balance")
	check.False(t, ok, "no balance is zero")
	_, err = s.Credits(t.Context(), acct)
	check.ErrorIs(t, err, apikey.ErrNotFound, "spending creates no balance")

	_, err = s.ChangeCredits(t.Context(), opAt(at(time.Minute)), apikey.CreditChange{Account: acct, Set: credits(10)}, nil)
	must.NoError(t, err, "set")
	left, ok, err := s.SpendCredits(t.Context(), acct, 4, nil, time.Time{})
	must.NoError(t, err, "spend 4")
	check.True(t, ok, "spend 4 of 10")
	check.Equal(t, int64(6), left, "6 left")
	left, ok, err = s.SpendCredits(t.Context(), acct, 7, nil, time.Time{})
	must.NoError(t, err, "spend 7")
	check.False(t, ok, "7 of 6 is refused")
	check.Equal(t, int64(6), left, "a refused spending takes nothing")
	left, ok, _ = s.SpendCredits(t.Context(), acct, 6, nil, time.Time{})
	check.True(t, ok, "spend the last 6")
	check.Equal(t, int64(0), left, "0 left")
	_, ok, _ = s.SpendCredits(t.Context(), acct, 1, nil, time.Time{})
	check.False(t, ok, "nothing left")
	b, err := s.Credits(t.Context(), acct)
	must.NoError(t, err, "Credits")
	check.Equal(t, int64(0), b.Remaining, "never below zero")
}

// testCreditsRefill checks the refill: set to the amount once per period,
// in the step of the spending, never added up.
func testCreditsRefill(t *testing.T, s apikey.LimitStore) {
	acct := apikey.CreditAccount{Owner: "org-refill"}
	refill := &apikey.Refill{Amount: 3, Interval: apikey.RefillDaily}
	_, err := s.ChangeCredits(t.Context(), opAt(at(0)), apikey.CreditChange{Account: acct, Set: credits(1)}, nil)
	must.NoError(t, err, "set")
	day1, day2 := at(24*time.Hour).Truncate(24*time.Hour), at(48*time.Hour).Truncate(24*time.Hour)
	spent := 0
	for range 5 {
		if _, ok, err := s.SpendCredits(t.Context(), acct, 1, refill, day1); err == nil && ok {
			spent++
		}
	}
	check.Equal(t, 3, spent, "the first spending of a period refills to the amount")
	b, err := s.Credits(t.Context(), acct)
	must.NoError(t, err, "Credits")
	check.Equal(t, day1, b.RefilledAt, "RefilledAt is the period's start")
	spent = 0
	for range 5 {
		if _, ok, err := s.SpendCredits(t.Context(), acct, 1, refill, day2); err == nil && ok {
			spent++
		}
	}
	check.Equal(t, 3, spent, "a new period refills again")
}

// testConcurrentCredits spends 1 from a balance of 1,000 ten thousand times
// concurrently: exactly 1,000 succeed, and the balance ends at zero.
func testConcurrentCredits(t *testing.T, s apikey.LimitStore) {
	const balance, attempts, workers = 1000, 10000, 16
	acct := apikey.CreditAccount{Owner: "org-concurrent"}
	_, err := s.ChangeCredits(t.Context(), opAt(at(0)), apikey.CreditChange{Account: acct, Set: credits(balance)}, nil)
	must.NoError(t, err, "set")
	var ok, failed, negative atomic.Int64
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= attempts {
				left, spent, err := s.SpendCredits(t.Context(), acct, 1, nil, time.Time{})
				switch {
				case err != nil:
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				case spent:
					ok.Add(1)
				}
				if left < 0 {
					negative.Add(1)
				}
			}
		})
	}
	wg.Wait()
	check.Equal(t, int64(0), failed.Load(), "spendings that failed (the first: %v)", firstErr.Load())
	check.Equal(t, int64(balance), ok.Load(), "spendings that succeeded")
	check.Equal(t, int64(0), negative.Load(), "balances seen below zero")
	b, err := s.Credits(t.Context(), acct)
	must.NoError(t, err, "Credits")
	check.Equal(t, int64(0), b.Remaining, "the final balance")
}
