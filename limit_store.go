package apikey

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// LimitStore is a [Store] that keeps usage limits and credit balances:
// what [Manager.SetLimits], [Manager.ChangeCredits], [Manager.Credits]
// and the metering of requests with credits need. A Manager over a Store
// without these methods returns an error wrapping errors.ErrUnsupported
// from SetLimits and ChangeCredits, and from Issue with limits: limits are
// refused, never dropped. memstore and sqlstore implement it; the
// conformance suite (package storetest) checks it.
//
// Beyond the contract of Store, a LimitStore stores the field Limits of
// every key, including those given to Create, and every lookup (Get,
// GetByLookupID, List) returns it.
type LimitStore interface {
	Store

	// SetLimits sets (or, with nil, removes) the limits of a key and its
	// UpdatedAt (to ch.At), or returns ErrNotFound. With a non-nil guard it is
	// conditional (see [Guard]). Like every change, it appends an event
	// (EventLimitsChanged) if the Store keeps events.
	SetLimits(ctx context.Context, ch Change, id uuid.UUID, limits *Limits, guard *Guard) error

	// ChangeCredits sets a balance to c.Set, or adds c.Add (which may be
	// negative) to it, never below zero, in one atomic step, and returns
	// the balance after the change. A balance that does not exist yet is
	// created (from zero). For a key's balance (c.Account.KeyID not
	// uuid.Nil) the key must exist and pass guard, or ErrNotFound; an
	// owner's balance needs no key. Like every change, it appends an event
	// (EventCreditsChanged, Old.Credits and New.Credits, made by ch) if the
	// Store keeps events, in the same atomic step.
	ChangeCredits(ctx context.Context, ch Change, c CreditChange, guard *Guard) (int64, error)

	// SpendCredits takes cost from a balance if it holds at least cost, in
	// one atomic step (one conditional statement), and returns whether it
	// did and the balance after. Of N concurrent spends of 1 from a
	// balance of k, exactly min(N, k) succeed; a balance never goes below
	// zero. If refill is not nil and the balance was last refilled before
	// periodStart, it is first set to refill.Amount (and its refill time
	// to periodStart), in the same step. A balance that does not exist is
	// zero: ok false, nothing created. Spending appends no event.
	SpendCredits(ctx context.Context, account CreditAccount, cost int64, refill *Refill, periodStart time.Time) (remaining int64, ok bool, err error)

	// Credits returns a balance, or ErrNotFound if it does not exist.
	Credits(ctx context.Context, account CreditAccount) (CreditBalance, error)
}

// CreditAccount names a credit balance: a key's (KeyID), or an owner's,
// shared by the owner's keys (KeyID uuid.Nil). Owner is always set.
type CreditAccount struct {
	Owner string
	KeyID uuid.UUID
}

// CreditBalance is a stored credit balance.
type CreditBalance struct {
	// Remaining is the balance, never negative.
	Remaining int64 `json:"remaining"`

	// RefilledAt is the start of the refill period in which it was last
	// refilled (UTC), zero if never.
	RefilledAt time.Time `json:"refilled_at,omitzero"`
}

// CreditChange is an administrator's change of a balance.
type CreditChange struct {
	Account CreditAccount

	// Set, if not nil, is the new balance; otherwise Add is added.
	Set *int64
	Add int64
}
