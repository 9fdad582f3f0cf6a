package admin

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/apikit/apikey"
)

// Errors an [ActorFunc] returns, wrapped or not, to refuse a request.
var (
	// ErrUnauthenticated means the request does not say who sends it: the
	// API answers 401.
	ErrUnauthenticated = errors.New("admin: not authenticated")

	// ErrForbidden means the sender may not manage keys: the API answers
	// 403. To tell the administrator why, return a [*ForbiddenError]
	// instead.
	ErrForbidden = errors.New("admin: not an administrator")
)

// ForbiddenError is an [ErrForbidden] with a reason for the administrator,
// which the API sends as the detail of its 403 response:
//
//	return apikey.Actor{}, &admin.ForbiddenError{Reason: "Only the operations team manages keys."}
type ForbiddenError struct {
	// Reason is a sentence for the administrator. Empty: a generic one.
	Reason string
}

// Error returns ErrForbidden's message and the reason.
func (e *ForbiddenError) Error() string {
	if e.Reason == "" {
		return ErrForbidden.Error()
	}
	return ErrForbidden.Error() + ": " + e.Reason
}

// Unwrap returns ErrForbidden.
func (e *ForbiddenError) Unwrap() error { return ErrForbidden }

// keyActor is the default ActorFunc: the key that the Manager's
// Authenticator verified acts, if it holds adminGroup. The actor's name is
// the key's name (always a valid name, so a valid creator), its groups are
// the key's (an admin key grants only the groups it holds itself), and its
// owner is the key's: an administrator's key manages its own
// organization's keys and no other's.
func keyActor(adminGroup string) ActorFunc {
	return func(r *http.Request) (apikey.Actor, error) {
		k, ok := apikey.FromContext(r.Context())
		if !ok {
			return apikey.Actor{}, ErrUnauthenticated
		}
		if !k.HasGroup(adminGroup) {
			return apikey.Actor{}, &ForbiddenError{Reason: fmt.Sprintf("This API key does not hold the %s group, which managing keys requires.", adminGroup)}
		}
		return apikey.Actor{ID: k.ID.String(), Name: k.Name, Preview: k.Preview, Groups: k.Groups, Owner: k.Owner}, nil
	}
}
