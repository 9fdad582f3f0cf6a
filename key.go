package apikey

import (
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/google/uuid"
)

// Key is the stored record of an API key. It never holds the plaintext key:
// that is returned once, by [Manager.Issue], and kept nowhere.
type Key struct {
	// ID identifies the key in the admin API and the store (UUID v7).
	ID uuid.UUID `json:"id"`

	// Owner is the organization, workspace, account or user the key
	// belongs to: an opaque string the application chooses (see
	// [ValidateOwner]), set when the key is issued and never changed. An
	// administrator acting for one owner never sees another owner's keys.
	Owner string `json:"owner"`

	// Name is the administrator's label for the key, stored verbatim.
	Name string `json:"name"`

	// Groups are the permission groups the key holds: the key is allowed
	// exactly what these groups allow, and nothing more.
	Groups []string `json:"groups"`

	// Active is false for a deactivated key, which processes no request.
	Active bool `json:"active"`

	// Preview is the beginning and the end of the key, such as
	// "acme_live_3Fq9…x7Ab", safe to display. It never works as a key.
	Preview string `json:"preview"`

	// LookupID is the public, non-secret part of the key by which the store
	// finds it. It is not serialised.
	LookupID string `json:"-"`

	// Hash is the self-describing encoded hash of the key (see [Hasher]).
	// It is never serialised.
	Hash string `json:"-"`

	// CreatedAt is when the key was issued (UTC).
	CreatedAt time.Time `json:"created_at"`

	// CreatedBy names the administrator who issued the key.
	CreatedBy string `json:"created_by"`

	// UpdatedAt is when the name, groups or status last changed (UTC).
	UpdatedAt time.Time `json:"updated_at"`

	// LastUsedAt is when the key last authenticated a request (UTC), nil
	// until its first use. Its granularity is the flush interval of the
	// Manager (see [WithLastUsedFlushInterval]).
	LastUsedAt *time.Time `json:"last_used_at"`

	// ExpiresAt is when the key stops working (UTC), nil if it never does.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`

	// RolledFrom is the key this one succeeded when it was issued by
	// [Manager.Roll], uuid.Nil otherwise.
	RolledFrom uuid.UUID `json:"rolled_from,omitzero"`

	// RolledTo is the successor that [Manager.Roll] issued for this key,
	// uuid.Nil until the key is rolled. A key is rolled at most once.
	RolledTo uuid.UUID `json:"rolled_to,omitzero"`

	// RolledAt is when the key was rolled (UTC), nil until it is: the
	// moment it became deprecated.
	RolledAt *time.Time `json:"rolled_at,omitempty"`

	// GraceEndsAt is when a rolled key stops working (UTC): the end of the
	// grace period chosen when it was rolled, nil for a key not rolled.
	// From then on it is refused exactly as an expired key, with
	// ErrExpired. See [Key.EndsAt].
	GraceEndsAt *time.Time `json:"grace_ends_at,omitempty"`

	// Metadata is the application's own data about the key (see
	// [ValidateMetadata] for its bounds), returned verbatim. The library
	// never uses it to authorize anything and never logs it.
	Metadata map[string]string `json:"metadata,omitempty"`

	// Limits are the key's own usage limits (see [Limits]), nil for none:
	// the owner's defaults then apply (see [WithOwnerLimits]).
	Limits *Limits `json:"limits,omitempty"`
}

// keyWithStorage holds a Key together with room for its groups and times, so
// that Clone costs one allocation for a key with up to four groups.
type keyWithStorage struct {
	key         Key
	groups      [4]string
	lastUsedAt  time.Time
	expiresAt   time.Time
	rolledAt    time.Time
	graceEndsAt time.Time
}

// smallKeyWithStorage is the same for the common key with at most two groups,
// no expiry and not rolled: 288 bytes instead of 400. Clone is on the path of every
// verification, and with a million keys in memory the garbage collector's
// cost grows with every byte it allocates.
type smallKeyWithStorage struct {
	key        Key
	groups     [2]string
	lastUsedAt time.Time
}

// Clone returns a deep copy of k: mutating the copy, its Groups or its times
// never changes k. Stores use it to hand out and keep copies.
func (k *Key) Clone() *Key {
	if k == nil {
		return nil
	}
	var (
		c                *Key
		groups           []string
		lastUsedAt       *time.Time
		expiresAtStorage *time.Time
		rolledAt         *time.Time
		graceEndsAt      *time.Time
	)
	if len(k.Groups) <= 2 && k.ExpiresAt == nil && k.RolledAt == nil && k.GraceEndsAt == nil {
		s := &smallKeyWithStorage{key: *k}
		c, groups, lastUsedAt = &s.key, s.groups[:], &s.lastUsedAt
	} else {
		s := &keyWithStorage{key: *k}
		c, groups, lastUsedAt, expiresAtStorage = &s.key, s.groups[:], &s.lastUsedAt, &s.expiresAt
		rolledAt, graceEndsAt = &s.rolledAt, &s.graceEndsAt
	}
	switch {
	case k.Groups == nil:
		c.Groups = nil
	case len(k.Groups) <= len(groups):
		n := copy(groups, k.Groups)
		c.Groups = groups[:n:n]
	default:
		c.Groups = append([]string(nil), k.Groups...)
	}
	if k.LastUsedAt != nil {
		*lastUsedAt = *k.LastUsedAt
		c.LastUsedAt = lastUsedAt
	}
	if k.ExpiresAt != nil {
		*expiresAtStorage = *k.ExpiresAt
		c.ExpiresAt = expiresAtStorage
	}
	if k.RolledAt != nil {
		*rolledAt = *k.RolledAt
		c.RolledAt = rolledAt
	}
	if k.GraceEndsAt != nil {
		*graceEndsAt = *k.GraceEndsAt
		c.GraceEndsAt = graceEndsAt
	}
	if k.Metadata != nil {
		c.Metadata = maps.Clone(k.Metadata)
	}
	if k.Limits != nil {
		c.Limits = k.Limits.Clone()
	}
	return c
}

// HasGroup reports whether the key holds group, compared byte for byte.
func (k *Key) HasGroup(group string) bool {
	for _, g := range k.Groups {
		if g == group {
			return true
		}
	}
	return false
}

// Expired reports whether the key has stopped working by now: its expiry
// time or the end of its grace period (see [Key.EndsAt]) is at or before
// now.
func (k *Key) Expired(now time.Time) bool {
	end, ok := k.EndsAt()
	return ok && !now.Before(end)
}

// EndsAt returns when the key stops working: the earlier of its expiry time
// and, for a rolled key, the end of its grace period. ok is false for a key
// that never stops by itself. An application can warn its clients with it;
// the [Authenticator] does, with Deprecation and Sunset headers.
func (k *Key) EndsAt() (end time.Time, ok bool) {
	switch {
	case k.ExpiresAt != nil && k.GraceEndsAt != nil:
		if k.GraceEndsAt.Before(*k.ExpiresAt) {
			return *k.GraceEndsAt, true
		}
		return *k.ExpiresAt, true
	case k.ExpiresAt != nil:
		return *k.ExpiresAt, true
	case k.GraceEndsAt != nil:
		return *k.GraceEndsAt, true
	}
	return time.Time{}, false
}

// Rolled reports whether the key has a successor (see [Manager.Roll]).
func (k *Key) Rolled() bool { return k.RolledTo != uuid.Nil }

// Deprecation tells whether a working key is deprecated at now, and since
// when: a rolled key is deprecated from the moment it was rolled, and a
// key that stops working within window of now (an expiring key) from the
// start of that window. sunset is when it stops working (see
// [Key.EndsAt]). ok is false for a key that is not deprecated at now, and
// for a key that has already stopped working. These are the facts the
// Authenticator sends as Deprecation (RFC 9745) and Sunset (RFC 8594)
// headers (see [AuthConfig.DeprecationWindow]).
func (k *Key) Deprecation(now time.Time, window time.Duration) (since, sunset time.Time, ok bool) {
	end, ends := k.EndsAt()
	if ends && !now.Before(end) {
		return time.Time{}, time.Time{}, false
	}
	if k.RolledAt != nil {
		return *k.RolledAt, end, true
	}
	if !ends || window <= 0 {
		return time.Time{}, time.Time{}, false
	}
	start := end.Add(-window)
	if now.Before(start) {
		return time.Time{}, time.Time{}, false
	}
	if start.Before(k.CreatedAt) {
		start = k.CreatedAt
	}
	return start, end, true
}

// LogValue implements slog.LogValuer so that logging a Key never prints its
// hash, lookup ID or metadata.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", k.ID.String()),
		slog.String("owner", k.Owner),
		slog.String("name", k.Name),
		slog.String("preview", k.Preview),
		slog.Any("groups", k.Groups),
		slog.Bool("active", k.Active),
	)
}

// Format implements fmt.Formatter so that printing a Key with any verb
// (%v, %+v, %#v, %s) shows every field but the hash and lookup ID, which
// are replaced by "[redacted]", and the metadata, which is left out (the
// application's data is its own to log): a Key printed into a log by a hook or a
// handler leaks nothing that helps guess or look up a key.
func (k Key) Format(f fmt.State, verb rune) {
	type key Key // without methods, so that fmt prints its fields
	if k.Hash != "" {
		k.Hash = "[redacted]"
	}
	if k.LookupID != "" {
		k.LookupID = "[redacted]"
	}
	k.Metadata = nil
	fmt.Fprintf(f, fmt.FormatString(f, verb), key(k))
}
