package apikey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// limitEngine enforces usage limits for a Manager.
type limitEngine struct {
	m           *Manager
	limiter     Limiter        // the configured backend
	local       *memoryLimiter // the in-process backend: the default, and the fallback
	fallback    bool
	ownerLimits func(owner string) Limits

	rateLimited, noCredits, failures, fallbacks atomic.Uint64
}

func newLimitEngine(m *Manager, c limitConfig) *limitEngine {
	e := &limitEngine{m: m, local: newMemoryLimiter(m.clock), fallback: c.fallback, ownerLimits: c.ownerLimits}
	e.limiter = c.limiter
	if e.limiter == nil {
		e.limiter = e.local
	}
	return e
}

// EffectiveLimits returns the limits that apply to k: its owner's defaults
// (see [WithOwnerLimits]) with the key's own limits over them. A key's rate
// limit replaces the owner's of the same name and adds to the others; a
// key's credit policy replaces the owner's. It returns an error wrapping
// ErrInvalidLimits if the owner's defaults are invalid. The limits are the
// caller's own copy: k may be a shared record (see [Manager.Verify]).
func (m *Manager) EffectiveLimits(k *Key) (Limits, error) {
	l, err := m.effectiveLimits(k)
	if err != nil {
		return Limits{}, err
	}
	return *l.Clone(), nil
}

// effectiveLimits is EffectiveLimits without the copy, for CheckLimits:
// what it returns may share k's Rates and Credits, and is only read.
func (m *Manager) effectiveLimits(k *Key) (Limits, error) {
	var l Limits
	if f := m.limits.ownerLimits; f != nil {
		l = f(k.Owner)
		if err := ValidateLimits(&l); err != nil {
			return Limits{}, fmt.Errorf("apikey: default limits of owner %q: %w", k.Owner, err)
		}
	}
	own := k.Limits
	if own.IsZero() {
		return l, nil
	}
	if len(l.Rates) == 0 {
		l.Rates = own.Rates
	} else if len(own.Rates) > 0 {
		rates := make([]RateLimit, 0, len(l.Rates)+len(own.Rates))
		rates = append(rates, own.Rates...)
	defaults:
		for _, d := range l.Rates {
			for _, r := range own.Rates {
				if r.Name == d.Name {
					continue defaults
				}
			}
			rates = append(rates, d)
		}
		l.Rates = rates
	}
	if own.Credits != nil {
		l.Credits = own.Credits
	}
	return l, nil
}

// CheckLimits charges one request of the given cost to the limits of k
// (see [Manager.EffectiveLimits]), all or nothing: its rate limits and its
// credits are either all charged or none is. It returns the state of each
// rate limit after the request, for the RateLimit headers, and:
//
//   - nil: the request is allowed;
//   - a [*LimitError] wrapping ErrRateLimited or ErrNoCredits: refused,
//     and nothing charged;
//   - an error wrapping ErrLimiterUnavailable: the limits could not be
//     checked (the Limiter or the Store's credits failed, or the owner's
//     defaults are invalid); refuse the request (503).
//
// A key without limits costs nothing: no lock, no allocation. cost must be
// 1 to [MaxCost]. Each refusal and failure counts in [Stats].
func (m *Manager) CheckLimits(ctx context.Context, k *Key, cost int64) ([]LimitStatus, error) {
	return m.checkLimits(ctx, k, cost, nil)
}

// checkLimits is CheckLimits writing the in-process limiter's states into
// buf when it has room: the middleware passes a buffer on its stack, read
// for the headers and dropped, so that an allowed request allocates
// nothing. A refusal's states are copied into its LimitError, which may
// outlive buf.
func (m *Manager) checkLimits(ctx context.Context, k *Key, cost int64, buf []LimitStatus) ([]LimitStatus, error) {
	if k == nil {
		return nil, errors.New("apikey: CheckLimits: nil key")
	}
	if k.Limits == nil && m.limits.ownerLimits == nil {
		return nil, nil
	}
	if cost < 1 || cost > MaxCost {
		return nil, fmt.Errorf("apikey: CheckLimits: cost %d is not 1 to %d", cost, MaxCost)
	}
	e := m.limits
	l, err := m.effectiveLimits(k)
	if err != nil {
		e.failures.Add(1)
		return nil, fmt.Errorf("%w: %w", ErrLimiterUnavailable, err)
	}
	if l.IsZero() {
		return nil, nil
	}
	var counterBuf [4]RateCounter
	counters := counterBuf[:0]
	for _, r := range l.Rates {
		c := RateCounter{Limit: r}
		if r.Scope == ScopeOwner {
			c.Owner = k.Owner
		} else {
			c.KeyID = k.ID
		}
		counters = append(counters, c)
	}
	var limiter Limiter
	var res LimitResult
	if len(counters) > 0 {
		limiter = e.limiter
		if local, ok := limiter.(*memoryLimiter); ok {
			res = local.take(cost, counters, statusBuffer(buf, len(counters))) // a direct call: counters stay on the stack
		} else {
			res, err = limiter.Take(ctx, cost, slices.Clone(counters)) // not to let buf escape on the local path
		}
		if err != nil {
			if !e.fallback || limiter == Limiter(e.local) {
				e.failures.Add(1)
				m.logger.LogAttrs(ctx, slog.LevelError, "apikey: request refused: the rate limits could not be checked", slog.Any("error", err))
				return nil, fmt.Errorf("%w: %w", ErrLimiterUnavailable, err)
			}
			e.fallbacks.Add(1)
			m.logger.LogAttrs(ctx, slog.LevelWarn, "apikey: the limiter failed: counting in process", slog.Any("error", err))
			limiter = e.local
			res = e.local.take(cost, counters, statusBuffer(buf, len(counters)))
		}
		if !res.Allowed {
			e.rateLimited.Add(1)
			m.meter(k, UsageRateLimited, m.now())
			r := counters[res.Refused].Limit
			return res.Status, &LimitError{Limit: r.Name, Scope: r.Scope, RetryAfter: res.RetryAfter, Status: slices.Clone(res.Status), Err: ErrRateLimited}
		}
	}
	if l.Credits == nil {
		return res.Status, nil
	}
	ok, retry, err := m.spendCredits(ctx, k, l.Credits, cost)
	if err == nil && ok {
		return res.Status, nil
	}
	if limiter != nil { // give back what the rate limits took: all or nothing
		var gerr error
		if local, ok := limiter.(*memoryLimiter); ok {
			gerr = local.Give(ctx, cost, counters)
		} else {
			gerr = limiter.Give(ctx, cost, slices.Clone(counters))
		}
		if gerr != nil {
			m.logger.LogAttrs(ctx, slog.LevelWarn, "apikey: could not give back rate limits of a refused request", slog.Any("error", gerr))
		} else {
			for i := range res.Status { // report the limits as they are after the give-back
				s := &res.Status[i]
				s.Remaining = min(s.Remaining+cost, s.Limit.burst())
				s.Reset = max(s.Reset-time.Duration(cost)*s.Limit.interval(), 0)
			}
		}
	}
	if err != nil {
		e.failures.Add(1)
		m.logger.LogAttrs(ctx, slog.LevelError, "apikey: request refused: its credits could not be spent", slog.Any("error", err))
		return nil, fmt.Errorf("%w: %w", ErrLimiterUnavailable, err)
	}
	e.noCredits.Add(1)
	m.meter(k, UsageCreditsExhausted, m.now())
	return res.Status, &LimitError{Limit: "credits", Scope: l.Credits.Scope, RetryAfter: retry, Status: slices.Clone(res.Status), Err: ErrNoCredits}
}

// spendCredits spends cost from the balance k's policy names, on the
// Store: one conditional statement. retry is the time to the next refill.
func (m *Manager) spendCredits(ctx context.Context, k *Key, p *CreditPolicy, cost int64) (ok bool, retry time.Duration, err error) {
	ls, isLimitStore := m.store.(LimitStore)
	if !isLimitStore {
		return false, 0, fmt.Errorf("apikey: spend credits: the Store keeps no credits: %w", errors.ErrUnsupported)
	}
	account := CreditAccount{Owner: k.Owner}
	if p.Scope == ScopeKey {
		account.KeyID = k.ID
	}
	now := m.now()
	var start time.Time
	if p.Refill != nil {
		start = p.Refill.PeriodStart(now)
	}
	_, ok, err = ls.SpendCredits(ctx, account, cost, p.Refill, start)
	if err != nil {
		m.counters.countStoreError(err)
		return false, 0, err
	}
	if !ok && p.Refill != nil {
		retry = p.Refill.next(now).Sub(now)
	}
	return ok, retry, nil
}

// limitStore returns the Store as a LimitStore, or an error wrapping
// errors.ErrUnsupported.
func (m *Manager) limitStore(op string) (LimitStore, error) {
	ls, ok := m.store.(LimitStore)
	if !ok {
		return nil, fmt.Errorf("apikey: %s: the Store keeps no limits or credits (it is no LimitStore): %w", op, errors.ErrUnsupported)
	}
	return ls, nil
}

// checkIssueLimits validates the limits of a key being issued.
func (m *Manager) checkIssueLimits(ctx context.Context, l *Limits) error {
	if l == nil {
		return nil
	}
	if err := ValidateLimits(l); err != nil {
		return err
	}
	if err := m.checkLimitsEscalation(ctx, l); err != nil {
		return err
	}
	_, err := m.limitStore("issue with limits")
	return err
}

// SetLimits sets (or, with nil, removes) the limits of a key: the owner's
// defaults then apply alone. An administrator limited to one owner may
// tighten the owner's defaults (see [WithOwnerLimits]) but not loosen them:
// ErrEscalation. The error wraps ErrInvalidLimits, ErrNotFound,
// ErrEscalation, ErrConflict, ErrStoreFailure, or errors.ErrUnsupported if
// the Store is no [LimitStore]. Like every change, it is audited
// (EventLimitsChanged).
func (m *Manager) SetLimits(ctx context.Context, id uuid.UUID, limits *Limits) error {
	ls, err := m.limitStore("set limits")
	if err != nil {
		return err
	}
	if err := ValidateLimits(limits); err != nil {
		return err
	}
	if limits.IsZero() {
		limits = nil
	}
	if err := m.checkLimitsEscalation(ctx, limits); err != nil {
		return err
	}
	limits = limits.Clone()
	return m.update(ctx, id, "set limits", func(ch Change, guard *Guard) error {
		return ls.SetLimits(ctx, ch, id, limits, guard)
	})
}

// ChangeCredits sets (set not nil) or adds to (add, negative to subtract)
// a credit balance, never below zero, and returns the balance after. For a
// key's balance the administrator in ctx must be allowed to change the key
// (as for [Manager.SetGroups]); for an owner's balance, to act for the
// owner; and under an owner's plan with a credit policy (see
// [WithOwnerLimits]) only trusted code or an operator changes credits. It
// is an audited change (EventCreditsChanged). Amounts are bounded
// by [MaxCredits]. The error wraps ErrInvalidLimits, ErrNotFound,
// ErrEscalation, ErrStoreFailure, or errors.ErrUnsupported if the Store is
// no [LimitStore].
func (m *Manager) ChangeCredits(ctx context.Context, account CreditAccount, set *int64, add int64) (int64, error) {
	ls, err := m.limitStore("change credits")
	if err != nil {
		return 0, err
	}
	if set != nil && (*set < 0 || *set > MaxCredits) || add < -MaxCredits || add > MaxCredits {
		return 0, &ValidationError{Field: "Credits", Reason: fmt.Sprintf("amounts must be within %d", int64(MaxCredits)), Err: ErrInvalidLimits}
	}
	if err := m.checkCreditsEscalation(ctx); err != nil {
		return 0, err
	}
	c := CreditChange{Account: account, Set: set, Add: add}
	if account.KeyID == uuid.Nil {
		if err := ValidateOwner(account.Owner); err != nil {
			return 0, err
		}
		if actor, ok := ActorFromContext(ctx); ok {
			if scope := actor.scope(); scope != "" && scope != account.Owner {
				return 0, fmt.Errorf("%w: an administrator changes only their own owner's credits", ErrEscalation)
			}
		}
		n, err := ls.ChangeCredits(ctx, m.change(ctx), c, nil)
		if err != nil {
			return 0, m.storeError("change credits", err)
		}
		return n, nil
	}
	var n int64
	err = m.update(ctx, account.KeyID, "change credits", func(ch Change, guard *Guard) error {
		k, err := m.store.Get(ctx, account.KeyID)
		if err != nil {
			return err
		}
		c.Account.Owner = k.Owner
		n, err = ls.ChangeCredits(ctx, ch, c, guard)
		return err
	})
	return n, err
}

// Credits returns a credit balance, ErrNotFound if it has never been set,
// or errors.ErrUnsupported if the Store is no [LimitStore]. A balance of
// another owner than the acting administrator's (the owner's or one of its
// keys') is ErrNotFound, as one never set.
func (m *Manager) Credits(ctx context.Context, account CreditAccount) (CreditBalance, error) {
	ls, err := m.limitStore("read credits")
	if err != nil {
		return CreditBalance{}, err
	}
	if scope := ownerScope(ctx); scope != "" && account.Owner != scope {
		return CreditBalance{}, fmt.Errorf("apikey: read credits: %w", ErrNotFound)
	}
	b, err := ls.Credits(ctx, account)
	if errors.Is(err, ErrNotFound) {
		return CreditBalance{}, fmt.Errorf("apikey: read credits: %w", ErrNotFound)
	}
	if err != nil {
		return CreditBalance{}, m.storeError("read credits", err)
	}
	return b, nil
}

// statusBuffer returns buf with room for n states, or a new slice.
func statusBuffer(buf []LimitStatus, n int) []LimitStatus {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]LimitStatus, n)
}
