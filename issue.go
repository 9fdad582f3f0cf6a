package apikey

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"
)

// IssueRequest describes a key to issue.
type IssueRequest struct {
	// Name labels the key for administrators. Required; see ValidateName.
	Name string

	// Groups are the permission groups the key holds; at least one is
	// required. Duplicates are dropped and the groups are sorted.
	Groups []string

	// CreatedBy names the administrator issuing the key. It is ignored when
	// the context carries an Actor (see [NewActorContext]), whose name is recorded
	// instead; otherwise it is required.
	CreatedBy string

	// ExpiresAt, if not zero, is when the key stops working: after now and
	// no later than [MaxExpiry] (see [ValidateExpiry]), and within the
	// owner's expiry policy (see [WithExpiryPolicy]). Zero gives the key
	// the policy's default lifetime, or no expiry if the policy has none.
	ExpiresAt time.Time

	// Owner is the owner of the key (see [ValidateOwner]). With an actor in
	// the context it must be empty or the actor's own owner, which the key
	// then gets; trusted code (no actor) that leaves it empty issues the
	// key to DefaultOwner.
	Owner string

	// Metadata is the application's own data about the key, stored and
	// returned verbatim (see [ValidateMetadata]); optional.
	Metadata map[string]string

	// Limits are the key's own usage limits (see [Limits]); optional. A
	// Store that cannot keep them (see [LimitStore]) refuses the key with
	// an error wrapping errors.ErrUnsupported.
	Limits *Limits
}

// Issue creates a key and returns its record and its plaintext. The
// plaintext is returned only after the record is stored, exactly once: only
// its hash is kept, so a lost key cannot be recovered, only replaced. Show it
// to the administrator and forget it.
//
// Errors wrap ErrInvalidName, ErrInvalidGroup, ErrUnknownGroup,
// ErrInvalidOwner, ErrInvalidMetadata, ErrEscalation, ErrInvalidExpiry,
// ErrExpiryPolicy, ErrQuotaExceeded or ErrStoreFailure. A refused value is a
// [*ValidationError] that names the field, and a refused escalation an
// [*EscalationError] that names the groups.
func (m *Manager) Issue(ctx context.Context, req IssueRequest) (*Key, string, error) {
	if m.closed.Load() {
		return nil, "", ErrClosed
	}
	if err := ValidateName(req.Name); err != nil {
		return nil, "", err
	}
	groups, err := m.checkGroups(ctx, req.Groups)
	if err != nil {
		return nil, "", err
	}
	owner := req.Owner
	createdBy := req.CreatedBy
	if actor, ok := ActorFromContext(ctx); ok {
		createdBy = actor.Name
		if scope := actor.scope(); scope != "" {
			if owner != "" && owner != scope {
				return nil, "", fmt.Errorf("%w: an administrator issues keys only to their own owner", ErrEscalation)
			}
			owner = scope
		}
	}
	if owner == "" {
		owner = DefaultOwner
	}
	if err := ValidateOwner(owner); err != nil {
		return nil, "", err
	}
	if err := ValidateMetadata(req.Metadata); err != nil {
		return nil, "", err
	}
	if err := m.checkIssueLimits(ctx, req.Limits); err != nil {
		return nil, "", err
	}
	if err := ValidateName(createdBy); err != nil {
		var v *ValidationError
		if errors.As(err, &v) {
			v.Field = "CreatedBy"
		}
		return nil, "", err
	}
	change := m.change(ctx)
	now := change.At
	expiresAt, err := m.resolveExpiry(expiryRequest{owner: owner, requested: req.ExpiresAt, useDefault: true, createdAt: now, now: now})
	if err != nil {
		return nil, "", err
	}
	// A lookup ID collision (72 random bits) is all but impossible, but a
	// duplicate must never be silently overwritten: draw again.
	for attempt := 0; ; attempt++ {
		k, plaintext, err := m.newSecret()
		if err != nil {
			return nil, "", err
		}
		k.Owner = owner
		k.Name = req.Name
		k.Groups = groups
		k.Active = true
		k.CreatedAt, k.UpdatedAt = now, now
		k.CreatedBy = createdBy
		k.ExpiresAt = expiresAt
		k.Metadata = maps.Clone(req.Metadata)
		k.Limits = req.Limits.Clone()
		err = m.store.Create(ctx, change, k, m.ownerQuota)
		if errors.Is(err, ErrDuplicate) && attempt < 2 {
			continue
		}
		if err != nil {
			return nil, "", m.storeError("create", err)
		}
		m.misses.forget(k.LookupID)
		return k, plaintext, nil
	}
}
