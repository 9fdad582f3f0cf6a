package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/apikit/apikey"
)

// setupLimits is the limits command: show, or change, a key's own limits
// and its credit balance.
func setupLimits(fs *flag.FlagSet) action {
	var rates rateLimitList
	fs.Var(&rates, "rate-limit", "")
	credits := fs.Int64("credits", -1, "")
	addCredits := fs.Int64("add-credits", 0, "")
	refill := fs.String("refill", "", "")
	clearAll := fs.Bool("clear", false, "")
	return func(ctx context.Context, c *cli, args []string) error {
		if err := wantArgs(args, 1, "<key>"); err != nil {
			return err
		}
		adding, setting := false, false
		fs.Visit(func(f *flag.Flag) {
			adding = adding || f.Name == "add-credits"
			setting = setting || f.Name == "credits"
		})
		if setting && *credits < 0 {
			return usageErrorf("limits: --credits must be 0 or more (subtract with --add-credits -N)")
		}
		if setting && adding {
			return usageErrorf("limits: give --credits (the new balance) or --add-credits (a change), not both")
		}
		if *credits > apikey.MaxCredits || *addCredits < -apikey.MaxCredits || *addCredits > apikey.MaxCredits {
			return usageErrorf("limits: credits must be within %d", int64(apikey.MaxCredits))
		}
		r, err := parseRefill(*refill)
		if err != nil {
			return err
		}
		return c.withKey(ctx, args[0], func(s *session, k *apikey.Key) error {
			next := changedLimits(k.Limits, rates, r, *clearAll, *credits >= 0 || adding)
			changed := !equalLimits(next, k.Limits)
			if changed {
				if err := apikey.ValidateLimits(next); err != nil {
					return err
				}
				if err := s.manager.SetLimits(ctx, k.ID, next); err != nil {
					return notFoundAs(err, k)
				}
			}
			var set *int64
			if *credits >= 0 {
				set = credits
			}
			balance := int64(-1)
			if set != nil || adding {
				n, err := s.manager.ChangeCredits(ctx, apikey.CreditAccount{KeyID: k.ID}, set, *addCredits)
				if err != nil {
					return notFoundAs(err, k)
				}
				balance = n
			} else if !next.IsZero() && next.Credits != nil {
				b, err := s.manager.Credits(ctx, apikey.CreditAccount{Owner: k.Owner, KeyID: k.ID})
				switch {
				case err == nil:
					balance = b.Remaining
				case errors.Is(err, apikey.ErrNotFound):
					balance = 0
				default:
					return err
				}
			}
			verb := "Limits of"
			if changed || set != nil || adding {
				verb = "Changed the limits of"
			}
			fmt.Fprintf(c.stdout, "%s key %s (%s, %s): %s.\n", verb, k.Preview, k.ID, quoteName(k.Name), limitsLine(next, balance))
			return nil
		})
	}
}

// changedLimits returns the key's own limits after the flags: --clear
// drops them all first; each --rate-limit replaces the key's limit of the
// same name or adds one; --refill, --credits and --add-credits give the
// key a credit policy if it has none, --refill sets its refill. nil for no
// limits.
func changedLimits(old *apikey.Limits, rates rateLimitList, refill *apikey.Refill, clearAll, credits bool) *apikey.Limits {
	next := old.Clone()
	if clearAll || next == nil {
		next = &apikey.Limits{}
	}
	for _, r := range rates {
		if i := slices.IndexFunc(next.Rates, func(o apikey.RateLimit) bool { return o.Name == r.Name }); i >= 0 {
			next.Rates[i] = r
		} else {
			next.Rates = append(next.Rates, r)
		}
	}
	if (credits || refill != nil) && next.Credits == nil {
		next.Credits = &apikey.CreditPolicy{}
	}
	if refill != nil {
		next.Credits.Refill = refill
	}
	if next.IsZero() {
		return nil
	}
	return next
}

// equalLimits reports whether two keys' limits are the same.
func equalLimits(a, b *apikey.Limits) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero() == b.IsZero()
	}
	if !slices.Equal(a.Rates, b.Rates) || (a.Credits == nil) != (b.Credits == nil) {
		return false
	}
	if a.Credits == nil {
		return true
	}
	ra, rb := a.Credits.Refill, b.Credits.Refill
	return a.Credits.Scope == b.Credits.Scope && (ra == nil) == (rb == nil) && (ra == nil || *ra == *rb)
}

// limitsLine writes limits for one line: "rate limit requests: 5 per
// 1m0s, credits 7 (refill 100 monthly)", or "no limits". balance is the
// credit balance, -1 if unknown.
func limitsLine(l *apikey.Limits, balance int64) string {
	if l.IsZero() {
		return "no limits"
	}
	var parts []string
	for _, r := range l.Rates {
		parts = append(parts, "rate limit "+r.String())
	}
	if l.Credits != nil {
		s := "credits"
		if balance >= 0 {
			s += " " + strconv.FormatInt(balance, 10)
		}
		if l.Credits.Scope == apikey.ScopeOwner {
			s += " (the owner's)"
		}
		if f := l.Credits.Refill; f != nil {
			s += fmt.Sprintf(" (refill %d %s", f.Amount, f.Interval)
			if f.Interval == apikey.RefillMonthly && f.Day > 1 {
				s += " on day " + strconv.Itoa(f.Day)
			}
			s += ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}
