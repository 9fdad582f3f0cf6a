package admin

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/apikit/apikey"
)

// DefaultAdminGroup is the group that a key must hold to use the admin API,
// unless [WithAdminGroup] says otherwise.
const DefaultAdminGroup = "apikeys:admin"

// DefaultMaxBodyBytes is the largest request body the API reads, unless
// [WithMaxBodyBytes] says otherwise; a larger one is refused with 413.
const DefaultMaxBodyBytes = 64 << 10

// ActorFunc tells who is acting for a request: the administrator on whose
// behalf the Manager is called. It returns an error wrapping
// [ErrUnauthenticated] (401) if the request does not say who sends it,
// [ErrForbidden] (403) if the sender may not manage keys; any other error is
// answered with 500 and logged.
type ActorFunc func(r *http.Request) (apikey.Actor, error)

// Option configures a [Handler]. An option given an invalid value, or a
// combination of options that cannot work together, makes [New] return an
// error.
type Option func(*config) error

type config struct {
	actor        ActorFunc
	adminGroup   string
	middleware   func(http.Handler) http.Handler
	middlewareOK bool // WithMiddleware was given, possibly nil
	maxBody      int64
	logger       *slog.Logger
	origins      []string
}

// WithActor sets how the handler finds who is acting for a request,
// replacing the default: the key that the Manager's [apikey.Authenticator]
// verified, holding the admin group (see [WithAdminGroup]). It is an option
// of the handler; the context that carries the actor to the Manager is made
// by [apikey.NewActorContext].
//
// With WithActor, the handler authenticates nothing itself: f decides, with
// the help of any middleware given with [WithMiddleware]. To act for keys
// verified by an Authenticator under other rules, give both:
//
//	admin.New(m,
//		admin.WithMiddleware(auth.Middleware),
//		admin.WithActor(func(r *http.Request) (apikey.Actor, error) {
//			k, ok := apikey.FromContext(r.Context())
//			...
//		}))
//
// The actor's Name must be a valid name (see [apikey.ValidateName]): it is
// recorded as the creator of the keys the actor issues.
func WithActor(f ActorFunc) Option {
	return func(c *config) error {
		if f == nil {
			return errors.New("admin: WithActor: nil function")
		}
		c.actor = f
		return nil
	}
}

// WithAdminGroup sets the group that a key must hold to use the admin API
// under the default actor. Default: [DefaultAdminGroup]. It cannot be
// combined with [WithActor], whose function decides who may act.
func WithAdminGroup(group string) Option {
	return func(c *config) error {
		if err := apikey.ValidateGroup(group); err != nil {
			return fmt.Errorf("admin: WithAdminGroup: %w", err)
		}
		c.adminGroup = group
		return nil
	}
}

// WithMiddleware sets the middleware that authenticates requests to the API
// (not to the page and its assets, which hold no data). Default: the
// middleware of an [apikey.Authenticator] of the Manager with the default
// [apikey.AuthConfig], when the actor is the default one, which reads the
// key that middleware verified; none with [WithActor]. Pass auth.Middleware
// of an Authenticator configured otherwise, an application's session
// middleware for [WithActor], or nil for none.
func WithMiddleware(mw func(http.Handler) http.Handler) Option {
	return func(c *config) error {
		c.middleware = mw
		c.middlewareOK = true
		return nil
	}
}

// WithMaxBodyBytes sets the largest request body the API reads; a larger
// one is refused with 413 before it is parsed. Default:
// [DefaultMaxBodyBytes].
func WithMaxBodyBytes(n int64) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("admin: WithMaxBodyBytes: %d is not positive", n)
		}
		c.maxBody = n
		return nil
	}
}

// WithLogger sets where the handler reports the errors that it answers with
// 500 or 503 without details. Default: the Manager's logger
// ([apikey.Manager.Logger], set by [apikey.WithLogger]).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("admin: WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithTrustedOrigins lets state-changing requests come from the given
// origins ("https://console.example.com": scheme, host and optional port)
// besides the handler's own, as [http.CrossOriginProtection.AddTrustedOrigin]
// does. Default: none; requests from other origins are refused with 403.
func WithTrustedOrigins(origins ...string) Option {
	return func(c *config) error {
		c.origins = append(c.origins, origins...)
		return nil
	}
}
