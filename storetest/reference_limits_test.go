package storetest

import (
	"context"
	"runtime"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

var _ apikey.LimitStore = (*refStore)(nil)

// refBalance is a credit balance of refStore, kept under s.mu.
type refBalance struct {
	remaining  int64
	refilledAt time.Time
}

func (s *refStore) balance(a apikey.CreditAccount) *refBalance {
	if s.credits == nil {
		s.credits = make(map[apikey.CreditAccount]*refBalance)
	}
	return s.credits[a]
}

func (s *refStore) SetLimits(ctx context.Context, ch apikey.Change, id uuid.UUID, limits *apikey.Limits, guard *apikey.Guard) error {
	if s.has("setlimits-guard-ignored") {
		guard = nil
	}
	limits = limits.Clone()
	return s.update(ctx, id, guard, func(k *apikey.Key) apikey.Event {
		e := apikey.NewEvent(ch, apikey.EventLimitsChanged, k)
		e.Old.Limits, e.New.Limits = k.Limits.Clone(), limits.Clone()
		return e
	}, func(k *apikey.Key) bool {
		k.Limits = limits
		k.UpdatedAt = s.utc(ch.At)
		return true
	})
}

func (s *refStore) ChangeCredits(ctx context.Context, ch apikey.Change, c apikey.CreditChange, guard *apikey.Guard) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := &apikey.Key{Owner: c.Account.Owner}
	if c.Account.KeyID != uuid.Nil {
		i, err := s.locate(c.Account.KeyID, guard)
		if err != nil {
			return 0, err
		}
		k = s.keys[i]
		c.Account.Owner = k.Owner
	}
	b := s.balance(c.Account)
	if b == nil {
		b = &refBalance{}
		s.credits[c.Account] = b
	}
	old := b.remaining
	switch {
	case c.Set != nil:
		b.remaining = *c.Set
	case s.has("credits-subtract-below-zero"):
		b.remaining += c.Add
	default:
		b.remaining = max(b.remaining+c.Add, 0)
	}
	n := b.remaining
	if !s.has("credits-change-no-event") {
		e := apikey.NewEvent(ch, apikey.EventCreditsChanged, k)
		e.Old.Credits, e.New.Credits = &old, &n
		s.record(ctx, e)
	}
	return n, nil
}

func (s *refStore) SpendCredits(_ context.Context, a apikey.CreditAccount, cost int64, refill *apikey.Refill, periodStart time.Time) (int64, bool, error) {
	if s.has("credits-check-then-spend") {
		// Read the balance under one lock and write it under another: two
		// spendings of the last credit both succeed.
		s.mu.Lock()
		b := s.balance(a)
		var left int64
		if b != nil {
			left = b.remaining
		}
		s.mu.Unlock()
		if b == nil || left < cost {
			return left, false, nil
		}
		runtime.Gosched()
		s.mu.Lock()
		defer s.mu.Unlock()
		b.remaining = left - cost
		return b.remaining, true, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.balance(a)
	if b == nil {
		return 0, false, nil
	}
	if refill != nil && b.refilledAt.Before(periodStart) && !s.has("credits-refill-ignored") {
		b.remaining, b.refilledAt = refill.Amount, periodStart.UTC()
	}
	if b.remaining < cost && !s.has("credits-go-negative") {
		return b.remaining, false, nil
	}
	b.remaining -= cost
	return b.remaining, true, nil
}

func (s *refStore) Credits(_ context.Context, a apikey.CreditAccount) (apikey.CreditBalance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.balance(a)
	if b == nil {
		return apikey.CreditBalance{}, s.notFound()
	}
	return apikey.CreditBalance{Remaining: b.remaining, RefilledAt: b.refilledAt}, nil
}
