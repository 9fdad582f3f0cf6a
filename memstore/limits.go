package memstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

var _ apikey.LimitStore = (*Store)(nil)

// credits are the credit balances of a Store.
type credits struct {
	mu       sync.Mutex
	balances map[apikey.CreditAccount]*apikey.CreditBalance
}

// SetLimits stores a copy of limits (nil removes them) and sets UpdatedAt
// of a key, or returns [apikey.ErrNotFound] (or [apikey.ErrConflict], see
// Delete), recording an EventLimitsChanged.
func (s *Store) SetLimits(_ context.Context, ch apikey.Change, id uuid.UUID, limits *apikey.Limits, guard *apikey.Guard) error {
	limits = limits.Clone()
	return s.update(id, guard, func(k *apikey.Key) {
		e := apikey.NewEvent(ch, apikey.EventLimitsChanged, k)
		e.Old.Limits, e.New.Limits = k.Limits.Clone(), limits.Clone()
		s.record(e)
		k.Limits = limits
		k.UpdatedAt = ch.At.UTC()
	})
}

// ChangeCredits sets or adds to a balance, never below zero, and records
// an EventCreditsChanged, in one step under the store's lock.
func (s *Store) ChangeCredits(_ context.Context, ch apikey.Change, c apikey.CreditChange, guard *apikey.Guard) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var e apikey.Event
	if c.Account.KeyID != uuid.Nil {
		k, err := s.guarded(c.Account.KeyID, guard)
		if err != nil {
			return 0, err
		}
		c.Account.Owner = k.Owner
		e = apikey.NewEvent(ch, apikey.EventCreditsChanged, k)
	} else {
		e = apikey.NewEvent(ch, apikey.EventCreditsChanged, &apikey.Key{Owner: c.Account.Owner})
	}
	s.credits.mu.Lock()
	defer s.credits.mu.Unlock()
	b := s.credits.balances[c.Account]
	if b == nil {
		b = &apikey.CreditBalance{}
		s.credits.balances[c.Account] = b
	}
	old := b.Remaining
	if c.Set != nil {
		b.Remaining = *c.Set
	} else {
		b.Remaining = max(b.Remaining+c.Add, 0)
	}
	n := b.Remaining
	e.Old.Credits, e.New.Credits = &old, &n
	s.record(e)
	return n, nil
}

// SpendCredits takes cost from a balance that holds at least cost, after
// a refill that is due, under the credits' lock.
func (s *Store) SpendCredits(_ context.Context, account apikey.CreditAccount, cost int64, refill *apikey.Refill, periodStart time.Time) (int64, bool, error) {
	if cost < 0 {
		return 0, false, fmt.Errorf("memstore: spend credits: negative cost %d", cost)
	}
	s.credits.mu.Lock()
	defer s.credits.mu.Unlock()
	b := s.credits.balances[account]
	if b == nil {
		return 0, false, nil
	}
	if refill != nil && b.RefilledAt.Before(periodStart) {
		b.Remaining, b.RefilledAt = refill.Amount, periodStart.UTC()
	}
	if b.Remaining < cost {
		return b.Remaining, false, nil
	}
	b.Remaining -= cost
	return b.Remaining, true, nil
}

// Credits returns a copy of a balance, or [apikey.ErrNotFound].
func (s *Store) Credits(_ context.Context, account apikey.CreditAccount) (apikey.CreditBalance, error) {
	s.credits.mu.Lock()
	defer s.credits.mu.Unlock()
	b := s.credits.balances[account]
	if b == nil {
		return apikey.CreditBalance{}, fmt.Errorf("memstore: credits of %v: %w", account, apikey.ErrNotFound)
	}
	return *b, nil
}
