package apikey

import (
	"context"
	"fmt"
)

// planOf returns the owner's default limits (see [WithOwnerLimits]) when
// the actor in ctx is an administrator limited to one owner, and whether
// there are any: what such an administrator may tighten but never loosen.
// Trusted code and operators (AllOwners) have no plan over them.
func (m *Manager) planOf(ctx context.Context) (plan Limits, owner string, ok bool) {
	owner = ownerScope(ctx)
	if owner == "" || m.limits.ownerLimits == nil {
		return Limits{}, "", false
	}
	return m.limits.ownerLimits(owner), owner, true
}

// checkLimitsEscalation refuses, with an error wrapping ErrEscalation, key
// limits set by an administrator limited to one owner that would loosen
// the owner's defaults (the operator's plan): a rate limit of the same
// name that lets more through (a shorter interval, a larger burst, or a
// key's counter instead of the owner's), or a credit policy replacing the
// plan's. Limits of other names, and tighter ones, are theirs to set.
func (m *Manager) checkLimitsEscalation(ctx context.Context, l *Limits) error {
	if l.IsZero() {
		return nil
	}
	plan, owner, ok := m.planOf(ctx)
	if !ok {
		return nil
	}
	if l.Credits != nil && plan.Credits != nil {
		return fmt.Errorf("%w: the credit policy of owner %q is the operator's: an administrator cannot replace it", ErrEscalation, owner)
	}
	for _, r := range l.Rates {
		for _, d := range plan.Rates {
			if r.Name != d.Name {
				continue
			}
			if r.interval() < d.interval() || r.burst() > d.burst() || r.Scope == ScopeKey && d.Scope == ScopeOwner {
				return fmt.Errorf("%w: rate limit %q would be looser than owner %q's (%v): an administrator can only tighten it", ErrEscalation, r.Name, owner, d)
			}
		}
	}
	return nil
}

// checkCreditsEscalation refuses, with an error wrapping ErrEscalation, a
// change of credits by an administrator limited to one owner whose plan
// (see [WithOwnerLimits]) has a credit policy: the balances it spends are
// the operator's to fill, the owner's as well as its keys'.
func (m *Manager) checkCreditsEscalation(ctx context.Context) error {
	if plan, owner, ok := m.planOf(ctx); ok && plan.Credits != nil {
		return fmt.Errorf("%w: the credits of owner %q come with its plan: only the operator changes them", ErrEscalation, owner)
	}
	return nil
}
