package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apikit/apikey"
)

// rateLimitList collects repeated --rate-limit flags: N/DURATION or
// name=N/DURATION.
type rateLimitList []apikey.RateLimit

func (l *rateLimitList) String() string { return fmt.Sprint(*l) }

func (l *rateLimitList) Set(v string) error {
	r, err := apikey.ParseRateLimit(v)
	if err != nil {
		return err
	}
	*l = append(*l, r)
	return nil
}

// parseRefill reads --refill: N/daily, N/monthly or N/monthly:DAY.
func parseRefill(s string) (*apikey.Refill, error) {
	if s == "" {
		return nil, nil
	}
	amount, interval, ok := strings.Cut(s, "/")
	n, err := strconv.ParseInt(amount, 10, 64)
	if !ok || err != nil {
		return nil, usageErrorf("--refill %q: want N/daily, N/monthly or N/monthly:DAY", s)
	}
	r := &apikey.Refill{Amount: n}
	switch {
	case interval == "daily":
		r.Interval = apikey.RefillDaily
	case interval == "monthly":
		r.Interval = apikey.RefillMonthly
	case strings.HasPrefix(interval, "monthly:"):
		r.Interval = apikey.RefillMonthly
		if r.Day, err = strconv.Atoi(strings.TrimPrefix(interval, "monthly:")); err != nil {
			return nil, usageErrorf("--refill %q: the day is not a number", s)
		}
	default:
		return nil, usageErrorf("--refill %q: want N/daily, N/monthly or N/monthly:DAY", s)
	}
	return r, nil
}

// limitsFromFlags builds a key's limits from --rate-limit, --credits and
// --refill; nil when none is given. credits is -1 when --credits is not.
func limitsFromFlags(rates rateLimitList, credits int64, refill string) (*apikey.Limits, error) {
	r, err := parseRefill(refill)
	if err != nil {
		return nil, err
	}
	if len(rates) == 0 && credits < 0 && r == nil {
		return nil, nil
	}
	l := &apikey.Limits{Rates: rates}
	if credits >= 0 || r != nil {
		l.Credits = &apikey.CreditPolicy{Refill: r}
	}
	if err := apikey.ValidateLimits(l); err != nil {
		return nil, err
	}
	return l, nil
}

// describeLimits writes a key's limits for stderr: ", rate limits
// requests: 5 per 1m0s, credits 3".
func describeLimits(l *apikey.Limits, credits int64) string {
	if l == nil {
		return ""
	}
	var parts []string
	for _, r := range l.Rates {
		parts = append(parts, "rate limit "+r.String())
	}
	if l.Credits != nil {
		s := "credits " + strconv.FormatInt(max(credits, 0), 10)
		if f := l.Credits.Refill; f != nil {
			s += fmt.Sprintf(" (refill %d %s)", f.Amount, f.Interval)
		}
		parts = append(parts, s)
	}
	return ", " + strings.Join(parts, ", ")
}
