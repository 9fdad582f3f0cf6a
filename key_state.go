package apikey

import "time"

// Works reports whether the key works at now: active, not expired and not
// past the end of its grace period. It is what ListQuery.WorkingAt tests.
func (k *Key) Works(now time.Time) bool { return k.Active && !k.Expired(now) }

// KeyState is why a key works or not, as the admin API, the page and the
// CLI show it.
type KeyState string

// KeyState values.
const (
	// StateActive is a key that works.
	StateActive KeyState = "active"
	// StateInactive is a deactivated key.
	StateInactive KeyState = "inactive"
	// StateExpired is a key past its expiry time.
	StateExpired KeyState = "expired"
	// StateRolled is a rolled key past the end of its grace period: its
	// successor is RolledTo.
	StateRolled KeyState = "rolled"
)

// State returns why the key works or not at now: StateInactive first (a
// deactivated key), then StateRolled for a rolled key whose grace period
// ended, then StateExpired, else StateActive. A rolled key in its grace
// period is StateActive.
func (k *Key) State(now time.Time) KeyState {
	switch {
	case !k.Active:
		return StateInactive
	case k.GraceEndsAt != nil && !now.Before(*k.GraceEndsAt):
		return StateRolled
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return StateExpired
	}
	return StateActive
}

// State returns why k works or not now, by the Manager's clock (see
// [WithClock]): what the admin API, the page and the CLI show.
func (m *Manager) State(k *Key) KeyState { return k.State(m.now()) }
