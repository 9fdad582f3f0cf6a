// Package storetest is the conformance suite for [apikey.Store]: every
// store, ours or yours, must pass it.
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) apikey.Store {
//			s := mystore.New(...)
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite checks every contract written on [apikey.Store] and
// [apikey.ListQuery]: round trips of every field, the sentinel errors, that
// a store keeps and hands out copies, that hostile names and groups are
// stored verbatim and matched literally, that each update changes one field
// atomically, that last-used times never move backwards, and that paging
// through List visits every key exactly once while keys come and go; and,
// for a store that implements [apikey.LifecycleStore], that a roll is
// atomic and guarded, and that pruning deletes exactly the keys that
// stopped working before the cut-off (a store without it skips those
// subtests); and, for a store that implements [apikey.EventStore], that
// every change records exactly one event atomically with it (none for a
// refused change), that events outlive their key, are read by owner, key,
// time and position, are pruned by age, and that a follower reading after
// its last position never misses one under concurrent writes; and, for a
// store that implements [apikey.UsageStore], that usage counts add up
// under concurrent flushes, that a batch applied twice counts once, that
// owners are isolated and that pruning deletes exactly the old rows. Run it
// with -race: several tests call the store from many goroutines.
//
// It does not test context cancellation, which a store may ignore when it
// never blocks (package memstore does); a store that honours it should test
// that itself.
package storetest

import (
	"testing"

	"github.com/apikit/apikey"
)

// Run runs the conformance suite against the stores made by newStore. Each
// subtest calls newStore with its own *testing.T and expects a new, empty
// store; newStore should register any cleanup with t.Cleanup.
//
// Subtests run one after another, never in parallel, so newStore may hand
// out the same database each time after emptying it.
func Run(t *testing.T, newStore func(t *testing.T) apikey.Store) {
	t.Helper()
	for _, test := range suite() {
		t.Run(test.name, func(t *testing.T) {
			s := newStore(t)
			must.NotNil(t, s, "newStore returned nil")
			keys, err := s.List(t.Context(), apikey.ListQuery{Limit: 1})
			must.NoError(t, err, "List on a new store")
			must.Empty(t, keys, "newStore must return an empty store")
			test.run(t, s)
		})
	}
}

// subtest is one test of the suite, run against a new, empty store.
type subtest struct {
	name string
	run  func(t *testing.T, s apikey.Store)
}

// suite lists the subtests in the order Run runs them.
func suite() []subtest {
	return append([]subtest{
		// Create, Get, GetByLookupID: create.go
		{"CreateAndGet", testCreateAndGet},
		{"TimesAreReturnedInUTC", testTimesAreReturnedInUTC},
		{"CreateDuplicateID", testCreateDuplicateID},
		{"CreateDuplicateLookupID", testCreateDuplicateLookupID},
		{"CreateAfterDelete", testCreateAfterDelete},
		{"NotFound", testNotFound},
		{"LookupIDIsExact", testLookupIDIsExact},
		{"CopiesOnCreate", testCopiesOnCreate},
		{"CopiesOnRead", testCopiesOnRead},
		{"HostileNames", testHostileNames},
		{"HostileGroups", testHostileGroups},

		// Updates and Delete: update.go
		{"SetName", testSetName},
		{"SetGroups", testSetGroups},
		{"SetActive", testSetActive},
		{"SetHash", testSetHash},
		{"UpdatesWithUnchangedValues", testUpdatesWithUnchangedValues},
		{"Delete", testDelete},
		{"ConditionalChanges", testConditionalChanges},
		{"RecordLastUsed", testRecordLastUsed},

		// List: list.go
		{"ListEmpty", testListEmpty},
		{"ListOrder", testListOrder},
		{"ListPagination", testListPagination},
		{"ListLimitBelowOne", testListLimitBelowOne},
		{"ListFilters", testListFilters},
		{"ListGroupFilterIsLiteral", testListGroupFilterIsLiteral},
		{"ListNameFilter", testListNameFilter},
		{"ListCursorIsStrictlyAfter", testListCursorIsStrictlyAfter},
		{"ListWhileKeysChange", testListWhileKeysChange},
		{"FilteredListWhileKeysChange", testFilteredListWhileKeysChange},
		{"ListFiltersAfterChanges", testListFiltersAfterChanges},
		{"Count", testCount},

		// SortedLister, for stores that implement it: sorted.go
		{"SortedListOrders", sorted(testSortedListOrders)},
		{"SortedCount", sorted(testSortedCount)},
		{"SortedListWhileKeysChange", sorted(testSortedListWhileKeysChange)},

		// Owners: owner.go
		{"ListOwnerFilter", testListOwnerFilter},
		{"OwnerGuard", testOwnerGuard},
		{"OwnerQuota", testOwnerQuota},
		{"ConcurrentOwnerIsolation", testConcurrentOwnerIsolation},
		{"ConcurrentOwnerQuota", testConcurrentOwnerQuota},

		// LifecycleStore, for stores that implement it: lifecycle.go
		{"LifecycleFields", lifecycle(testLifecycleFields)},
		{"Roll", lifecycle(testRoll)},
		{"RollRefused", lifecycle(testRollRefused)},
		{"RollQuota", lifecycle(testRollQuota)},
		{"SetExpiresAt", lifecycle(testSetExpiresAt)},
		{"Prune", lifecycle(testPrune)},
		{"ConcurrentRolls", lifecycle(testConcurrentRolls)},

		// EventStore, for stores that implement it: events.go
		{"EventsOfEveryChange", events(testEventsOfEveryChange)},
		{"EventsOfRefusedChanges", events(testEventsOfRefusedChanges)},
		{"EventsOutliveKey", events(testEventsOutliveKey)},
		{"EventsNamedChange", events(testEventsNamedChange)},
		{"EventsQuery", events(testEventsQuery)},
		{"EventsNewestFirst", events(testEventsNewestFirst)},
		{"EventsByKindAndActor", events(testEventsByKindAndActor)},
		{"EventsOwnerSequence", events(testEventsOwnerSequence)},
		{"OneTimePerChange", events(testOneTimePerChange)},
		{"PruneEvents", events(testPruneEvents)},
		{"ConcurrentEvents", events(testConcurrentEvents)},

		// UsageStore, for stores that implement it: usage.go
		{"UsageRecordAndRead", usage(testUsageRecordAndRead)},
		{"UsageBatchAppliedOnce", usage(testUsageBatchAppliedOnce)},
		{"ConcurrentUsageFlushes", usage(testConcurrentUsageFlushes)},
		{"UsageOwnerIsolation", usage(testUsageOwnerIsolation)},
		{"BusiestKeys", usage(testBusiestKeys)},
		{"PruneUsage", usage(testPruneUsage)},

		// Many goroutines at once: concurrency.go
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ConcurrentConditionalChanges", testConcurrentConditionalChanges},
		{"ConcurrentRecordLastUsed", testConcurrentRecordLastUsed},
		{"ConcurrentCreate", testConcurrentCreate},
		{"ListDuringConcurrentWrites", testListDuringConcurrentWrites},
	}, limitSubtests()...)
}
