package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// usage runs a subtest on a store that implements apikey.UsageStore, and
// skips it on any other.
func usage(test func(t *testing.T, s apikey.UsageStore)) func(t *testing.T, s apikey.Store) {
	return func(t *testing.T, s apikey.Store) {
		us, ok := s.(apikey.UsageStore)
		if !ok {
			t.Skipf("%T is not an apikey.UsageStore", s)
		}
		test(t, us)
	}
}

// usageHour is the first hour of the usage tests.
var usageHour = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// hourAt returns the start of the i-th hour after usageHour.
func hourAt(i int) time.Time { return usageHour.Add(time.Duration(i) * time.Hour) }

// newBatch returns a batch with a new ID and rows sorted as the Manager
// sorts them.
func newBatch(at time.Time, rows ...apikey.UsageRow) apikey.UsageBatch {
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b apikey.UsageRow) int {
		if c := bytes.Compare(a.KeyID[:], b.KeyID[:]); c != 0 {
			return c
		}
		if c := a.Hour.Compare(b.Hour); c != 0 {
			return c
		}
		return bytes.Compare([]byte(a.Outcome), []byte(b.Outcome))
	})
	return apikey.UsageBatch{ID: uuid.New(), AppliedAt: at, Rows: rows}
}

func row(id uuid.UUID, owner string, hour int, o apikey.UsageOutcome, n int64) apikey.UsageRow {
	return apikey.UsageRow{KeyID: id, Owner: owner, Hour: hourAt(hour), Outcome: o, Count: n}
}

// usageCounts reads f's rows as "hour outcome" -> count, zero counts left
// out.
func usageCounts(t *testing.T, s apikey.UsageStore, f apikey.UsageFilter) map[string]int64 {
	t.Helper()
	rows, err := s.ReadUsage(t.Context(), f)
	must.NoError(t, err, "ReadUsage(%+v)", f)
	got := make(map[string]int64)
	for _, r := range rows {
		check.Equal(t, time.UTC, r.Hour.Location(), "hours are in UTC")
		if f.KeyID != uuid.Nil {
			check.Equal(t, f.KeyID, r.KeyID, "a key's row")
		}
		if r.Count == 0 {
			continue
		}
		k := fmt.Sprintf("%s %s", r.Hour.UTC().Format("15h"), r.Outcome)
		if _, dup := got[k]; dup {
			check.Fail(t, "ReadUsage returned "+k+" twice")
		}
		got[k] = r.Count
	}
	return got
}

func testUsageRecordAndRead(t *testing.T, s apikey.UsageStore) {
	ctx := t.Context()
	a, b := uuid.New(), uuid.New()
	must.NoError(t, s.RecordUsage(ctx, newBatch(hourAt(1),
		row(a, "org-1", 0, apikey.UsageVerified, 5),
		row(a, "org-1", 0, apikey.UsageExpired, 1),
		row(a, "org-1", 1, apikey.UsageVerified, 2),
		row(a, "org-1", 3, apikey.UsageVerified, 9),
		row(b, "org-1", 1, apikey.UsageMissingScope, 4),
	)), "RecordUsage")
	must.NoError(t, s.RecordUsage(ctx, newBatch(hourAt(2),
		row(a, "org-1", 0, apikey.UsageVerified, 3),
		row(a, "org-1", 1, apikey.UsageVerified, -1), // a use moved to a refusal
		row(a, "org-1", 1, apikey.UsageRateLimited, 1),
	)), "RecordUsage adds to existing rows")

	got := usageCounts(t, s, apikey.UsageFilter{KeyID: a, From: hourAt(0), To: hourAt(3)})
	check.Equal(t, map[string]int64{"10h verified": 8, "10h expired": 1, "11h verified": 1, "11h rate_limited": 1}, got,
		"counts add up; From is inclusive, To exclusive")
	rows, err := s.ReadUsage(ctx, apikey.UsageFilter{KeyID: a, From: hourAt(0), To: hourAt(1)})
	must.NoError(t, err)
	for _, r := range rows {
		check.Equal(t, "org-1", r.Owner, "a key's row carries its owner")
	}
	got = usageCounts(t, s, apikey.UsageFilter{KeyID: a, From: hourAt(1), To: hourAt(4)})
	check.Equal(t, map[string]int64{"11h verified": 1, "11h rate_limited": 1, "13h verified": 9}, got)
	got = usageCounts(t, s, apikey.UsageFilter{Owner: "org-1", From: hourAt(0), To: hourAt(2)})
	check.Equal(t, map[string]int64{"10h verified": 8, "10h expired": 1, "11h verified": 1, "11h rate_limited": 1, "11h missing_scope": 4}, got,
		"an owner's rows are summed over its keys")
	got = usageCounts(t, s, apikey.UsageFilter{KeyID: uuid.New(), From: hourAt(0), To: hourAt(9)})
	check.Empty(t, got, "a key without usage")
	must.NoError(t, s.RecordUsage(ctx, apikey.UsageBatch{ID: uuid.New(), AppliedAt: hourAt(2)}), "an empty batch")
}

func testUsageBatchAppliedOnce(t *testing.T, s apikey.UsageStore) {
	ctx := t.Context()
	a := uuid.New()
	batch := newBatch(hourAt(1), row(a, "org-1", 0, apikey.UsageVerified, 7), row(a, "org-1", 0, apikey.UsageInactive, 2))
	must.NoError(t, s.RecordUsage(ctx, batch))
	must.NoError(t, s.RecordUsage(ctx, batch), "a retried batch is no error")
	other := batch
	other.ID = uuid.New()
	other.Rows = []apikey.UsageRow{row(a, "org-1", 0, apikey.UsageVerified, 1)}
	must.NoError(t, s.RecordUsage(ctx, other))
	must.NoError(t, s.RecordUsage(ctx, batch), "retried again after another batch")
	got := usageCounts(t, s, apikey.UsageFilter{KeyID: a, From: hourAt(0), To: hourAt(1)})
	check.Equal(t, map[string]int64{"10h verified": 8, "10h inactive": 2}, got, "a batch applied twice counts once")
}

// testConcurrentUsageFlushes flushes from two writers at once, as two
// Managers do, batches that touch the same rows: every count adds up, and
// a batch retried by its writer counts once.
func testConcurrentUsageFlushes(t *testing.T, s apikey.UsageStore) {
	ctx := t.Context()
	const (
		writers = 2
		batches = 20
		keys    = 5
	)
	ids := make([]uuid.UUID, keys)
	for i := range ids {
		ids[i] = uuid.New()
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches*2)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range batches {
				var rows []apikey.UsageRow
				for _, id := range ids {
					rows = append(rows, row(id, "org-1", i%2, apikey.UsageVerified, 1), row(id, "org-1", i%2, apikey.UsageExpired, int64(w+1)))
				}
				b := newBatch(hourAt(2), rows...)
				errs <- s.RecordUsage(ctx, b)
				if i%5 == 0 {
					errs <- s.RecordUsage(ctx, b) // a retry
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must.NoError(t, err, "concurrent RecordUsage")
	}
	for _, id := range ids {
		got := usageCounts(t, s, apikey.UsageFilter{KeyID: id, From: hourAt(0), To: hourAt(2)})
		check.Equal(t, map[string]int64{
			"10h verified": writers * batches / 2, "10h expired": 3 * batches / 2,
			"11h verified": writers * batches / 2, "11h expired": 3 * batches / 2,
		}, got, "key %s", id)
	}
	got := usageCounts(t, s, apikey.UsageFilter{Owner: "org-1", From: hourAt(0), To: hourAt(2)})
	check.Equal(t, map[string]int64{
		"10h verified": keys * writers * batches / 2, "10h expired": keys * 3 * batches / 2,
		"11h verified": keys * writers * batches / 2, "11h expired": keys * 3 * batches / 2,
	}, got, "owner totals")
}

func testUsageOwnerIsolation(t *testing.T, s apikey.UsageStore) {
	ctx := t.Context()
	a, b := uuid.New(), uuid.New()
	must.NoError(t, s.RecordUsage(ctx, newBatch(hourAt(1),
		row(a, "org-1", 0, apikey.UsageVerified, 5),
		row(b, "org-1x", 0, apikey.UsageVerified, 50),
		row(b, "org-1x", 0, apikey.UsageExpired, 3),
	)))
	got := usageCounts(t, s, apikey.UsageFilter{Owner: "org-1", From: hourAt(0), To: hourAt(1)})
	check.Equal(t, map[string]int64{"10h verified": 5}, got, "no other owner's uses, not even of an owner it is a prefix of")
	got = usageCounts(t, s, apikey.UsageFilter{Owner: "ORG-1", From: hourAt(0), To: hourAt(1)})
	check.Empty(t, got, "owners compare byte for byte")
	busiest, err := s.BusiestKeys(ctx, apikey.UsageFilter{Owner: "org-1", From: hourAt(0), To: hourAt(1)}, 10)
	must.NoError(t, err)
	check.Equal(t, []apikey.KeyUsage{{KeyID: a, Verified: 5}}, busiest, "no other owner's keys")
}

func testBusiestKeys(t *testing.T, s apikey.UsageStore) {
	ctx := t.Context()
	ids := make([]uuid.UUID, 4)
	for i := range ids {
		ids[i] = uuid.New()
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	must.NoError(t, s.RecordUsage(ctx, newBatch(hourAt(5),
		row(ids[0], "org-1", 0, apikey.UsageVerified, 1),
		row(ids[1], "org-1", 0, apikey.UsageVerified, 3),
		row(ids[1], "org-1", 1, apikey.UsageInactive, 4),
		row(ids[2], "org-1", 1, apikey.UsageVerified, 7),
		row(ids[3], "org-1", 1, apikey.UsageVerified, 2),
		row(ids[3], "org-1", 4, apikey.UsageVerified, 100), // out of range
	)))
	f := apikey.UsageFilter{Owner: "org-1", From: hourAt(0), To: hourAt(4)}
	busiest, err := s.BusiestKeys(ctx, f, 10)
	must.NoError(t, err)
	check.Equal(t, []apikey.KeyUsage{
		{KeyID: ids[1], Verified: 3, Refused: 4},
		{KeyID: ids[2], Verified: 7},
		{KeyID: ids[3], Verified: 2},
		{KeyID: ids[0], Verified: 1},
	}, busiest, "the most used first by every outcome, ties by ID, in range only")
	busiest, err = s.BusiestKeys(ctx, f, 2)
	must.NoError(t, err)
	check.Len(t, busiest, 2, "limit")
	busiest, err = s.BusiestKeys(ctx, f, 0)
	must.NoError(t, err)
	check.Len(t, busiest, 1, "a limit below 1 is 1")
	busiest, err = s.BusiestKeys(ctx, apikey.UsageFilter{Owner: "org-2", From: hourAt(0), To: hourAt(4)}, 10)
	must.NoError(t, err)
	check.Empty(t, busiest)
}

func testPruneUsage(t *testing.T, s apikey.UsageStore) {
	ctx := t.Context()
	a := uuid.New()
	old := newBatch(hourAt(0), row(a, "org-1", 0, apikey.UsageVerified, 1), row(a, "org-1", 1, apikey.UsageVerified, 2), row(a, "org-1", 1, apikey.UsageExpired, 1))
	recent := newBatch(hourAt(3), row(a, "org-1", 2, apikey.UsageVerified, 4))
	must.NoError(t, s.RecordUsage(ctx, old))
	must.NoError(t, s.RecordUsage(ctx, recent))
	n, err := s.PruneUsage(ctx, hourAt(2), 2)
	must.NoError(t, err)
	check.Equal(t, 2, n, "limit")
	n, err = s.PruneUsage(ctx, hourAt(2), 10)
	must.NoError(t, err)
	check.Equal(t, 1, n, "the rest of the rows before the cut-off")
	got := usageCounts(t, s, apikey.UsageFilter{KeyID: a, From: hourAt(0), To: hourAt(9)})
	check.Equal(t, map[string]int64{"12h verified": 4}, got, "the hour at the cut-off is kept")
	must.NoError(t, s.RecordUsage(ctx, recent))
	must.NoError(t, s.RecordUsage(ctx, old))
	got = usageCounts(t, s, apikey.UsageFilter{KeyID: a, From: hourAt(0), To: hourAt(9)})
	check.Equal(t, map[string]int64{"10h verified": 1, "11h verified": 2, "11h expired": 1, "12h verified": 4}, got,
		"the record of a batch applied before the cut-off is pruned with the rows; a later one is kept")
}
