package admin

import (
	"context"
	"errors"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// errLastAdministrator refuses to deactivate or delete the last active key
// that can administer its organization, or to take the admin group from it:
// nobody could sign in to the admin page afterwards.
var errLastAdministrator = errors.New("admin: the last active administrator key of the organization")

// keepAnAdministrator runs change, which deactivates or deletes the key id
// or takes the admin group from it, unless force is set or the key is the
// last one of its organization that can sign in as an administrator: active,
// not expired, holding the admin group. Then it returns errLastAdministrator
// and changes nothing.
//
// It applies with the default actor only, which knows the admin group;
// under WithActor the application decides who administers, and every change
// runs without this check.
//
// What is guaranteed: within one Handler, the check and the change run under
// one lock, so two administrators who deactivate each other's keys at the
// same time cannot both succeed and leave the organization without one.
// Handlers in several processes sharing a database do not share the lock:
// two such requests at the same instant can both pass the check. The
// apikey command recovers from that, and from a forced change (see the
// package doc).
func (h *Handler) keepAnAdministrator(ctx context.Context, id uuid.UUID, force bool, change func() error) error {
	if h.adminGroup == "" || force {
		return change()
	}
	h.adminMu.Lock()
	defer h.adminMu.Unlock()
	k, err := h.m.Get(ctx, id)
	if err != nil {
		return err
	}
	now := time.Now()
	if !canAdminister(k, h.adminGroup, now) {
		return change()
	}
	// Another key of the organization that can administer it? The actor's
	// context scopes the list to the organization.
	opts := apikey.ListOptions{Status: apikey.StatusActive, Group: h.adminGroup, Limit: apikey.MaxListLimit}
	for {
		page, err := h.m.List(ctx, opts)
		if errors.Is(err, errors.ErrUnsupported) && opts.Status == apikey.StatusActive {
			// A Store that cannot list the working keys lists them all:
			// canAdminister checks each.
			opts.Status, opts.Cursor = apikey.StatusAny, ""
			continue
		}
		if err != nil {
			return err
		}
		for _, other := range page.Keys {
			if other.ID != id && other.Owner == k.Owner && canAdminister(other, h.adminGroup, now) {
				return change()
			}
		}
		if page.Next == "" {
			return errLastAdministrator
		}
		opts.Cursor = page.Next
	}
}

// canAdminister reports whether a key can sign in to the admin API now.
func canAdminister(k *apikey.Key, adminGroup string, now time.Time) bool {
	return k.Active && !k.Expired(now) && k.HasGroup(adminGroup)
}
