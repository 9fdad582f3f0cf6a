package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// Goroutines in these tests report failures with assert, never require:
// FailNow may only be called from the test's own goroutine.

// testConcurrentUpdates changes the name, groups, hash and last-used time of
// a key from many goroutines while another flips its status. Each update
// changes its own field: a rename written from a stale copy of the key
// would undo the status change.
func testConcurrentUpdates(t *testing.T, s apikey.Store) {
	const (
		rounds      = 6
		renamers    = 8
		renamesEach = 10
	)
	k := keyWithEverything(at(0))
	create(t, s, k.Clone())
	ctx := t.Context()

	for round := range rounds {
		active := round%2 == 1 // the status this round's flip sets
		must.NoError(t, s.SetActive(ctx, opAt(at(time.Duration(round)*time.Hour)), k.ID, !active, nil), "SetActive")
		when := func(i int) time.Time {
			return at(time.Duration(round)*time.Hour + time.Duration(i+1)*time.Millisecond)
		}

		var (
			wg      sync.WaitGroup
			renamed atomic.Int64
			mu      sync.Mutex
			names   []string
			groups  [][]string
			hashes  []string
			maxUsed time.Time
		)
		if used := get(t, s, k.ID).LastUsedAt; used != nil {
			maxUsed = *used
		}
		start := make(chan struct{})
		for g := range renamers {
			wg.Go(func() {
				<-start
				for i := range renamesEach {
					name := fmt.Sprintf("round %d renamer %d rename %d", round, g, i)
					mu.Lock()
					names = append(names, name)
					mu.Unlock()
					check.NoError(t, s.SetName(ctx, opAt(when(i)), k.ID, name, nil), "SetName")
					renamed.Add(1)
				}
			})
		}
		wg.Go(func() {
			<-start
			for i := range renamesEach {
				gs := []string{fmt.Sprintf("g%d-%d", round, i), "read"}
				mu.Lock()
				groups = append(groups, gs)
				mu.Unlock()
				check.NoError(t, s.SetGroups(ctx, opAt(when(i)), k.ID, gs, nil), "SetGroups")
			}
		})
		wg.Go(func() {
			<-start
			for i := range renamesEach {
				hash := fmt.Sprintf("$sha256$round%dhash%d", round, i)
				mu.Lock()
				hashes = append(hashes, hash)
				mu.Unlock()
				check.NoError(t, s.SetHash(ctx, k.ID, hash), "SetHash")
			}
		})
		wg.Go(func() {
			<-start
			for range renamesEach {
				used := at(time.Duration(round)*time.Hour + time.Duration(rand.IntN(1e6))*time.Microsecond)
				mu.Lock()
				if used.After(maxUsed) {
					maxUsed = used
				}
				mu.Unlock()
				check.NoError(t, s.RecordLastUsed(ctx, map[uuid.UUID]time.Time{k.ID: used}), "RecordLastUsed")
			}
		})
		wg.Go(func() {
			<-start
			// Flip the status once the renames are under way.
			for renamed.Load() < renamers {
				runtime.Gosched()
			}
			check.NoError(t, s.SetActive(ctx, opAt(when(renamesEach)), k.ID, active, nil), "SetActive")
		})
		close(start)
		wg.Wait()

		got := get(t, s, k.ID)
		check.Equal(t, active, got.Active, "round %d: Active after SetActive(%t) during concurrent updates of other fields", round, active)
		check.Contains(t, names, got.Name, "round %d: Name", round)
		check.Contains(t, groups, got.Groups, "round %d: Groups", round)
		check.Contains(t, hashes, got.Hash, "round %d: Hash", round)
		assertTimePtr(t, &maxUsed, got.LastUsedAt, "round %d: LastUsedAt after concurrent RecordLastUsed", round)
		// The fields nobody changed are untouched.
		want := k.Clone()
		want.Name, want.Groups, want.Active, want.Hash = got.Name, got.Groups, got.Active, got.Hash
		want.UpdatedAt, want.LastUsedAt = got.UpdatedAt, got.LastUsedAt
		assertKey(t, want, got, "round %d", round)
		if t.Failed() {
			return
		}
	}
}

// testConcurrentRecordLastUsed records random times for overlapping sets of
// keys from many goroutines, round after round: each key must end every
// round with the latest time given. A store that compares with a time it
// read before another goroutine wrote a later one loses that later time.
func testConcurrentRecordLastUsed(t *testing.T, s apikey.Store) {
	const (
		rounds  = 8
		workers = 8
		calls   = 10
	)
	keys := createKeys(t, s, at(0), at(time.Second), at(2*time.Second))
	for round := range rounds {
		maxes := make([]map[uuid.UUID]time.Time, workers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range workers {
			maxes[w] = make(map[uuid.UUID]time.Time)
			wg.Go(func() {
				<-start
				for c := range calls {
					uses := make(map[uuid.UUID]time.Time)
					for i, k := range keys {
						if i == c%len(keys) || rand.IntN(2) == 0 {
							used := at(time.Duration(round+1)*time.Hour + time.Duration(rand.IntN(1e9))*time.Microsecond)
							uses[k.ID] = used
							if used.After(maxes[w][k.ID]) {
								maxes[w][k.ID] = used
							}
						}
					}
					check.NoError(t, s.RecordLastUsed(t.Context(), uses), "RecordLastUsed")
				}
			})
		}
		close(start)
		wg.Wait()

		for _, k := range keys {
			var want time.Time
			for _, m := range maxes {
				if m[k.ID].After(want) {
					want = m[k.ID]
				}
			}
			must.False(t, want.IsZero(), "no use recorded for a key")
			k.LastUsedAt = &want
			if !assertStored(t, s, k) {
				t.Fatalf("round %d: the latest time was lost", round)
			}
		}
	}
}

// testConcurrentCreate creates keys from many goroutines: of keys sharing an
// ID or a lookup ID exactly one is stored and the others get ErrDuplicate,
// and distinct keys are all stored.
func testConcurrentCreate(t *testing.T, s apikey.Store) {
	const workers = 8

	// raceCreate creates keys[i] from goroutine i, all at once, and returns
	// the index of the one that was stored.
	raceCreate := func(t *testing.T, keys []*apikey.Key) int {
		t.Helper()
		errs := make([]error, len(keys))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, k := range keys {
			wg.Go(func() {
				<-start
				errs[i] = s.Create(t.Context(), creation(k.Clone()), k.Clone(), 0)
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			if err == nil {
				must.Equal(t, -1, winner, "two of the keys were created")
				winner = i
			} else {
				check.ErrorIs(t, err, apikey.ErrDuplicate, "Create %d", i)
			}
		}
		must.NotEqual(t, -1, winner, "none of the keys was created")
		return winner
	}

	t.Run("SameLookupID", func(t *testing.T) {
		keys := make([]*apikey.Key, workers)
		for i := range keys {
			keys[i] = newKey(at(time.Duration(i) * time.Second))
			keys[i].LookupID = keys[0].LookupID
		}
		winner := raceCreate(t, keys)
		got, err := s.GetByLookupID(t.Context(), keys[0].LookupID)
		must.NoError(t, err, "GetByLookupID")
		assertKey(t, keys[winner], got, "GetByLookupID")
		for i, k := range keys {
			if i != winner {
				_, err := s.Get(t.Context(), k.ID)
				check.ErrorIs(t, err, apikey.ErrNotFound, "Get of a refused key")
			}
		}
	})

	t.Run("SameID", func(t *testing.T) {
		keys := make([]*apikey.Key, workers)
		for i := range keys {
			keys[i] = newKey(at(time.Hour + time.Duration(i)*time.Second))
			keys[i].ID = keys[0].ID
		}
		winner := raceCreate(t, keys)
		assertStored(t, s, keys[winner])
		for i, k := range keys {
			if i != winner {
				_, err := s.GetByLookupID(t.Context(), k.LookupID)
				check.ErrorIs(t, err, apikey.ErrNotFound, "GetByLookupID of a refused key")
			}
		}
	})

	t.Run("Distinct", func(t *testing.T) {
		before, err := s.List(t.Context(), apikey.ListQuery{Limit: 1000})
		must.NoError(t, err, "List")
		const each = 10
		created := make([][]*apikey.Key, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					k := newKey(at(2*time.Hour + time.Duration(i)*time.Second)) // ties across workers
					check.NoError(t, s.Create(t.Context(), creation(k.Clone()), k.Clone(), 0), "Create")
					created[w] = append(created[w], k)
				}
			})
		}
		wg.Wait()
		want := slices.Concat(append(created, before)...)
		got, err := s.List(t.Context(), apikey.ListQuery{Limit: 1000})
		must.NoError(t, err, "List")
		check.Equal(t, ids(inListOrder(want)), ids(got), "List after concurrent creates")
	})
}

// testListDuringConcurrentWrites pages through List while another goroutine
// creates and deletes keys. Every key that exists throughout must be listed
// exactly once, in order.
func testListDuringConcurrentWrites(t *testing.T, s apikey.Store) {
	const initial = 60
	var stable, victims []*apikey.Key
	for i := range initial {
		k := newKey(at(time.Duration(i/3) * time.Second))
		create(t, s, k.Clone())
		if i%4 == 0 {
			victims = append(victims, k)
		} else {
			stable = append(stable, k)
		}
	}

	rand.Shuffle(len(victims), func(i, j int) { victims[i], victims[j] = victims[j], victims[i] })

	// The churning goroutine counts its operations, and the pager waits for
	// a few between pages, so that changes land between pages even when
	// the store is much faster than the scheduler.
	var (
		stop      = make(chan struct{})
		churn     sync.WaitGroup
		churnOps  atomic.Int64
		churnDone atomic.Bool
	)
	churn.Go(func() {
		defer churnDone.Store(true)
		var mine []uuid.UUID
		for op := 0; op < 2000; op++ {
			select {
			case <-stop:
				return
			default:
			}
			switch {
			case op%3 == 2 && len(victims) > 0:
				check.NoError(t, s.Delete(t.Context(), opAt(time.Now()), victims[0].ID, nil), "Delete")
				victims = victims[1:]
			case op%3 == 1 && len(mine) > 0:
				i := rand.IntN(len(mine))
				check.NoError(t, s.Delete(t.Context(), opAt(time.Now()), mine[i], nil), "Delete")
				mine = slices.Delete(mine, i, i+1)
			default:
				k := newKey(at(time.Duration(rand.IntN(30e6)-5e6) * time.Microsecond))
				check.NoError(t, s.Create(t.Context(), creation(k), k, 0), "Create")
				mine = append(mine, k.ID)
			}
			churnOps.Add(1)
		}
	})

	seen := make(map[uuid.UUID]int)
	var listed []*apikey.Key
	q := apikey.ListQuery{Limit: 3}
	for pages := 0; ; pages++ {
		if !check.Less(t, pages, 2000, "List does not end") {
			break
		}
		page, err := s.List(t.Context(), q)
		if !check.NoError(t, err, "List") || len(page) == 0 {
			break
		}
		for _, k := range page {
			seen[k.ID]++
		}
		listed = append(listed, page...)
		q.After = cursorOf(page[len(page)-1])
		for next := churnOps.Load() + 3; churnOps.Load() < next && !churnDone.Load(); {
			runtime.Gosched()
		}
	}
	close(stop)
	churn.Wait()

	for _, k := range stable {
		check.Equal(t, 1, seen[k.ID], "times key %s (created at %s), which existed throughout, was listed",
			k.ID, k.CreatedAt.Format(time.RFC3339Nano))
	}
	assertStrictlyIncreasing(t, listed)
}

// testConcurrentConditionalChanges starts several conditional SetGroups on
// one key at once, all expecting its current groups: the first to change
// them makes every other one stale, so exactly one succeeds and the others
// get ErrConflict. A store that checks ifGroups apart from the change lets
// several through.
func testConcurrentConditionalChanges(t *testing.T, s apikey.Store) {
	const (
		rounds  = 10
		writers = 8
	)
	k := newKey(at(0))
	k.Groups = []string{"x"}
	create(t, s, k.Clone())
	ctx := t.Context()
	for round := range rounds {
		must.NoError(t, s.SetGroups(ctx, opAt(at(time.Duration(round)*time.Hour)), k.ID, []string{"x"}, nil), "reset the groups")
		var (
			wg        sync.WaitGroup
			succeeded atomic.Int64
			winner    atomic.Value
		)
		start := make(chan struct{})
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				groups := []string{"x", fmt.Sprintf("w%d", w)}
				err := s.SetGroups(ctx, opAt(at(time.Duration(round)*time.Hour+time.Minute)), k.ID, groups, ifGroups([]string{"x"}))
				switch {
				case err == nil:
					succeeded.Add(1)
					winner.Store(groups)
				case !errors.Is(err, apikey.ErrConflict):
					t.Errorf("round %d: conditional SetGroups: %v, want nil or ErrConflict", round, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		must.Equal(t, int64(1), succeeded.Load(), "round %d: conditional changes that expected the same groups and succeeded", round)
		check.Equal(t, winner.Load(), get(t, s, k.ID).Groups, "round %d: the stored groups are the one winner's", round)
	}
}
