package apikey

import (
	"context"
	"slices"
)

// Actor is the administrator on whose behalf the Manager acts. An actor
// grants only groups they hold, and changes or deletes only keys whose groups
// they all hold: that is what makes privilege escalation through key
// management impossible. An actor acts within one owner: keys of any other
// owner do not exist for them.
type Actor struct {
	// ID identifies the administrator in the application's own terms (a
	// user ID, an email address); optional. It is recorded, with Name, in
	// the events of their changes (see [Event]).
	ID string

	// Name is recorded as the CreatedBy of the keys the actor issues.
	Name string

	// Preview is the preview of the actor's own API key, for an actor
	// that is a key (as the admin API's are, with ID the key's ID);
	// optional. It is recorded beside Name in the events of their
	// changes, so that two keys with the same name are told apart.
	Preview string

	// Groups are the groups the actor holds.
	Groups []string

	// Owner is the owner the actor administers; "" means DefaultOwner.
	// Every operation the actor does sees and changes only this owner's
	// keys, and the keys they issue belong to it.
	Owner string

	// AllOwners is the explicit operator scope (platform staff, a
	// command-line tool): the actor sees and changes the keys of every
	// owner, and Owner is ignored. Nothing sets it by default; the admin
	// API never does unless the application's actor function says so.
	AllOwners bool
}

// scope returns the owner the actor may see, or "" for every owner.
func (a Actor) scope() string {
	switch {
	case a.AllOwners:
		return ""
	case a.Owner == "":
		return DefaultOwner
	default:
		return a.Owner
	}
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
// a bootstrap step): nothing is refused for escalation, and every owner's
// keys are visible.
func NewActorContext(ctx context.Context, a Actor) context.Context {
	a.Groups = slices.Clone(a.Groups)
	return context.WithValue(ctx, actorContextKey{}, a)
}

// ActorFromContext returns the actor set by [NewActorContext], if any.
func ActorFromContext(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorContextKey{}).(Actor)
	return a, ok
}
