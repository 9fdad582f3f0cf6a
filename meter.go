package apikey

import (
	"bytes"
	"cmp"
	"errors"
	"math/rand/v2"
	"slices"
	"time"
)

// Usage metering counts the uses of keys per key, hour (UTC) and outcome,
// in the shards of the recorder of last-used times (usage_recorder.go), and
// writes the counts with every last-used flush, as one UsageBatch. This
// file holds what metering adds to the recorder and the verification path.

// meter counts a refusal, for outcome o, of the key k that Verify had
// accepted at at (a scope check, a rate limit, spent credits): the use
// moves from UsageVerified to o. It is the one call a check after Verify
// makes; it does nothing unless the Store is a UsageStore, and never
// touches the last-used time (the key was used).
func (m *Manager) meter(k *Key, o UsageOutcome, at time.Time) {
	if !m.uses.metering || k == nil {
		return
	}
	i := slices.Index(usageOutcomes[:], o)
	if i <= outcomeVerified {
		return
	}
	m.uses.note(rand.Uint32(), k, at, false, i, outcomeVerified)
}

// meterRefusal counts a refusal by Verify itself (inactive, expired) of
// the key in err, if err carries one.
func (m *Manager) meterRefusal(shard uint32, err error, at time.Time) {
	if !m.uses.metering {
		return
	}
	var ke *KeyError
	if !errors.As(err, &ke) || ke.Key == nil {
		return
	}
	o := -1
	switch {
	case errors.Is(ke.Err, ErrInactive):
		o = outcomeInactive
	case errors.Is(ke.Err, ErrExpired):
		o = outcomeExpired
	}
	if o >= 0 {
		m.uses.note(shard, ke.Key, at, false, o, -1)
	}
}

// addCount adds n to the count of bucket b in meter.
func addCount(meter map[usageBucket]spilled, b usageBucket, owner string, n int64) {
	s := meter[b]
	s.owner = owner
	s.n += n
	meter[b] = s
}

// usageRows returns the non-zero counts of meter as rows, sorted as
// UsageBatch.Rows must be.
func usageRows(meter map[usageBucket]spilled) []UsageRow {
	rows := make([]UsageRow, 0, len(meter))
	for b, s := range meter {
		if s.n == 0 {
			continue
		}
		rows = append(rows, UsageRow{
			KeyID:   b.id,
			Owner:   s.owner,
			Hour:    time.Unix(b.hour, 0).UTC(),
			Outcome: usageOutcomes[b.outcome],
			Count:   s.n,
		})
	}
	slices.SortFunc(rows, compareUsageRows)
	return rows
}

// compareUsageRows orders rows by key ID as 16 bytes, hour and outcome.
func compareUsageRows(a, b UsageRow) int {
	if c := bytes.Compare(a.KeyID[:], b.KeyID[:]); c != 0 {
		return c
	}
	if c := a.Hour.Compare(b.Hour); c != 0 {
		return c
	}
	return cmp.Compare(a.Outcome, b.Outcome)
}

// meteredUses returns the sum of the positive counts of batches.
func meteredUses(batches []UsageBatch) uint64 {
	var n uint64
	for _, b := range batches {
		for _, r := range b.Rows {
			n += uint64(max(r.Count, 0))
		}
	}
	return n
}

// usageStoreOf returns store as a UsageStore, or nil.
func usageStoreOf(store Store) UsageStore {
	us, _ := store.(UsageStore)
	return us
}
