package storetest

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/apikit/apikey"
)

// mutant is a bug refStore can be given, with the subtests of the suite
// that must catch it.
type mutant struct {
	bug      string
	caughtBy []string
	raceOnly bool // caught only by the race detector
}

// mutants together show that every subtest can fail.
var mutants = []mutant{
	{bug: "desc-as-asc", caughtBy: []string{"SortedListOrders"}},
	{bug: "name-folds-case", caughtBy: []string{"SortedListOrders"}},
	{bug: "working-ignores-grace", caughtBy: []string{"SortedListOrders"}},
	{bug: "expiring-before-inclusive", caughtBy: []string{"SortedListOrders"}},
	{bug: "count-ignores-working", caughtBy: []string{"SortedCount"}},
	{bug: "sorted-cursor-by-key", caughtBy: []string{"SortedListWhileKeysChange"}},
	{bug: "keeps-caller-key", caughtBy: []string{"CopiesOnCreate"}},
	{bug: "returns-stored", caughtBy: []string{"CopiesOnRead"}},
	{bug: "shallow-copy", caughtBy: []string{"CopiesOnCreate", "CopiesOnRead"}},
	{bug: "setgroups-keeps-slice", caughtBy: []string{"CopiesOnCreate"}},
	{bug: "keeps-zone", caughtBy: []string{"TimesAreReturnedInUTC"}},
	{bug: "drops-expiry", caughtBy: []string{"CreateAndGet"}},
	{bug: "sorts-groups", caughtBy: []string{"CreateAndGet", "HostileGroups"}},
	{bug: "trims-names", caughtBy: []string{"HostileNames"}},
	{bug: "groups-comma-joined", caughtBy: []string{"HostileGroups", "ListGroupFilterIsLiteral"}},
	{bug: "create-overwrites", caughtBy: []string{"CreateDuplicateID"}},
	{bug: "duplicate-lookup-id", caughtBy: []string{"CreateDuplicateLookupID"}},
	{bug: "create-check-then-insert", caughtBy: []string{"ConcurrentCreate"}},
	{bug: "delete-keeps-lookup", caughtBy: []string{"Delete", "CreateAfterDelete"}},
	{bug: "update-unknown-nil", caughtBy: []string{"NotFound"}},
	{bug: "not-found-other-error", caughtBy: []string{"NotFound", "Delete"}},
	{bug: "lookup-case-insensitive", caughtBy: []string{"LookupIDIsExact"}},
	{bug: "setname-touches-active", caughtBy: []string{"SetName"}},
	{bug: "setgroups-appends", caughtBy: []string{"SetGroups"}},
	{bug: "setactive-no-updatedat", caughtBy: []string{"SetActive"}},
	{bug: "sethash-updates-updatedat", caughtBy: []string{"SetHash"}},
	{bug: "unchanged-is-notfound", caughtBy: []string{"UpdatesWithUnchangedValues"}},
	{bug: "last-used-backwards", caughtBy: []string{"RecordLastUsed"}},
	{bug: "last-used-unknown-error", caughtBy: []string{"RecordLastUsed"}},
	{bug: "last-used-stale", caughtBy: []string{"ConcurrentRecordLastUsed"}},
	{bug: "rename-stale-write", caughtBy: []string{"ConcurrentUpdates"}},
	{bug: "guard-ignored", caughtBy: []string{"ConditionalChanges", "ConcurrentConditionalChanges"}},
	{bug: "guard-then-change", caughtBy: []string{"ConcurrentConditionalChanges"}},
	{bug: "empty-list-error", caughtBy: []string{"ListEmpty"}},
	{bug: "list-insertion-order", caughtBy: []string{"ListOrder"}},
	{bug: "list-ties-by-insertion", caughtBy: []string{"ListOrder"}},
	{bug: "list-time-as-text", caughtBy: []string{"ListOrder"}},
	{bug: "short-pages", caughtBy: []string{"ListPagination"}},
	{bug: "limit-ignored", caughtBy: []string{"ListPagination"}},
	{bug: "limit-below-one-unlimited", caughtBy: []string{"ListLimitBelowOne"}},
	{bug: "status-ignored", caughtBy: []string{"ListFilters"}},
	{bug: "group-like", caughtBy: []string{"ListGroupFilterIsLiteral"}},
	{bug: "group-fold", caughtBy: []string{"ListGroupFilterIsLiteral"}},
	{bug: "group-substring", caughtBy: []string{"ListGroupFilterIsLiteral"}},
	{bug: "cursor-inclusive", caughtBy: []string{"ListCursorIsStrictlyAfter", "ListPagination"}},
	{bug: "cursor-by-key", caughtBy: []string{"ListCursorIsStrictlyAfter", "ListWhileKeysChange"}},
	{bug: "owner-dropped", caughtBy: []string{"CreateAndGet"}},
	{bug: "metadata-dropped", caughtBy: []string{"CreateAndGet"}},
	{bug: "metadata-shared", caughtBy: []string{"CopiesOnCreate"}},
	{bug: "owner-filter-ignored", caughtBy: []string{"ListOwnerFilter"}},
	{bug: "owner-prefix", caughtBy: []string{"ListOwnerFilter"}},
	{bug: "owner-fold", caughtBy: []string{"ListOwnerFilter", "OwnerGuard"}},
	{bug: "owner-ignored-delete", caughtBy: []string{"OwnerGuard", "ConcurrentOwnerIsolation"}},
	{bug: "owner-ignored-setname", caughtBy: []string{"OwnerGuard", "ConcurrentOwnerIsolation"}},
	{bug: "owner-ignored-setgroups", caughtBy: []string{"OwnerGuard", "ConcurrentOwnerIsolation"}},
	{bug: "owner-ignored-setactive", caughtBy: []string{"OwnerGuard", "ConcurrentOwnerIsolation"}},
	{bug: "owner-conflict-not-notfound", caughtBy: []string{"OwnerGuard"}},
	{bug: "owner-checked-after-groups", caughtBy: []string{"OwnerGuard"}},
	{bug: "quota-ignored", caughtBy: []string{"OwnerQuota", "ConcurrentOwnerQuota"}},
	{bug: "quota-all-owners", caughtBy: []string{"OwnerQuota"}},
	{bug: "quota-refused-stored", caughtBy: []string{"OwnerQuota"}},
	{bug: "quota-check-then-insert", caughtBy: []string{"ConcurrentOwnerQuota"}},
	{bug: "group-status-stale", caughtBy: []string{"ListFiltersAfterChanges"}},
	{bug: "filtered-cursor-by-key", caughtBy: []string{"FilteredListWhileKeysChange"}},
	{bug: "count-ignores-owner", caughtBy: []string{"Count"}},
	{bug: "count-honours-cursor", caughtBy: []string{"Count"}},
	{bug: "name-ignored", caughtBy: []string{"ListNameFilter"}},
	{bug: "name-case-sensitive", caughtBy: []string{"ListNameFilter"}},
	{bug: "name-prefix", caughtBy: []string{"ListNameFilter"}},
	{bug: "name-like", caughtBy: []string{"ListNameFilter"}},
	{bug: "lifecycle-dropped", caughtBy: []string{"LifecycleFields"}},
	{bug: "roll-no-link", caughtBy: []string{"Roll", "RollRefused"}},
	{bug: "roll-grace-ignored", caughtBy: []string{"Roll"}},
	{bug: "roll-guard-ignored", caughtBy: []string{"RollRefused"}},
	{bug: "roll-owner-ignored", caughtBy: []string{"RollRefused"}},
	{bug: "roll-twice", caughtBy: []string{"RollRefused"}},
	{bug: "roll-inactive", caughtBy: []string{"RollRefused"}},
	{bug: "roll-quota-ignored", caughtBy: []string{"RollQuota"}},
	{bug: "roll-partial", caughtBy: []string{"RollRefused"}},
	{bug: "roll-guard-then-change", caughtBy: []string{"ConcurrentRolls"}},
	{bug: "setexpires-no-updatedat", caughtBy: []string{"SetExpiresAt"}},
	{bug: "setexpires-cannot-clear", caughtBy: []string{"SetExpiresAt"}},
	{bug: "setexpires-guard-ignored", caughtBy: []string{"SetExpiresAt"}},
	{bug: "prune-ignores-grace", caughtBy: []string{"Prune"}},
	{bug: "prune-inclusive", caughtBy: []string{"Prune"}},
	{bug: "prune-owner-ignored", caughtBy: []string{"Prune"}},
	{bug: "prune-dry-run-deletes", caughtBy: []string{"Prune"}},
	{bug: "prune-limit-ignored", caughtBy: []string{"Prune"}},
	{bug: "prune-after-ignored", caughtBy: []string{"Prune"}},
	{bug: "event-dropped", caughtBy: []string{"EventsOfEveryChange", "EventsQuery", "ConcurrentEvents"}},
	{bug: "event-duplicated", caughtBy: []string{"EventsOfEveryChange"}},
	{bug: "event-on-refused", caughtBy: []string{"EventsOfRefusedChanges"}},
	{bug: "event-old-is-new", caughtBy: []string{"EventsOfEveryChange", "EventsQuery"}},
	{bug: "event-actor-dropped", caughtBy: []string{"EventsOfEveryChange", "EventsOutliveKey", "EventsNamedChange"}},
	{bug: "event-reason-dropped", caughtBy: []string{"EventsNamedChange"}},
	{bug: "event-time-from-clock", caughtBy: []string{"EventsOfEveryChange", "PruneEvents"}},
	{bug: "sethash-event", caughtBy: []string{"EventsOfEveryChange"}},
	{bug: "events-die-with-key", caughtBy: []string{"EventsOutliveKey"}},
	{bug: "events-owner-ignored", caughtBy: []string{"EventsQuery"}},
	{bug: "events-key-ignored", caughtBy: []string{"EventsQuery"}},
	{bug: "events-since-ignored", caughtBy: []string{"EventsQuery"}},
	{bug: "events-after-inclusive", caughtBy: []string{"EventsQuery", "EventsOfEveryChange"}},
	{bug: "events-newest-first", caughtBy: []string{"EventsOfEveryChange", "EventsQuery"}},
	{bug: "events-limit-ignored", caughtBy: []string{"EventsQuery"}},
	{bug: "position-outside-lock", caughtBy: []string{"ConcurrentEvents"}},
	{bug: "prune-events-inclusive", caughtBy: []string{"PruneEvents"}},
	{bug: "prune-events-limit-ignored", caughtBy: []string{"PruneEvents"}},
	{bug: "prune-events-resets-position", caughtBy: []string{"PruneEvents"}},
	{bug: "updatedat-own-clock", caughtBy: []string{"OneTimePerChange"}},
	{bug: "events-newest-ignored", caughtBy: []string{"EventsNewestFirst"}},
	{bug: "events-before-inclusive", caughtBy: []string{"EventsNewestFirst"}},
	{bug: "events-kind-ignored", caughtBy: []string{"EventsByKindAndActor"}},
	{bug: "events-actor-ignored", caughtBy: []string{"EventsByKindAndActor"}},
	{bug: "owner-seq-store-wide", caughtBy: []string{"EventsOwnerSequence"}},
	{bug: "limits-dropped", caughtBy: []string{"LimitsFields"}},
	{bug: "setlimits-guard-ignored", caughtBy: []string{"SetLimits"}},
	{bug: "credits-subtract-below-zero", caughtBy: []string{"ChangeCredits"}},
	{bug: "credits-change-no-event", caughtBy: []string{"ChangeCredits"}},
	{bug: "credits-go-negative", caughtBy: []string{"SpendCredits", "ConcurrentCredits"}},
	{bug: "credits-refill-ignored", caughtBy: []string{"CreditsRefill"}},
	{bug: "credits-check-then-spend", caughtBy: []string{"ConcurrentCredits"}},
	{bug: "usage-batch-twice", caughtBy: []string{"UsageBatchAppliedOnce", "ConcurrentUsageFlushes"}},
	{bug: "usage-overwrites", caughtBy: []string{"UsageRecordAndRead", "UsageBatchAppliedOnce", "ConcurrentUsageFlushes"}},
	{bug: "usage-stale-add", caughtBy: []string{"ConcurrentUsageFlushes"}},
	{bug: "usage-to-inclusive", caughtBy: []string{"UsageRecordAndRead", "BusiestKeys"}},
	{bug: "usage-owner-prefix", caughtBy: []string{"UsageOwnerIsolation"}},
	{bug: "busiest-by-verified", caughtBy: []string{"BusiestKeys"}},
	{bug: "busiest-limit-ignored", caughtBy: []string{"BusiestKeys"}},
	{bug: "prune-usage-inclusive", caughtBy: []string{"PruneUsage"}},
	{bug: "prune-usage-keeps-batches", caughtBy: []string{"PruneUsage"}},
	{bug: "list-unlocked", caughtBy: []string{"ListDuringConcurrentWrites"}, raceOnly: true},
}

// mutantEnv names the environment variable that makes TestMutant run the
// suite against refStore with the named bug.
const mutantEnv = "STORETEST_MUTANT"

// TestReferenceStore checks that refStore without a bug passes, so that a
// mutant's failures come from its bug.
func TestReferenceStore(t *testing.T) {
	Run(t, func(*testing.T) apikey.Store { return &refStore{} })
}

// TestMutant runs the suite against a mutant, in the child processes that
// TestMutantsAreCaught starts.
func TestMutant(t *testing.T) {
	bug := os.Getenv(mutantEnv)
	if bug == "" {
		t.Skip("run by TestMutantsAreCaught")
	}
	if !slices.ContainsFunc(mutants, func(m mutant) bool { return m.bug == bug }) {
		t.Fatalf("unknown mutant %q", bug)
	}
	Run(t, func(*testing.T) apikey.Store { return &refStore{bug: bug} })
}

// TestMutantsAreCaught runs the subtests that must catch each mutant, in a
// child process, and checks that each of them fails. Bugs of concurrency are
// caught by chance, so a mutant gets three tries.
func TestMutantsAreCaught(t *testing.T) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("in a child process")
	}
	if testing.Short() {
		t.Skip("starts a process per mutant")
	}
	caught := make(map[string]bool)
	for _, m := range mutants {
		for _, name := range m.caughtBy {
			caught[name] = true
		}
	}
	for _, test := range suite() {
		if !caught[test.name] {
			t.Errorf("no mutant shows that subtest %s can fail", test.name)
		}
	}

	for _, m := range mutants {
		t.Run(m.bug, func(t *testing.T) {
			t.Parallel() // each mutant runs in its own process
			if m.raceOnly && !raceEnabled {
				t.Skip("caught by the race detector only: run with -race")
			}
			pattern := "^TestMutant$/^(" + strings.Join(m.caughtBy, "|") + ")$"
			var (
				out    []byte
				missed []string
			)
			for range 3 {
				cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run="+pattern, "-test.count=1", "-test.timeout=5m")
				cmd.Env = append(os.Environ(), mutantEnv+"="+m.bug)
				var err error
				out, err = cmd.CombinedOutput()
				missed = missed[:0]
				for _, name := range m.caughtBy {
					if !strings.Contains(string(out), "--- FAIL: TestMutant/"+name+" (") {
						missed = append(missed, name)
					}
				}
				if err != nil && len(missed) == 0 {
					return
				}
			}
			t.Errorf("mutant %s passed %v:\n%s", m.bug, missed, out)
		})
	}
}
