package apikey

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// UsageStep is the width of the points of a [UsageReport].
type UsageStep string

// The steps of a usage report.
const (
	// UsageByHour gives one point per hour (UTC).
	UsageByHour UsageStep = "hour"

	// UsageByDay gives one point per day (UTC, midnight to midnight).
	UsageByDay UsageStep = "day"
)

// Limits of [Manager.Usage].
const (
	// DefaultUsageRange is the range of a usage query that gives no From.
	DefaultUsageRange = 30 * 24 * time.Hour

	// MaxUsagePoints is the most points a usage report may have (about
	// 100 days by hour, 6 years by day).
	MaxUsagePoints = 2400

	// DefaultBusiestKeys and MaxBusiestKeys bound [UsageQuery.Top].
	DefaultBusiestKeys = 10
	MaxBusiestKeys     = 100

	// DefaultUsageRetention is how old usage [Manager.PruneUsage] deletes
	// when given no age: usage is kept for 90 days.
	DefaultUsageRetention = 90 * 24 * time.Hour
)

// UsageQuery selects the usage of one key, or the totals of one owner,
// over a range of time (see [Manager.Usage]).
type UsageQuery struct {
	// KeyID, if not uuid.Nil, selects the uses of this key; otherwise the
	// query is of the totals of Owner's keys (deleted ones included), with
	// its busiest keys.
	KeyID uuid.UUID

	// Owner is the owner of the totals; empty means the acting
	// administrator's owner, or DefaultOwner for trusted code. An actor
	// limited to one owner gets no uses of another owner.
	Owner string

	// From and To bound the range: From is rounded down to the step and To
	// up. A zero To is now; a zero From is DefaultUsageRange before To
	// (rounded up).
	From, To time.Time

	// Step is the width of the points: UsageByHour if empty.
	Step UsageStep

	// Top is how many busiest keys an owner's report lists:
	// DefaultBusiestKeys if zero, at most MaxBusiestKeys. Ignored for a
	// key.
	Top int
}

// UsageCounts counts uses by outcome (see [UsageOutcome]).
type UsageCounts struct {
	Verified         int64 `json:"verified"`
	Inactive         int64 `json:"inactive"`
	Expired          int64 `json:"expired"`
	MissingScope     int64 `json:"missing_scope"`
	RateLimited      int64 `json:"rate_limited"`
	CreditsExhausted int64 `json:"credits_exhausted"`
}

// Refused returns the uses of every outcome but UsageVerified.
func (c UsageCounts) Refused() int64 {
	return c.Inactive + c.Expired + c.MissingScope + c.RateLimited + c.CreditsExhausted
}

// add adds n uses of outcome o; an unknown outcome is ignored.
func (c *UsageCounts) add(o UsageOutcome, n int64) {
	switch o {
	case UsageVerified:
		c.Verified += n
	case UsageInactive:
		c.Inactive += n
	case UsageExpired:
		c.Expired += n
	case UsageMissingScope:
		c.MissingScope += n
	case UsageRateLimited:
		c.RateLimited += n
	case UsageCreditsExhausted:
		c.CreditsExhausted += n
	}
}

func (c *UsageCounts) addAll(d UsageCounts) {
	c.Verified += d.Verified
	c.Inactive += d.Inactive
	c.Expired += d.Expired
	c.MissingScope += d.MissingScope
	c.RateLimited += d.RateLimited
	c.CreditsExhausted += d.CreditsExhausted
}

// UsagePoint is the uses of one step of a [UsageReport].
type UsagePoint struct {
	// Start is the start of the step (UTC).
	Start time.Time `json:"start"`
	UsageCounts
}

// UsageReport is the answer of [Manager.Usage].
type UsageReport struct {
	// KeyID is the key of the report; uuid.Nil for an owner's totals.
	KeyID uuid.UUID `json:"key_id"`

	// Owner is the owner of the key or of the totals.
	Owner string `json:"owner"`

	// From and To are the range, rounded to Step: From <= t < To.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Step UsageStep `json:"step"`

	// Points has one point per step of the range, in order, those without
	// uses included (all zero).
	Points []UsagePoint `json:"points"`

	// Total is the sum of the points.
	Total UsageCounts `json:"total"`

	// Busiest are the owner's most used keys over the range, the most
	// used first; empty in a key's report.
	Busiest []KeyUsage `json:"busiest"`
}

// usageStoreFor returns the Manager's UsageStore, or an error wrapping
// errors.ErrUnsupported.
func (m *Manager) usageStoreFor(op string) (UsageStore, error) {
	if m.usageStore == nil {
		return nil, fmt.Errorf("apikey: %s: the Store (%T) is not a UsageStore: %w", op, m.store, errors.ErrUnsupported)
	}
	return m.usageStore, nil
}

// Usage returns the uses of a key, or the totals of an owner and its
// busiest keys, over a range of time, by hour or by day: what usage
// metering counted. Metering is on when the Store is a [UsageStore]: every
// verification of a genuine key is counted in memory, per key, hour (UTC)
// and outcome ([UsageOutcome]), and the counts are written with the
// last-used times at every flush ([WithLastUsedFlushInterval]), so a report
// may lack up to one flush interval of uses. A key of another owner than
// the acting administrator's is ErrNotFound, as a missing (or deleted) key;
// an owner's totals include its deleted keys. Usage is kept until
// [Manager.PruneUsage] deletes it.
//
// The error wraps ErrNotFound, ErrInvalidOwner, ErrStoreFailure, or
// errors.ErrUnsupported for a Store that is not a UsageStore.
func (m *Manager) Usage(ctx context.Context, q UsageQuery) (UsageReport, error) {
	us, err := m.usageStoreFor("usage")
	if err != nil {
		return UsageReport{}, err
	}
	r, err := m.usageRange(q)
	if err != nil {
		return UsageReport{}, err
	}
	f := UsageFilter{From: r.From, To: r.To}
	scoped := false
	if q.KeyID != uuid.Nil {
		k, err := m.Get(ctx, q.KeyID)
		if err != nil {
			return UsageReport{}, err
		}
		r.KeyID, r.Owner, f.KeyID = k.ID, k.Owner, k.ID
	} else {
		owner := q.Owner
		if owner != "" {
			if err := ValidateOwner(owner); err != nil {
				return UsageReport{}, err
			}
		}
		if scope := ownerScope(ctx); scope != "" {
			if owner != "" && owner != scope {
				scoped = true // another owner's uses: none
			}
			owner = scope
		}
		if owner == "" {
			owner = DefaultOwner
		}
		r.Owner, f.Owner = owner, owner
	}
	var rows []UsageRow
	if !scoped {
		rows, err = us.ReadUsage(ctx, f)
		if err != nil {
			return UsageReport{}, m.storeError("usage", err)
		}
	}
	r.Points = make([]UsagePoint, 0, r.steps())
	for t := r.From; t.Before(r.To); t = r.next(t) {
		r.Points = append(r.Points, UsagePoint{Start: t})
	}
	for _, row := range rows {
		if row.Hour.Before(r.From) || !row.Hour.Before(r.To) {
			continue
		}
		i := int(row.Hour.Sub(r.From) / time.Hour)
		if r.Step == UsageByDay {
			i /= 24
		}
		r.Points[i].add(row.Outcome, row.Count)
		r.Total.add(row.Outcome, row.Count)
	}
	r.Busiest = []KeyUsage{}
	if q.KeyID == uuid.Nil && !scoped {
		top := q.Top
		switch {
		case top == 0:
			top = DefaultBusiestKeys
		case top < 0 || top > MaxBusiestKeys:
			return UsageReport{}, fmt.Errorf("apikey: usage: top must be 1 to %d", MaxBusiestKeys)
		}
		busiest, err := us.BusiestKeys(ctx, f, top)
		if err != nil {
			return UsageReport{}, m.storeError("usage", err)
		}
		r.Busiest = append(r.Busiest, busiest...)
	}
	return r, nil
}

// usageRange returns the report of q's range and step, without points.
func (m *Manager) usageRange(q UsageQuery) (UsageReport, error) {
	r := UsageReport{Step: q.Step}
	var unit time.Duration
	switch q.Step {
	case "", UsageByHour:
		r.Step, unit = UsageByHour, time.Hour
	case UsageByDay:
		unit = 24 * time.Hour
	default:
		return UsageReport{}, fmt.Errorf("apikey: usage: step must be %q or %q, not %q", UsageByHour, UsageByDay, q.Step)
	}
	to := q.To.UTC()
	if q.To.IsZero() {
		to = m.now()
	}
	r.To = to.Truncate(unit) // UTC: whole hours and days since the Unix epoch
	if r.To.Before(to) {
		r.To = r.To.Add(unit)
	}
	from := q.From.UTC()
	if q.From.IsZero() {
		from = r.To.Add(-DefaultUsageRange)
	}
	r.From = from.Truncate(unit)
	if !r.From.Before(r.To) {
		return UsageReport{}, fmt.Errorf("apikey: usage: empty range %v to %v", from, to)
	}
	if r.steps() > MaxUsagePoints {
		return UsageReport{}, fmt.Errorf("apikey: usage: %v to %v by %s is more than %d points", from, to, r.Step, MaxUsagePoints)
	}
	return r, nil
}

// steps returns the number of points of r's range.
func (r *UsageReport) steps() int {
	n := int(r.To.Sub(r.From) / time.Hour)
	if r.Step == UsageByDay {
		n /= 24
	}
	return n
}

// next returns the start of the step after t.
func (r *UsageReport) next(t time.Time) time.Time {
	if r.Step == UsageByDay {
		return t.Add(24 * time.Hour)
	}
	return t.Add(time.Hour)
}

// PruneUsage deletes the usage counted in hours older than olderThan
// (DefaultUsageRetention, 90 days, if zero), in batches of 10,000 rows, and
// returns how many rows it deleted: the retention of usage, which is
// otherwise kept for ever (call it from a daily job). It also forgets the
// batches applied before then (see [UsageBatch]). Only trusted code (no
// actor) or an actor with AllOwners may prune; others get ErrEscalation.
// The error wraps ErrStoreFailure, or errors.ErrUnsupported for a Store
// that is not a UsageStore; the count is of the rows deleted before it.
func (m *Manager) PruneUsage(ctx context.Context, olderThan time.Duration) (int, error) {
	us, err := m.usageStoreFor("prune usage")
	if err != nil {
		return 0, err
	}
	switch {
	case olderThan == 0:
		olderThan = DefaultUsageRetention
	case olderThan < time.Hour:
		return 0, fmt.Errorf("apikey: prune usage: age %v is under an hour", olderThan)
	}
	if ownerScope(ctx) != "" {
		return 0, fmt.Errorf("%w: only an operator prunes usage", ErrEscalation)
	}
	const limit = 10000
	before := m.now().Add(-olderThan)
	total := 0
	for {
		n, err := us.PruneUsage(ctx, before, limit)
		total += n
		if err != nil {
			return total, m.storeError("prune usage", err)
		}
		if n < limit {
			return total, nil
		}
	}
}
