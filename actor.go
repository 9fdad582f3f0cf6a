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

// lacks returns the groups in groups that the actor does not hold, sorted
// and without duplicates, or nil if the actor holds them all.
func (a Actor) lacks(groups []string) []string {
	var missing []string
	for _, g := range groups {
		if !slices.Contains(a.Groups, g) {
			missing = append(missing, g)
		}
	}
	slices.Sort(missing)
	return slices.Compact(missing)
}

type actorContextKey struct{}

// NewActorContext returns a context that makes every Manager operation
// called with it act on behalf of a: Issue and SetGroups refuse groups a
// does not hold, and Rename, SetGroups, Activate, Deactivate and Delete
// refuse keys holding groups a does not hold, with an [*EscalationError]
// that names them and wraps ErrEscalation.
//
// Without an actor in the context the caller is trusted (a command-line tool,
// a bootstrap step) and nothing is refused for escalation.
func NewActorContext(ctx context.Context, a Actor) context.Context {
	a.Groups = slices.Clone(a.Groups)
	return context.WithValue(ctx, actorContextKey{}, a)
}

// ActorFromContext returns the actor set by [NewActorContext], if any.
func ActorFromContext(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorContextKey{}).(Actor)
	return a, ok
}
