package apikey

import (
	"fmt"
	"strconv"
	"time"
)

// maxExpiryMicros is 9999-12-31T23:59:59.999999Z in Unix microseconds: the
// latest time that every Store (PostgreSQL, MySQL DATETIME, SQLite) and
// RFC 3339 JSON can hold.
const maxExpiryMicros = 253402300799999999

// MaxExpiry returns the latest expiry time a key may have,
// 9999-12-31T23:59:59.999999Z: the latest time that every Store and RFC
// 3339 JSON can represent.
func MaxExpiry() time.Time { return time.UnixMicro(maxExpiryMicros).UTC() }

// ValidateExpiry checks an expiry time given explicitly: it must be after
// now, and neither the zero instant nor after [MaxExpiry] (whatever offset
// it was written with; the instant counts). The error is a
// [*ValidationError] for the field "ExpiresAt" that wraps
// ErrInvalidExpiry.
func ValidateExpiry(t, now time.Time) error {
	switch {
	case t.IsZero():
		return expiryError("the zero time is not an expiry time")
	case t.After(MaxExpiry()):
		return expiryError("must be no later than 9999-12-31T23:59:59.999999Z")
	case !t.After(now):
		return expiryError("must be in the future")
	}
	return nil
}

func expiryError(reason string) error {
	return &ValidationError{Field: "ExpiresAt", Reason: reason, Err: ErrInvalidExpiry}
}

// ExpiryPolicy bounds the lifetimes of one owner's keys (see
// [WithExpiryPolicy]). The zero ExpiryPolicy sets no bound.
type ExpiryPolicy struct {
	// DefaultLifetime is the lifetime of a key issued without an expiry
	// time: it expires this long after it is issued. Zero: such a key
	// never expires (unless MaxLifetime requires an expiry).
	DefaultLifetime time.Duration

	// MaxLifetime is the longest a key may live, from its creation to its
	// expiry. A key asked with a later expiry, or with none when there is
	// no DefaultLifetime, is refused with a [*ValidationError] wrapping
	// ErrExpiryPolicy; nothing is ever silently shortened. Zero: no
	// maximum.
	MaxLifetime time.Duration
}

// String describes the policy for a person, such as "default lifetime
// 30d, maximum lifetime 90d", or "no expiry policy".
func (p ExpiryPolicy) String() string {
	switch {
	case p.DefaultLifetime > 0 && p.MaxLifetime > 0:
		return "default lifetime " + FormatLifetime(p.DefaultLifetime) + ", maximum lifetime " + FormatLifetime(p.MaxLifetime)
	case p.DefaultLifetime > 0:
		return "default lifetime " + FormatLifetime(p.DefaultLifetime)
	case p.MaxLifetime > 0:
		return "maximum lifetime " + FormatLifetime(p.MaxLifetime)
	}
	return "no expiry policy"
}

// validate reports a policy that no key could satisfy consistently.
func (p ExpiryPolicy) validate() error {
	switch {
	case p.DefaultLifetime < 0 || p.MaxLifetime < 0:
		return fmt.Errorf("negative lifetime in %v", p)
	case p.MaxLifetime > 0 && p.DefaultLifetime > p.MaxLifetime:
		return fmt.Errorf("the default lifetime exceeds the maximum: %v", p)
	}
	return nil
}

// FormatLifetime writes a lifetime in whole days as "30d", and otherwise as
// time.Duration does ("36h0m0s").
func FormatLifetime(d time.Duration) string {
	const day = 24 * time.Hour
	if d > 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}

// WithExpiryPolicy sets the expiry policy of every owner's keys. Default:
// none. Combine it with [WithOwnerExpiryPolicy] for a policy per owner. A
// negative lifetime, or a default longer than the maximum, is an error.
func WithExpiryPolicy(p ExpiryPolicy) Option {
	return func(c *config) error {
		if err := p.validate(); err != nil {
			return fmt.Errorf("apikey: WithExpiryPolicy: %w", err)
		}
		c.expiryPolicy = func(string) ExpiryPolicy { return p }
		return nil
	}
}

// WithOwnerExpiryPolicy sets the function that gives the expiry policy of
// an owner's keys: the application decides, per organization or plan. It
// is called on every Issue, Roll and SetExpiry, and by
// [Manager.ExpiryPolicy], and must be safe for concurrent use and fast. A
// policy it returns that is invalid (a negative lifetime, a default longer
// than the maximum) makes those calls fail, never pass unchecked.
func WithOwnerExpiryPolicy(policy func(owner string) ExpiryPolicy) Option {
	return func(c *config) error {
		if policy == nil {
			return fmt.Errorf("apikey: WithOwnerExpiryPolicy: nil function")
		}
		c.expiryPolicy = policy
		return nil
	}
}

// ExpiryPolicy returns the expiry policy of owner's keys, for a page or a
// tool to show; the zero ExpiryPolicy if none is configured. It returns an
// error if the configured function returns an invalid policy.
func (m *Manager) ExpiryPolicy(owner string) (ExpiryPolicy, error) {
	if m.expiryPolicy == nil {
		return ExpiryPolicy{}, nil
	}
	p := m.expiryPolicy(owner)
	if err := p.validate(); err != nil {
		return ExpiryPolicy{}, fmt.Errorf("apikey: expiry policy of owner %q: %w", owner, err)
	}
	return p, nil
}

// expiryRequest is what decides the expiry of a key being issued, rolled
// or changed.
type expiryRequest struct {
	owner      string
	requested  time.Time  // explicit, or zero
	inherited  *time.Time // the old key's expiry, for a successor
	useDefault bool       // apply the default lifetime when nothing else is given
	createdAt  time.Time  // the start of the key's lifetime
	now        time.Time
}

// resolveExpiry returns the expiry a key gets, or why it may not: an
// explicit expiry is validated and checked against the maximum lifetime, a
// successor keeps its predecessor's expiry (never more), and a key with
// none gets the default lifetime or, under a maximum, is refused.
func (m *Manager) resolveExpiry(r expiryRequest) (*time.Time, error) {
	p, err := m.ExpiryPolicy(r.owner)
	if err != nil {
		return nil, err
	}
	var t time.Time
	switch {
	case !r.requested.IsZero():
		if err := ValidateExpiry(r.requested, r.now); err != nil {
			return nil, err
		}
		t = r.requested.UTC().Truncate(time.Microsecond)
		if !t.After(r.now) { // within the microsecond of now
			return nil, expiryError("must be in the future")
		}
	case r.inherited != nil:
		t = *r.inherited
		if !t.After(r.now) {
			return nil, expiryError("the key has expired: give its successor an expiry time")
		}
	case r.useDefault && p.DefaultLifetime > 0:
		t = r.createdAt.Add(p.DefaultLifetime)
	case p.MaxLifetime > 0:
		return nil, policyError(p, "requires an expiry time")
	default:
		return nil, nil
	}
	if p.MaxLifetime > 0 && t.After(r.createdAt.Add(p.MaxLifetime)) {
		return nil, policyError(p, "allows no expiry later than "+r.createdAt.Add(p.MaxLifetime).Format(time.RFC3339))
	}
	return &t, nil
}

func policyError(p ExpiryPolicy, what string) error {
	return &ValidationError{Field: "ExpiresAt", Reason: "the expiry policy (" + p.String() + ") " + what, Err: ErrExpiryPolicy}
}
