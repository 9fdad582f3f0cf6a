package apikey

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Group is a permission group that keys may hold, as registered with
// [WithGroups].
type Group struct {
	// Name is what keys hold and routes require, such as "billing:read".
	Name string `json:"name"`

	// Description tells an administrator what the group allows.
	Description string `json:"description"`
}

// WithGroups registers the permission groups that keys may hold. Once set,
// Issue and SetGroups refuse any other group with ErrUnknownGroup. Without
// it, any well-formed group is accepted.
func WithGroups(groups ...Group) Option {
	return func(c *config) error {
		for _, g := range groups {
			if err := ValidateGroup(g.Name); err != nil {
				return fmt.Errorf("apikey: WithGroups: %w", err)
			}
		}
		c.groups = append(c.groups, groups...)
		return nil
	}
}

// Groups returns the registered permission groups sorted by name, or nil if
// none were registered with [WithGroups].
func (m *Manager) Groups() []Group {
	if m.groups == nil {
		return nil
	}
	out := make([]Group, 0, len(m.groups))
	for _, g := range m.groups {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b Group) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// checkGroups normalizes groups and checks them against the registry and the
// actor in ctx.
func (m *Manager) checkGroups(ctx context.Context, groups []string) ([]string, error) {
	groups, err := normalizeGroups(groups)
	if err != nil {
		return nil, err
	}
	if m.groups != nil {
		for _, g := range groups {
			if _, ok := m.groups[g]; !ok {
				return nil, &ValidationError{Field: "Groups", Reason: strconv.Quote(g) + " is not a registered group", Err: ErrUnknownGroup}
			}
		}
	}
	if actor, ok := ActorFromContext(ctx); ok {
		if missing := actor.lacks(groups); missing != nil {
			return nil, &EscalationError{Missing: missing, Granting: true}
		}
	}
	return groups, nil
}
