package apikey

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/apikit/apikey/internal/problem"
)

// RequireAll returns middleware that lets a request through only if the key
// that an Authenticator verified before it holds every one of groups,
// compared byte for byte. A key lacking one is refused with 403 and an
// insufficient_scope challenge naming groups; an anonymous request (let
// through by [Authenticator.Optional]) is refused with 401, as if the
// route were not optional. Refusals use a's configuration. RequireAll and
// RequireAny may be stacked: each adds its own condition.
//
// A request that no Authenticator saw is a programming error (the stack is
// mis-assembled: the scope check is mounted without Middleware or Optional
// in front of it). It is answered with 500, never let through and never
// told to send a key, and logged at error level to the Manager's logger
// every time, naming the groups.
//
// RequireAll panics, as http.ServeMux.Handle does on a bad pattern, if no
// group is given (a route that requires nothing should not use it) or if a
// group is not valid (see [ValidateGroup]); the returned function panics if
// given a nil handler.
func (a *Authenticator) RequireAll(groups ...string) func(http.Handler) http.Handler {
	return a.scopeMiddleware("RequireAll", groups, false)
}

// RequireAny returns middleware that lets a request through only if the key
// that an Authenticator verified before it holds at least one of groups,
// compared byte for byte. It refuses and panics as [Authenticator.RequireAll]
// does; the challenge's scope lists all the groups, and the problem document
// says that any one of them suffices.
func (a *Authenticator) RequireAny(groups ...string) func(http.Handler) http.Handler {
	return a.scopeMiddleware("RequireAny", groups, true)
}

// CheckAll is RequireAll for a framework that is not net/http: it returns
// nil if k holds every one of groups, and otherwise an [*AuthError] for
// [WriteError]: 403 if k lacks a group, 401 if k is nil (an anonymous
// request). It reports the refusal as the middleware does (see
// [AuthConfig.OnFailure]). It panics if no group is given or a group is not
// valid.
func (a *Authenticator) CheckAll(r *http.Request, k *Key, groups ...string) error {
	return a.check(r, k, "CheckAll", groups, false)
}

// CheckAny is RequireAny for a framework that is not net/http: it returns
// nil if k holds at least one of groups, and otherwise an [*AuthError] as
// [Authenticator.CheckAll] does.
func (a *Authenticator) CheckAny(r *http.Request, k *Key, groups ...string) error {
	return a.check(r, k, "CheckAny", groups, true)
}

func (a *Authenticator) check(r *http.Request, k *Key, fn string, groups []string, anyOf bool) error {
	s, err := newScope(groups, anyOf)
	if err != nil {
		panic("apikey: " + fn + ": " + err.Error())
	}
	if k == nil {
		e := a.newError(failureMissingKey, ErrMissingKey, nil, nil)
		a.report(r, e)
		return e
	}
	if s.allows(k) {
		return nil
	}
	if c, _ := requestKeyContext(r); c != nil && c.key == k {
		// The key this Authenticator verified for the request: its use
		// is refused (another key was not verified here, and is not
		// metered).
		a.m.meter(k, UsageMissingScope, a.m.now())
	}
	e := a.newError(failureInsufficientScope, ErrInsufficientScope, k, s)
	a.report(r, e)
	return e
}

// HasAllGroups reports whether k holds every one of groups, compared byte
// for byte. It is false if no group is given, so that an empty requirement
// never grants access, and false on a nil key. It checks groups only: a
// key from [FromContext] has been verified, any other has not.
func (k *Key) HasAllGroups(groups ...string) bool {
	if k == nil || len(groups) == 0 {
		return false
	}
	for _, g := range groups {
		if !k.HasGroup(g) {
			return false
		}
	}
	return true
}

// HasAnyGroup reports whether k holds at least one of groups, compared byte
// for byte. It is false if no group is given, and false on a nil key. It
// checks groups only, as [Key.HasAllGroups] does.
func (k *Key) HasAnyGroup(groups ...string) bool {
	if k == nil {
		return false
	}
	return slices.ContainsFunc(groups, k.HasGroup)
}

// scope is the requirement of a RequireAll or RequireAny, with its 403
// response built once.
type scope struct {
	groups          []string
	anyOf           bool
	challengeParams string // appended to the challenge of the Authenticator
	body            []byte
	length          string
}

func newScope(groups []string, anyOf bool) (*scope, error) {
	if len(groups) == 0 {
		return nil, errors.New("no group given")
	}
	for _, g := range groups {
		if err := ValidateGroup(g); err != nil {
			return nil, err
		}
	}
	s := &scope{groups: slices.Clone(groups), anyOf: anyOf}
	s.challengeParams = `, error="insufficient_scope", scope="` + strings.Join(s.groups, " ") + `"`
	detail := "The API key does not hold all of the groups this resource requires."
	if anyOf {
		detail = "The API key holds none of the groups this resource accepts; any one of them suffices."
	}
	s.body, s.length = problem.Body(problem.Doc{Status: http.StatusForbidden, Detail: detail, RequiredGroups: s.groups})
	return s, nil
}

func (s *scope) allows(k *Key) bool {
	if s.anyOf {
		return k.HasAnyGroup(s.groups...)
	}
	return k.HasAllGroups(s.groups...)
}

func (a *Authenticator) scopeMiddleware(fn string, groups []string, anyOf bool) func(http.Handler) http.Handler {
	s, err := newScope(groups, anyOf)
	if err != nil {
		panic("apikey: " + fn + ": " + err.Error())
	}
	misassembled := fmt.Errorf("%w: %s(%s) received a request that no Authenticator saw: mount Authenticator.Middleware or Authenticator.Optional in front of it",
		errNoAuthenticator, fn, strings.Join(s.groups, ", "))
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("apikey: " + fn + ": nil handler")
		}
		return &scopeChecker{a: a, scope: s, next: next, misassembled: misassembled}
	}
}

// errNoAuthenticator is the cause of a 500 from a scope check that no
// Authenticator ran before.
var errNoAuthenticator = errors.New("apikey: mis-assembled middleware stack")

// scopeChecker is the handler RequireAll and RequireAny return.
type scopeChecker struct {
	a            *Authenticator
	scope        *scope
	next         http.Handler
	misassembled error
}

func (h *scopeChecker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, _ := r.Context().Value(keyContextKey{}).(*keyContext)
	switch {
	case c == nil:
		// Logged whatever the hook: the operator must fix the code, and
		// the client can do nothing about it.
		h.a.logger.LogAttrs(r.Context(), slog.LevelError, "apikey: mis-assembled middleware stack: answering 500",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("error", h.misassembled))
		h.a.fail(w, r, failureInternal, h.misassembled, nil, nil)
	case c.key == nil:
		h.a.fail(w, r, failureMissingKey, ErrMissingKey, nil, nil)
	case h.scope.allows(c.key):
		if !metersItself(h.next) && !h.a.enforceLimits(w, r, c.key, h.a.cfg.cost) {
			return
		}
		h.next.ServeHTTP(w, r)
	default:
		h.a.m.meter(c.key, UsageMissingScope, h.a.m.now())
		h.a.fail(w, r, failureInsufficientScope, ErrInsufficientScope, c.key, h.scope)
	}
}

// requestKeyContext returns the key context of r, if r has one.
func requestKeyContext(r *http.Request) (*keyContext, bool) {
	if r == nil {
		return nil, false
	}
	c, ok := r.Context().Value(keyContextKey{}).(*keyContext)
	return c, ok
}
