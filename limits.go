package apikey

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits are the usage limits of a key: rate limits and credits. They are
// an attribute of the key, stored with it (see [LimitStore]) and returned
// with it by every lookup, so that enforcing them costs no extra Store
// call for the limits themselves. An owner's defaults (see
// [WithOwnerLimits]) apply to every key of the owner; a key's own limits
// override them (see [Manager.EffectiveLimits]).
type Limits struct {
	// Rates are the named rate limits, each checked on every metered
	// request; several are checked all or nothing (a request refused by
	// one consumes none of the others).
	Rates []RateLimit `json:"rates,omitempty"`

	// Credits, if not nil, meters the key by a balance of credits: every
	// request spends its cost, and a request the balance cannot pay is
	// refused. The balance itself is state, not an attribute: see
	// [Manager.SetCredits].
	Credits *CreditPolicy `json:"credits,omitempty"`
}

// IsZero reports whether l limits nothing.
func (l *Limits) IsZero() bool { return l == nil || (len(l.Rates) == 0 && l.Credits == nil) }

// Clone returns a deep copy of l (nil for nil). A copy with up to two rate
// limits costs one allocation: keys are cloned on every verification.
func (l *Limits) Clone() *Limits {
	if l == nil {
		return nil
	}
	s := &limitsWithStorage{}
	c := &s.limits
	switch {
	case l.Rates == nil:
	case len(l.Rates) <= len(s.rates):
		n := copy(s.rates[:], l.Rates)
		c.Rates = s.rates[:n:n]
	default:
		c.Rates = slices.Clone(l.Rates)
	}
	if l.Credits != nil {
		s.credits = *l.Credits
		c.Credits = &s.credits
		if l.Credits.Refill != nil {
			s.refill = *l.Credits.Refill
			s.credits.Refill = &s.refill
		}
	}
	return c
}

// limitsWithStorage holds Limits with room for what it points to.
type limitsWithStorage struct {
	limits  Limits
	rates   [2]RateLimit
	credits CreditPolicy
	refill  Refill
}

// LimitScope says whose counter a rate limit or a credit balance is.
type LimitScope uint8

// The scopes. The zero value is ScopeKey.
const (
	// ScopeKey counts each key on its own.
	ScopeKey LimitScope = iota
	// ScopeOwner counts all the keys of the key's owner together: an
	// organization's plan, shared by its keys.
	ScopeOwner
)

// String returns "key" or "owner".
func (s LimitScope) String() string {
	if s == ScopeOwner {
		return "owner"
	}
	return "key"
}

// MarshalText implements encoding.TextMarshaler: "key" or "owner".
func (s LimitScope) MarshalText() ([]byte, error) {
	if s > ScopeOwner {
		return nil, fmt.Errorf("apikey: invalid LimitScope %d", s)
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler: "key" (or empty) or
// "owner".
func (s *LimitScope) UnmarshalText(b []byte) error {
	switch string(b) {
	case "", "key":
		*s = ScopeKey
	case "owner":
		*s = ScopeOwner
	default:
		return fmt.Errorf("apikey: invalid limit scope %q (want key or owner)", b)
	}
	return nil
}

// RateLimit is a named rate limit: Limit requests per Period, counted by
// the generic cell rate algorithm (GCRA). Up to Burst requests (Limit
// unless set) may come at once, and Limit per Period on average after that:
// "100 per 1m" lets 100 requests through at once and then one every 600ms.
// A route may cost more than one request (see [AuthConfig.Cost]).
//
// GCRA keeps one time per counter (the theoretical arrival time), so it
// is exact, needs no window boundaries (no double burst at a window's
// edge, as fixed windows allow) and costs O(1) memory per counter.
type RateLimit struct {
	// Name identifies the limit in responses ("requests", "writes"):
	// 1 to 64 letters, digits, '_', '-' or '.'. Names are unique within a
	// key's limits.
	Name string `json:"name"`

	// Limit is the number of requests per Period, at least 1.
	Limit int64 `json:"limit"`

	// Period is the time over which Limit requests may be made, from 1ms
	// to 366 days; Period/Limit must be at least a microsecond.
	Period time.Duration `json:"period"`

	// Burst is the number of requests that may come at once. Zero means
	// Limit.
	Burst int64 `json:"burst,omitempty"`

	// Scope says whose counter this is: the key's (the default) or its
	// owner's.
	Scope LimitScope `json:"scope,omitempty"`
}

// String writes the limit as "requests: 100 per 1m0s".
func (r RateLimit) String() string {
	s := r.Name + ": " + strconv.FormatInt(r.Limit, 10) + " per " + r.Period.String()
	if r.Burst > 0 && r.Burst != r.Limit {
		s += ", burst " + strconv.FormatInt(r.Burst, 10)
	}
	if r.Scope == ScopeOwner {
		s += " (owner)"
	}
	return s
}

// burst returns the effective burst.
func (r RateLimit) burst() int64 {
	if r.Burst > 0 {
		return r.Burst
	}
	return r.Limit
}

// interval returns the emission interval, Period/Limit, rounded down to
// the microsecond (the unit every backend counts in): a burst is exact,
// and the long-run rate is at most a microsecond per request faster than
// Period/Limit.
func (r RateLimit) interval() time.Duration {
	return (r.Period / time.Duration(r.Limit)).Truncate(time.Microsecond)
}

// CreditPolicy says how a key's credits are kept.
type CreditPolicy struct {
	// Scope says whose balance the key spends: its own (the default) or
	// its owner's, shared by all the owner's keys.
	Scope LimitScope `json:"scope,omitempty"`

	// Refill, if not nil, sets the balance back to Refill.Amount at the
	// start of every interval.
	Refill *Refill `json:"refill,omitempty"`
}

// RefillInterval is how often credits are refilled.
type RefillInterval string

// The refill intervals, in UTC.
const (
	RefillDaily   RefillInterval = "daily"   // at 00:00 UTC every day
	RefillMonthly RefillInterval = "monthly" // at 00:00 UTC on Refill.Day of every month
)

// Refill sets a credit balance back to Amount at the start of every
// interval (UTC). The balance is set, not added to: unused credits do not
// accumulate. A refill happens lazily, at the first spending after the
// interval began.
type Refill struct {
	// Amount is the balance after a refill, at least 1.
	Amount int64 `json:"amount"`

	// Interval is RefillDaily or RefillMonthly.
	Interval RefillInterval `json:"interval"`

	// Day is the day of the month of a monthly refill, 1 to 31; zero
	// means 1. In a shorter month, a day past its end means its last day.
	// It must be zero for a daily refill.
	Day int `json:"day,omitempty"`
}

// PeriodStart returns the start of the refill period that contains now
// (UTC): the last refill time at or before now.
func (r Refill) PeriodStart(now time.Time) time.Time {
	now = now.UTC()
	y, m, d := now.Date()
	if r.Interval == RefillDaily {
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	day := max(r.Day, 1)
	start := refillDay(y, m, day)
	if now.Before(start) {
		start = refillDay(y, m-1, day)
	}
	return start
}

// refillDay returns 00:00 UTC of day in month m of year y, or of the
// month's last day if it is shorter.
func refillDay(y int, m time.Month, day int) time.Time {
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(day, last)-1)
}

// next returns the start of the refill period after the one containing
// now.
func (r Refill) next(now time.Time) time.Time {
	start := r.PeriodStart(now)
	if r.Interval == RefillDaily {
		return start.AddDate(0, 0, 1)
	}
	y, m, _ := start.Date()
	return refillDay(y, m+1, max(r.Day, 1))
}

// Bounds of Limits.
const (
	maxRateLimits     = 16
	maxLimitNameBytes = 64
	minLimitPeriod    = time.Millisecond
	maxLimitPeriod    = 366 * 24 * time.Hour
	// MaxCredits is the largest credit balance, refill amount or change of
	// a balance: 10^15, far from the overflow of any counter.
	MaxCredits = 1_000_000_000_000_000
	// MaxCost is the largest cost of one request.
	MaxCost = 1_000_000
)

// ValidateLimits checks l: names well formed and unique, at most 16 rate
// limits, counts and periods in range, a valid refill. The error is a
// [*ValidationError] for the field "Limits" wrapping ErrInvalidLimits.
func ValidateLimits(l *Limits) error {
	if l == nil {
		return nil
	}
	if len(l.Rates) > maxRateLimits {
		return limitsError(fmt.Sprintf("at most %d rate limits", maxRateLimits))
	}
	for i, r := range l.Rates {
		if !validLimitName(r.Name) {
			return limitsError(fmt.Sprintf("rate limit name %q: must be 1 to %d letters, digits, '_', '-' or '.'", r.Name, maxLimitNameBytes))
		}
		for _, o := range l.Rates[:i] {
			if o.Name == r.Name {
				return limitsError(fmt.Sprintf("rate limit %q is listed twice", r.Name))
			}
		}
		switch {
		case r.Limit < 1 || r.Limit > MaxCredits:
			return limitsError(fmt.Sprintf("rate limit %q: the limit must be 1 to %d", r.Name, int64(MaxCredits)))
		case r.Period < minLimitPeriod || r.Period > maxLimitPeriod:
			return limitsError(fmt.Sprintf("rate limit %q: the period must be 1ms to 366 days", r.Name))
		case r.interval() < time.Microsecond:
			return limitsError(fmt.Sprintf("rate limit %q: more than one request per microsecond", r.Name))
		case r.Burst < 0 || r.Burst > MaxCredits:
			return limitsError(fmt.Sprintf("rate limit %q: the burst must be 0 to %d", r.Name, int64(MaxCredits)))
		case r.Scope > ScopeOwner:
			return limitsError(fmt.Sprintf("rate limit %q: invalid scope", r.Name))
		case time.Duration(r.burst()) > time.Duration(1<<62)/r.interval():
			return limitsError(fmt.Sprintf("rate limit %q: the burst spans too long a time", r.Name))
		}
	}
	if c := l.Credits; c != nil {
		if c.Scope > ScopeOwner {
			return limitsError("credits: invalid scope")
		}
		if f := c.Refill; f != nil {
			switch {
			case f.Amount < 1 || f.Amount > MaxCredits:
				return limitsError(fmt.Sprintf("credits: the refill amount must be 1 to %d", int64(MaxCredits)))
			case f.Interval == RefillDaily && f.Day != 0:
				return limitsError("credits: a daily refill has no day")
			case f.Interval == RefillMonthly && (f.Day < 0 || f.Day > 31):
				return limitsError("credits: the refill day must be 1 to 31")
			case f.Interval != RefillDaily && f.Interval != RefillMonthly:
				return limitsError(fmt.Sprintf("credits: refill interval %q (want daily or monthly)", f.Interval))
			}
		}
	}
	return nil
}

func validLimitName(s string) bool {
	if s == "" || len(s) > maxLimitNameBytes {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
	})
}

func limitsError(reason string) error {
	return &ValidationError{Field: "Limits", Reason: reason, Err: ErrInvalidLimits}
}

// ParseRateLimit reads a rate limit written as "N/DURATION" or
// "name=N/DURATION" (the command-line syntax: "100/1m",
// "writes=10/1s"), named "requests" when no name is given. DURATION is a
// Go duration, or "d" for days ("1d"). The limit is validated.
func ParseRateLimit(s string) (RateLimit, error) {
	r := RateLimit{Name: "requests"}
	spec := s
	if name, rest, ok := strings.Cut(s, "="); ok {
		r.Name, spec = name, rest
	}
	count, period, ok := strings.Cut(spec, "/")
	if !ok {
		return RateLimit{}, limitsError(fmt.Sprintf("rate limit %q: want N/DURATION or name=N/DURATION", s))
	}
	n, err := strconv.ParseInt(count, 10, 64)
	if err != nil {
		return RateLimit{}, limitsError(fmt.Sprintf("rate limit %q: %q is not a count", s, count))
	}
	r.Limit = n
	if days, ok := strings.CutSuffix(period, "d"); ok {
		d, err := strconv.Atoi(days)
		if err != nil || d < 1 || d > 366 {
			return RateLimit{}, limitsError(fmt.Sprintf("rate limit %q: %q is not a duration", s, period))
		}
		r.Period = time.Duration(d) * 24 * time.Hour
	} else if r.Period, err = time.ParseDuration(period); err != nil {
		return RateLimit{}, limitsError(fmt.Sprintf("rate limit %q: %q is not a duration", s, period))
	}
	if err := ValidateLimits(&Limits{Rates: []RateLimit{r}}); err != nil {
		return RateLimit{}, err
	}
	return r, nil
}
