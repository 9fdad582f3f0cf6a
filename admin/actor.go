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
	// 403, with the error's message as the detail of the response. Wrap it
	// with a message for the administrator:
	//
	//	fmt.Errorf("%w: only the operations team manages keys", admin.ErrForbidden)
	ErrForbidden = errors.New("admin: not an administrator")
)

// keyActor is the default ActorFunc: the key that the Manager's middleware
// verified acts, if it holds adminGroup. The actor's name is the key's name
// (always a valid name, so a valid creator), and its groups are the key's:
// an admin key grants only the groups it holds itself.
func keyActor(adminGroup string) ActorFunc {
	return func(r *http.Request) (apikey.Actor, error) {
		k, ok := apikey.FromContext(r.Context())
		if !ok {
			return apikey.Actor{}, ErrUnauthenticated
		}
		if !k.HasGroup(adminGroup) {
			return apikey.Actor{}, fmt.Errorf("%w: this API key does not hold the %s group, which managing keys requires", ErrForbidden, adminGroup)
		}
		return apikey.Actor{Name: k.Name, Groups: k.Groups}, nil
	}
}
