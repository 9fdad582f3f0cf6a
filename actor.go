package apikey

import (
	"context"
	"slices"
)

// Actor is the administrator on whose behalf the Manager acts. An actor
// grants only groups they hold, and changes or deletes only keys whose groups
// they all hold: that is what makes privilege escalation through key
// management impossible.
type Actor struct {
	// Name is recorded as the CreatedBy of the keys the actor issues.
	Name string

	// Groups are the groups the actor holds.
	Groups []string
}

// holdsAll reports whether the actor holds every group in groups.
func (a Actor) holdsAll(groups []string) bool {
	for _, g := range groups {
		if !slices.Contains(a.Groups, g) {
			return false
		}
	}
	return true
}

type actorContextKey struct{}

// WithActor returns a context that makes every Manager operation called with
// it act on behalf of a: Issue and SetGroups refuse groups a does not hold,
// and Rename, SetGroups, Activate, Deactivate and Delete refuse keys holding
// groups a does not hold, with ErrEscalation.
//
// Without an actor in the context the caller is trusted (a command-line tool,
// a bootstrap step) and nothing is refused for escalation.
func WithActor(ctx context.Context, a Actor) context.Context {
	a.Groups = slices.Clone(a.Groups)
	return context.WithValue(ctx, actorContextKey{}, a)
}

// ActorFromContext returns the actor set by WithActor, if any.
func ActorFromContext(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorContextKey{}).(Actor)
	return a, ok
}
