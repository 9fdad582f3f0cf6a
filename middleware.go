package apikey

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
)

// Authenticator is the HTTP layer of a Manager: a value the application
// builds once with [Manager.Authenticator] and uses on every route. It is
// safe for concurrent use. It offers:
//
//   - [Authenticator.Middleware], of the standard shape
//     func(http.Handler) http.Handler, for any router built on net/http
//     (http.ServeMux, chi, gorilla/mux, echo's WrapMiddleware, ...): a
//     request without a valid key is refused;
//   - [Authenticator.Optional]: a request without a key goes through
//     anonymously, one with a key is verified, and a bad key is refused all
//     the same (never silently anonymous);
//   - [Authenticator.RequireAll] and [Authenticator.RequireAny], scope
//     checks behind either of them;
//   - [Authenticator.Authenticate], [Authenticator.CheckAll] and
//     [Authenticator.CheckAny], the same decisions for one request, for
//     frameworks that are not net/http (gin, fiber), with [WriteError] to
//     send the same responses.
//
// The key is read from "Authorization: Bearer <key>" or the X-API-Key
// header (see [AuthConfig.Headers]), never from the query string or the
// body. Refused requests are answered with an RFC 9457 problem document
// (Content-Type application/problem+json, Cache-Control no-store) that
// never echoes the key or the cause, and, for 400, 401 and 403, an RFC 6750
// challenge:
//
//	no key                           401  WWW-Authenticate: Bearer realm="api"
//	two keys, malformed credentials  400  Bearer realm="api", error="invalid_request"
//	malformed key, unknown key,      401  Bearer realm="api", error="invalid_token"
//	wrong secret, inactive, expired       (one response, byte for byte)
//	valid key lacking groups         403  Bearer realm="api", error="insufficient_scope", scope="g1 g2"
//	Store failure or timeout,        503  Retry-After: 5
//	Manager closed, unreadable hash
//	panic during verification,       500
//	scope check with no Authenticator
//
// The credentials follow RFC 6750 section 2.1: the scheme "Bearer" in any
// case, one or more spaces, then a b64token (letters, digits and
// "-._~+/", then optional "="). A Bearer header that breaks this syntax
// (nothing after the scheme, a tab, two tokens) is a malformed request, 400
// invalid_request, as section 3.1 says; so is a key header whose value is
// not a b64token. A token that has the syntax but is not a valid key is an
// invalid token, 401 invalid_token: section 3.1 lists "malformed" among the
// causes of invalid_token, and the client must not learn which check
// failed. A value longer than 256 bytes is refused as an invalid token
// without being read further. An Authorization header with another scheme
// (Basic) carries no key: the request is authenticated by its X-API-Key
// header if it has one, and otherwise has no key. Two Authorization headers
// are a malformed request, whatever their schemes.
//
// Only a panic during verification (in the Store or a Hasher) is recovered;
// a panic in the wrapped handler propagates as if there were no middleware,
// to the application's own recovery or to net/http.
//
// Every request it authenticates counts as a use of the key (see
// [Key.LastUsedAt]), even one that a scope check then refuses. The key in
// the context is read-only: it may be shared with other requests (see
// [Manager.Verify]).
//
// On success the middleware adds two allocations to a request: the context
// and the request copy that carry the key (the key Verify returns is
// shared, read-only, and costs none), and reads the token once. Preflight
// CORS requests carry no key: handle them before the middleware. Successful
// responses are the application's: mark them private or no-store, since a
// shared cache does not know that X-API-Key is a credential.
type Authenticator struct {
	m      *Manager
	cfg    *authSettings
	logger *slog.Logger
}

// Authenticator returns the HTTP layer of m, configured by cfg (the zero
// AuthConfig for the defaults). It returns an error if a field of cfg has
// an invalid value, as [New] does for an invalid option.
func (m *Manager) Authenticator(cfg AuthConfig) (*Authenticator, error) {
	if m == nil {
		return nil, errors.New("apikey: Authenticator on a nil *Manager")
	}
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	return &Authenticator{m: m, cfg: s, logger: m.logger}, nil
}

// Middleware authenticates every request: a request without exactly one
// valid key is refused (see [Authenticator]), and the verified key is put
// in the request's context for [FromContext] and the scope checks. The
// method value a.Middleware has the standard shape
// func(http.Handler) http.Handler.
//
// Middleware panics if next is nil.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	if next == nil {
		panic("apikey: Authenticator.Middleware: nil handler")
	}
	return &authHandler{a: a, next: next, meter: !metersItself(next)}
}

// Optional authenticates a request that carries a key, as Middleware does,
// and lets a request without any key through anonymously: [FromContext]
// then reports no key, and a scope check behind Optional answers 401 as
// behind Middleware. A request with a key that is not accepted (invalid,
// inactive, expired, two keys, malformed credentials) is refused exactly
// as by Middleware, never downgraded to anonymous, and so is a request
// whose key cannot be verified (503). An Authorization header with another
// scheme than Bearer carries no key, so it is anonymous.
//
// Optional panics if next is nil.
func (a *Authenticator) Optional(next http.Handler) http.Handler {
	if next == nil {
		panic("apikey: Authenticator.Optional: nil handler")
	}
	return &authHandler{a: a, next: next, optional: true, meter: !metersItself(next)}
}

// Authenticate verifies the key that r carries, for a framework that is
// not net/http: it makes the decision of Middleware, reports a refusal as
// the middleware does (see [AuthConfig.OnFailure]), and returns the key or
// an [*AuthError], which [WriteError] answers. A request without any key
// returns an AuthError wrapping [ErrMissingKey]; a route that authenticates
// optionally treats exactly that error as anonymous:
//
//	k, err := auth.Authenticate(r)
//	if err != nil && !errors.Is(err, apikey.ErrMissingKey) {
//		apikey.WriteError(w, r, err)
//		return
//	}
//	// k is nil for an anonymous request.
//
// Authenticate puts nothing in the request's context, and sets no
// response header: call [Authenticator.SetDeprecationHeaders] with the key
// to tell its client to rotate it, as the middleware does.
func (a *Authenticator) Authenticate(r *http.Request) (*Key, error) {
	k, kind, err := a.authenticate(r)
	if err != nil {
		var refused *KeyError
		if errors.As(err, &refused) {
			k = refused.Key
		}
		e := a.newError(kind, err, k, nil)
		if kind != failureMissingKey {
			a.report(r, e)
		}
		return nil, e
	}
	return k, nil
}

// authHandler is the handler Middleware and Optional return.
type authHandler struct {
	a        *Authenticator
	next     http.Handler
	optional bool
	meter    bool // enforce the key's limits here: no scope check or Limit follows
}

func (h *authHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k, kind, err := h.a.authenticate(r)
	if err != nil {
		if kind == failureMissingKey && h.optional {
			h.next.ServeHTTP(w, r.WithContext(&keyContext{Context: r.Context()}))
			return
		}
		var refused *KeyError
		if errors.As(err, &refused) {
			k = refused.Key
		}
		h.a.fail(w, r, kind, err, k, nil)
		return
	}
	if h.meter && !h.a.enforceLimits(w, r, k, h.a.cfg.cost) {
		return
	}
	h.a.SetDeprecationHeaders(w.Header(), k)
	h.next.ServeHTTP(w, r.WithContext(&keyContext{Context: r.Context(), key: k}))
}

// authenticate reads the one key of r and verifies it.
func (a *Authenticator) authenticate(r *http.Request) (*Key, failureKind, error) {
	token, kind, err := credential(a.cfg.headers, r.Header)
	if err != nil {
		return nil, kind, err
	}
	lookupID, kind, err := checkToken(token, a.m.prefixSep)
	if err != nil {
		return nil, kind, err
	}
	return a.verify(r.Context(), token, lookupID)
}

// verify calls Verify, bounded by the configured timeout, and turns a panic
// during it into an error. lookupID is the token's if checkToken found it
// well formed, so that it is not parsed again, and empty otherwise.
func (a *Authenticator) verify(ctx context.Context, token, lookupID string) (k *Key, kind failureKind, err error) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p) // a deliberate abort of the response, not a failure
			}
			k, kind, err = nil, failureInternal, panicError(p, token)
		}
	}()
	if a.cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.cfg.timeout)
		defer cancel()
	}
	k, err = a.m.verifyParsed(ctx, token, lookupID)
	if err != nil {
		return nil, classify(err), err
	}
	return k, 0, nil
}

// report tells the failure hook about a refusal or, without a hook, logs
// the refusals an operator must hear about (503, 500).
func (a *Authenticator) report(r *http.Request, e *AuthError) {
	switch {
	case a.cfg.hook != nil:
		a.cfg.hook(r, e)
	case (e.kind == failureUnavailable || e.kind == failureInternal) && !errors.Is(e.Err, errNoAuthenticator):
		a.logger.LogAttrs(r.Context(), slog.LevelError, "apikey: request refused: the key could not be verified",
			slog.Int("status", e.Status), slog.Any("error", e.Err))
	}
}
