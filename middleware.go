package apikey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// errKeyTooLong is the cause of a refusal of a value longer than
// MaxKeyLength, which is never handed to Verify.
var errKeyTooLong = fmt.Errorf("%w: longer than %d bytes", ErrInvalidKey, MaxKeyLength)

// errNotAuthenticated is the cause of a refusal by RequireAll or RequireAny
// of a request that no Middleware authenticated.
var errNotAuthenticated = fmt.Errorf("%w: RequireAll or RequireAny without Manager.Middleware before it", ErrMissingKey)

// FailureKind classifies a refused request. Each kind has one status code
// and one default response; see [Manager.Middleware].
type FailureKind int

// Failure kinds, with the status code of their default response.
const (
	// FailureMissingKey: no key in the request (401, no error code).
	FailureMissingKey FailureKind = iota + 1

	// FailureInvalidRequest: more than one key, or malformed credentials
	// (400, error="invalid_request").
	FailureInvalidRequest

	// FailureInvalidToken: the key is malformed, unknown, has a wrong
	// secret, is inactive or has expired (401, error="invalid_token").
	FailureInvalidToken

	// FailureInsufficientScope: the key is valid but lacks the required
	// groups (403, error="insufficient_scope").
	FailureInsufficientScope

	// FailureUnavailable: the key could not be verified, because the Store
	// failed or timed out, the Manager is closed, or no Hasher reads the
	// stored hash (503 with Retry-After).
	FailureUnavailable

	// FailureInternal: verification panicked (500).
	FailureInternal

	failureKinds
)

// String returns the RFC 6750 error code of the kind ("invalid_request",
// "invalid_token", "insufficient_scope"), or "missing_key", "unavailable"
// or "internal".
func (k FailureKind) String() string {
	switch k {
	case FailureMissingKey:
		return "missing_key"
	case FailureInvalidRequest:
		return "invalid_request"
	case FailureInvalidToken:
		return "invalid_token"
	case FailureInsufficientScope:
		return "insufficient_scope"
	case FailureUnavailable:
		return "unavailable"
	case FailureInternal:
		return "internal"
	}
	return "FailureKind(" + strconv.Itoa(int(k)) + ")"
}

// status returns the status code of the default response for k.
func (k FailureKind) status() int {
	switch k {
	case FailureMissingKey, FailureInvalidToken:
		return http.StatusUnauthorized
	case FailureInvalidRequest:
		return http.StatusBadRequest
	case FailureInsufficientScope:
		return http.StatusForbidden
	case FailureUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// AuthError describes a request refused by the middleware, for a failure
// hook ([WithFailureHook]) and an error handler ([WithErrorHandler]). It
// carries the real cause, which the default responses never reveal, and
// never the presented key.
type AuthError struct {
	// Kind classifies the failure.
	Kind FailureKind

	// Status is the status code of the default response for Kind.
	Status int

	// Err is the cause: one of the errors of this package, usually wrapped
	// (ErrInactive, ErrStoreFailure wrapping the Store's error, ...). Test
	// it with errors.Is.
	Err error

	// Key is the key the request presented when it is known to be genuine:
	// for FailureInsufficientScope, and for FailureInvalidToken when the key
	// is inactive or expired (see [KeyError]); nil otherwise.
	Key *Key

	// Groups are the groups required, for FailureInsufficientScope only:
	// all of them, or any one of them if AnyGroup is set. The slice is the
	// handler's own copy.
	Groups []string

	// AnyGroup reports whether any one of Groups would have sufficed
	// (RequireAny) rather than all of them (RequireAll).
	AnyGroup bool
}

// Error returns the kind and the cause, such as
// "invalid_token: apikey: key is inactive".
func (e *AuthError) Error() string {
	if e.Err == nil {
		return e.Kind.String()
	}
	return e.Kind.String() + ": " + e.Err.Error()
}

// Unwrap returns the cause, so that errors.Is(err, ErrInactive) works on an
// AuthError.
func (e *AuthError) Unwrap() error { return e.Err }

// MiddlewareOption configures [Manager.Middleware]. Options given invalid
// values panic when they are called: they are programming errors, and
// panicking at start-up is safer than serving with a broken configuration.
type MiddlewareOption func(*middlewareConfig)

// DefaultRealm is the realm of the WWW-Authenticate challenge unless
// [WithRealm] says otherwise.
const DefaultRealm = "api"

// DefaultRetryAfter is the Retry-After of 503 responses unless
// [WithRetryAfter] says otherwise.
const DefaultRetryAfter = 5 * time.Second

// WithKeyHeaders sets the request headers that may carry the key, replacing
// the default "Authorization" and "X-API-Key". "Authorization" carries the
// key as a Bearer token (RFC 6750 section 2.1); any other header carries the
// key alone as its whole value. Names are case-insensitive. The query string
// and the body are never read.
//
// Every listed header is read, and a request must carry exactly one key
// across all of them: two keys are refused even if identical. So the order
// of the names does not change which requests are accepted.
//
// WithKeyHeaders panics if no name is given, or if a name is not a valid
// header field name or is given twice.
func WithKeyHeaders(names ...string) MiddlewareOption {
	if len(names) == 0 {
		panic("apikey: WithKeyHeaders: no header name")
	}
	headers := make([]keyHeader, 0, len(names))
	for _, name := range names {
		if !isToken(name) {
			panic(fmt.Sprintf("apikey: WithKeyHeaders: %q is not a valid header name", name))
		}
		canonical := http.CanonicalHeaderKey(name)
		if slices.ContainsFunc(headers, func(h keyHeader) bool { return h.name == canonical }) {
			panic(fmt.Sprintf("apikey: WithKeyHeaders: %q is listed twice", canonical))
		}
		headers = append(headers, keyHeader{name: canonical, display: name, bearer: canonical == "Authorization"})
	}
	return func(c *middlewareConfig) { c.headers = headers }
}

// WithRealm sets the realm of the WWW-Authenticate challenge. Double quotes
// and backslashes are escaped. Default: [DefaultRealm].
//
// WithRealm panics if realm contains a character other than printable ASCII
// and space.
func WithRealm(realm string) MiddlewareOption {
	for i := 0; i < len(realm); i++ {
		if c := realm[i]; c < ' ' || c > '~' {
			panic(fmt.Sprintf("apikey: WithRealm: %q contains a character other than printable ASCII", realm))
		}
	}
	return func(c *middlewareConfig) { c.realm = realm }
}

// WithRetryAfter sets the Retry-After header of 503 responses, rounded up to
// whole seconds; zero leaves the header out. Default: [DefaultRetryAfter].
//
// WithRetryAfter panics if d is negative.
func WithRetryAfter(d time.Duration) MiddlewareOption {
	if d < 0 {
		panic("apikey: WithRetryAfter: negative duration")
	}
	return func(c *middlewareConfig) { c.retryAfter = d }
}

// WithVerifyTimeout bounds the time a verification may take, Store call
// included: past it, the request is refused with 503 (FailureUnavailable,
// the cause wrapping context.DeadlineExceeded). The timeout costs a timer
// and two allocations per request. Default: 0, no bound other than the
// request's own context.
//
// WithVerifyTimeout panics if d is negative.
func WithVerifyTimeout(d time.Duration) MiddlewareOption {
	if d < 0 {
		panic("apikey: WithVerifyTimeout: negative duration")
	}
	return func(c *middlewareConfig) { c.timeout = d }
}

// WithErrorHandler replaces the default responses: h is called for every
// refused request, by the middleware and by the RequireAll and RequireAny
// handlers behind it, and must write the response. It receives the real
// cause in err; what the client may learn of it is the application's
// decision (usually nothing about which check failed). A failure hook, if
// any, is called before h. Default: nil, the responses described on
// [Manager.Middleware].
func WithErrorHandler(h func(w http.ResponseWriter, r *http.Request, err *AuthError)) MiddlewareOption {
	return func(c *middlewareConfig) { c.errorHandler = h }
}

// WithFailureHook sets a function that sees every refused request, with its
// real cause and, when known, the key, for logging and metrics. It is called
// synchronously, before the response is written, and must not write to the
// response. err never holds the presented key. Default: nil, in which case
// 503 and 500 refusals (which an operator must hear about) are logged at
// error level to the Manager's logger (see [WithLogger]) and others are not
// reported.
func WithFailureHook(hook func(r *http.Request, err *AuthError)) MiddlewareOption {
	return func(c *middlewareConfig) { c.hook = hook }
}

// keyHeader is a request header that may carry the key.
type keyHeader struct {
	name    string // canonical, as net/http stores it
	display string // as the application spelled it, for the problem documents
	bearer  bool   // parsed as Authorization credentials with the Bearer scheme
}

type middlewareConfig struct {
	headers      []keyHeader
	realm        string
	retryAfter   time.Duration
	timeout      time.Duration
	errorHandler func(http.ResponseWriter, *http.Request, *AuthError)
	hook         func(*http.Request, *AuthError)
	logger       *slog.Logger // the Manager's; nil for defaultMiddlewareConfig

	// Precomputed by prepare.
	challenge string // `Bearer realm="..."`
	responses [failureKinds]problemResponse
}

// problemResponse is a default response, built once.
type problemResponse struct {
	challenge  string // WWW-Authenticate, empty for none
	retryAfter string // Retry-After, empty for none
	body       []byte
	length     string // Content-Length
}

func newMiddlewareConfig(logger *slog.Logger, opts []MiddlewareOption) *middlewareConfig {
	c := &middlewareConfig{
		headers: []keyHeader{
			{name: "Authorization", display: "Authorization", bearer: true},
			{name: "X-Api-Key", display: "X-API-Key"},
		},
		realm:      DefaultRealm,
		retryAfter: DefaultRetryAfter,
		logger:     logger,
	}
	for _, opt := range opts {
		opt(c)
	}
	c.prepare()
	return c
}

// defaultMiddlewareConfig answers for RequireAll and RequireAny when no
// Middleware authenticated the request.
var defaultMiddlewareConfig = sync.OnceValue(func() *middlewareConfig { return newMiddlewareConfig(nil, nil) })

// prepare builds the challenge and the bodies of the default responses.
func (c *middlewareConfig) prepare() {
	realm := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(c.realm)
	c.challenge = `Bearer realm="` + realm + `"`
	var how []string
	for _, h := range c.headers {
		if h.bearer {
			how = append(how, `as "Authorization: Bearer <key>"`)
		} else {
			how = append(how, "in the "+h.display+" header")
		}
	}
	send := strings.Join(how, " or ")
	set := func(kind FailureKind, challenge, detail string) {
		r := &c.responses[kind]
		r.challenge = challenge
		r.body, r.length = problemBody(kind.status(), detail, nil)
	}
	set(FailureMissingKey, c.challenge, "The request carries no API key. Send one "+send+".")
	set(FailureInvalidRequest, c.challenge+`, error="invalid_request"`,
		"The request must carry exactly one API key, "+send+", with nothing else in the header value.")
	set(FailureInvalidToken, c.challenge+`, error="invalid_token"`, "The API key is not accepted.")
	set(FailureUnavailable, "", "The API key cannot be verified at the moment. Retry later.")
	set(FailureInternal, "", "The API key could not be verified.")
	if c.retryAfter > 0 {
		secs := (c.retryAfter + time.Second - 1) / time.Second
		c.responses[FailureUnavailable].retryAfter = strconv.FormatInt(int64(secs), 10)
	}
}

// problemBody returns an RFC 9457 problem document and its length.
func problemBody(status int, detail string, groups []string) ([]byte, string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(struct {
		Type           string   `json:"type"`
		Title          string   `json:"title"`
		Status         int      `json:"status"`
		Detail         string   `json:"detail"`
		RequiredGroups []string `json:"required_groups,omitempty"`
	}{"about:blank", http.StatusText(status), status, detail, groups})
	if err != nil {
		panic("apikey: encoding a problem document: " + err.Error()) // strings and ints always encode
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return body, strconv.Itoa(len(body))
}

// Middleware returns HTTP middleware that authenticates every request with
// an API key, and puts the verified key in the request's context for
// [FromContext], [RequireAll] and [RequireAny]. It works with any router
// built on net/http (http.ServeMux, chi, ...). The key is read from
// "Authorization: Bearer <key>" or the X-API-Key header (see
// [WithKeyHeaders]), never from the query string.
//
// Refused requests are answered with an RFC 9457 problem document
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
//	panic during verification        500
//
// The credentials follow RFC 6750 section 2.1: the scheme "Bearer" in any
// case, one or more spaces, then a b64token (letters, digits and
// "-._~+/", then optional "="). A Bearer header that breaks this syntax
// (nothing after the scheme, a tab, two tokens) is a malformed request, 400
// invalid_request, as section 3.1 says; so is a key header whose value is not
// a b64token. A token that has the syntax but is not a valid key is an
// invalid token, 401 invalid_token: section 3.1 lists "malformed" among
// the causes of invalid_token, and the client must not learn which check
// failed. A value longer than [MaxKeyLength] bytes is refused as an invalid
// token without being read further. An Authorization header with another
// scheme (Basic) carries no key: the request is authenticated by its
// X-API-Key header if it has one, and otherwise answered 401 without an
// error code. Two Authorization headers are a malformed request, whatever
// their schemes.
//
// Only a panic during verification (in the Store or a Hasher) is recovered;
// a panic in the wrapped handler propagates as if there were no middleware,
// to the application's own recovery or to net/http.
//
// Every request it authenticates counts as a use of the key (see
// [Key.LastUsedAt]), even one that RequireAll then refuses. The key in the
// context is the request's own copy.
//
// On success the middleware adds three allocations to a request: the key
// Verify returns, the context and the request copy that carry it. Preflight
// CORS requests carry no key: handle them before this middleware. Successful
// responses are the application's: mark them private or no-store, since a
// shared cache does not know that X-API-Key is a credential.
//
// Middleware panics if m is nil; the returned function panics if given a
// nil handler.
func (m *Manager) Middleware(opts ...MiddlewareOption) func(http.Handler) http.Handler {
	if m == nil {
		panic("apikey: Middleware on a nil *Manager")
	}
	c := newMiddlewareConfig(m.logger, opts)
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("apikey: Middleware: nil handler")
		}
		return &authenticator{m: m, cfg: c, next: next}
	}
}

// authenticator is the handler Middleware returns.
type authenticator struct {
	m    *Manager
	cfg  *middlewareConfig
	next http.Handler
}

func (a *authenticator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, kind, err := a.cfg.credential(r.Header)
	if err != nil {
		a.cfg.fail(w, r, kind, err, nil, nil)
		return
	}
	k, kind, err := a.verify(r.Context(), token)
	if err != nil {
		var refused *KeyError
		if errors.As(err, &refused) {
			k = refused.Key
		}
		a.cfg.fail(w, r, kind, err, k, nil)
		return
	}
	a.next.ServeHTTP(w, r.WithContext(&keyContext{Context: r.Context(), key: k, cfg: a.cfg}))
}

// verify calls Verify, bounded by the configured timeout, and turns a panic
// during it into an error.
func (a *authenticator) verify(ctx context.Context, token string) (k *Key, kind FailureKind, err error) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p) // a deliberate abort of the response, not a failure
			}
			k, kind, err = nil, FailureInternal, panicError(p, token)
		}
	}()
	if a.cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.cfg.timeout)
		defer cancel()
	}
	k, err = a.m.Verify(ctx, token)
	if err != nil {
		return nil, classify(err), err
	}
	return k, 0, nil
}

// classify returns the kind of a Verify error. Any error that is not known
// to be a refusal of the key fails closed, with 503: nothing is known about
// the key.
func classify(err error) FailureKind {
	switch {
	case errors.Is(err, ErrStoreFailure), errors.Is(err, ErrClosed), errors.Is(err, ErrUnsupportedHash):
		return FailureUnavailable
	case errors.Is(err, ErrInvalidKey), errors.Is(err, ErrInactive), errors.Is(err, ErrExpired):
		return FailureInvalidToken
	}
	return FailureUnavailable
}

// panicError describes a panic during verification, with the presented key
// (and its secret, should a Hasher have panicked with it alone) redacted.
func panicError(p any, token string) error {
	msg := fmt.Sprint(p)
	if token != "" {
		msg = strings.ReplaceAll(msg, token, "[REDACTED]")
	}
	if parts, err := ParseKey(token); err == nil && parts.Secret != "" {
		msg = strings.ReplaceAll(msg, parts.Secret, "[REDACTED]")
	}
	return fmt.Errorf("%w: %s\n\n%s", ErrVerifyPanic, msg, debug.Stack())
}

// credential returns the one key the request carries, or why there is none.
// It reads the headers by hand: no allocation, and no more of a hostile
// value than needed.
func (c *middlewareConfig) credential(h http.Header) (string, FailureKind, error) {
	var (
		token     string
		n         int
		malformed bool
	)
	for i := range c.headers {
		kh := &c.headers[i]
		values := h[kh.name]
		if kh.bearer {
			if len(values) > 1 {
				return "", FailureInvalidRequest, ErrMultipleKeys
			}
			for _, v := range values {
				t, isBearer, ok := parseBearer(v)
				if isBearer {
					token, malformed = t, !ok
					n++
				}
			}
			continue
		}
		for _, v := range values {
			token, malformed = v, false
			n++
		}
	}
	switch {
	case n == 0:
		return "", FailureMissingKey, ErrMissingKey
	case n > 1:
		return "", FailureInvalidRequest, ErrMultipleKeys
	case malformed:
		return "", FailureInvalidRequest, ErrMalformedCredentials
	case len(token) > MaxKeyLength:
		return "", FailureInvalidToken, errKeyTooLong
	case !isB64token(token):
		return "", FailureInvalidRequest, ErrMalformedCredentials
	}
	return token, 0, nil
}

// parseBearer reads Authorization credentials. isBearer reports whether the
// scheme is Bearer, in any case; if so, ok reports whether the scheme is
// followed by one or more spaces and something else, which is the token.
func parseBearer(v string) (token string, isBearer, ok bool) {
	const scheme = "bearer"
	if len(v) < len(scheme) {
		return "", false, false
	}
	for i := 0; i < len(scheme); i++ {
		if v[i]|0x20 != scheme[i] { // ASCII case folding; scheme is all letters
			return "", false, false
		}
	}
	rest := v[len(scheme):]
	if rest != "" && isTokenChar(rest[0]) {
		return "", false, false // another scheme, such as "Bearerx"
	}
	i := 0
	for i < len(rest) && rest[i] == ' ' {
		i++
	}
	if i == 0 || i == len(rest) {
		return "", true, false
	}
	return rest[i:], true, true
}

// isB64token reports whether s is an RFC 6750 b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64token(s string) bool {
	i := 0
	for i < len(s) && isB64tokenChar(s[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(s) && s[i] == '=' {
		i++
	}
	return i == len(s)
}

func isB64tokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
}

// isToken reports whether s is an RFC 9110 token, as header names are.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// fail reports a refused request to the hook and answers it, with the error
// handler or the default response. k and s are set for
// FailureInsufficientScope only.
func (c *middlewareConfig) fail(w http.ResponseWriter, r *http.Request, kind FailureKind, err error, k *Key, s *scope) {
	severe := kind == FailureUnavailable || kind == FailureInternal
	if c.hook != nil || c.errorHandler != nil || severe && c.logger != nil {
		e := &AuthError{Kind: kind, Status: kind.status(), Err: err, Key: k}
		if s != nil {
			e.Groups, e.AnyGroup = slices.Clone(s.groups), s.anyOf
		}
		switch {
		case c.hook != nil:
			c.hook(r, e)
		case severe && c.logger != nil:
			c.logger.LogAttrs(r.Context(), slog.LevelError, "apikey: request refused: the key could not be verified",
				slog.String("kind", kind.String()), slog.Any("error", err))
		}
		if c.errorHandler != nil {
			c.errorHandler(w, r, e)
			return
		}
	}
	resp := &c.responses[kind]
	challenge, body, length := resp.challenge, resp.body, resp.length
	if kind == FailureInsufficientScope {
		challenge = c.challenge + s.challengeParams
		body, length = s.body, s.length
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", length)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if challenge != "" {
		h.Set("WWW-Authenticate", challenge)
	}
	if resp.retryAfter != "" {
		h.Set("Retry-After", resp.retryAfter)
	}
	w.WriteHeader(kind.status())
	w.Write(body) // the client may be gone; there is no one left to tell
}

// keyContextKey finds a keyContext among the values of a context.
type keyContextKey struct{}

// keyContext carries the verified key, and the configuration of the
// middleware that verified it (for the responses of RequireAll and
// RequireAny), in a single allocation: what context.WithValue would cost
// for the key alone.
type keyContext struct {
	context.Context
	key *Key
	cfg *middlewareConfig // nil when made by NewContext
}

func (c *keyContext) Value(key any) any {
	if key == (keyContextKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// FromContext returns the key that [Manager.Middleware] verified for the
// request whose context is ctx. ok is false, and k nil, if there is none; it
// never panics.
func FromContext(ctx context.Context) (k *Key, ok bool) {
	if ctx == nil {
		return nil, false
	}
	c, _ := ctx.Value(keyContextKey{}).(*keyContext)
	if c == nil || c.key == nil {
		return nil, false
	}
	return c.key, true
}

// NewContext returns a copy of ctx carrying k as a verified key, as
// [Manager.Middleware] does. It is meant for tests of handlers that call
// [FromContext] or sit behind [RequireAll] or [RequireAny], which then
// answer with the default options. It verifies nothing.
func NewContext(ctx context.Context, k *Key) context.Context {
	return &keyContext{Context: ctx, key: k}
}

// RequireAll returns middleware that lets a request through only if the key
// verified by [Manager.Middleware] before it holds every one of groups,
// compared byte for byte. A key lacking one is refused with 403 and an
// insufficient_scope challenge naming groups; a request that no Middleware
// authenticated is refused with 401, never let through. Refusals use the
// options of that Middleware (realm, error handler, hook). RequireAll and
// RequireAny may be stacked: each adds its own condition.
//
// RequireAll panics if no group is given (a route that requires nothing
// should not use it) or if a group is not valid (see [ValidateGroup]).
func RequireAll(groups ...string) func(http.Handler) http.Handler {
	return newScope("RequireAll", groups, false).middleware
}

// RequireAny returns middleware that lets a request through only if the key
// verified by [Manager.Middleware] before it holds at least one of groups,
// compared byte for byte. It refuses as [RequireAll] does; the challenge's
// scope lists all the groups, and the problem document says that any one
// of them suffices.
//
// RequireAny panics if no group is given (it could never be satisfied) or if
// a group is not valid (see [ValidateGroup]).
func RequireAny(groups ...string) func(http.Handler) http.Handler {
	return newScope("RequireAny", groups, true).middleware
}

// HasAllGroups reports whether k holds every one of groups, compared byte
// for byte. It is false if k is nil or no group is given, so that an empty
// requirement never grants access. It checks groups only: a key from
// [FromContext] has been verified, any other has not.
func HasAllGroups(k *Key, groups ...string) bool {
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
// for byte. It is false if k is nil or no group is given. It checks groups
// only, as [HasAllGroups] does.
func HasAnyGroup(k *Key, groups ...string) bool {
	if k == nil {
		return false
	}
	for _, g := range groups {
		if k.HasGroup(g) {
			return true
		}
	}
	return false
}

// scope is the requirement of a RequireAll or RequireAny, with its 403
// response built once.
type scope struct {
	groups          []string
	anyOf           bool
	challengeParams string // appended to the challenge of the Middleware
	body            []byte
	length          string
}

func newScope(fn string, groups []string, anyOf bool) *scope {
	if len(groups) == 0 {
		panic("apikey: " + fn + ": no group given")
	}
	for _, g := range groups {
		if err := ValidateGroup(g); err != nil {
			panic("apikey: " + fn + ": " + err.Error())
		}
	}
	s := &scope{groups: slices.Clone(groups), anyOf: anyOf}
	s.challengeParams = `, error="insufficient_scope", scope="` + strings.Join(s.groups, " ") + `"`
	detail := "The API key does not hold all of the groups this resource requires."
	if anyOf {
		detail = "The API key holds none of the groups this resource accepts; any one of them suffices."
	}
	s.body, s.length = problemBody(http.StatusForbidden, detail, s.groups)
	return s
}

func (s *scope) allows(k *Key) bool {
	if s.anyOf {
		return HasAnyGroup(k, s.groups...)
	}
	return HasAllGroups(k, s.groups...)
}

func (s *scope) middleware(next http.Handler) http.Handler {
	if next == nil {
		panic("apikey: RequireAll or RequireAny: nil handler")
	}
	return &scopeChecker{scope: s, next: next}
}

// scopeChecker is the handler RequireAll and RequireAny return.
type scopeChecker struct {
	scope *scope
	next  http.Handler
}

func (h *scopeChecker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, _ := r.Context().Value(keyContextKey{}).(*keyContext)
	if c != nil && c.key != nil && h.scope.allows(c.key) {
		h.next.ServeHTTP(w, r)
		return
	}
	cfg := defaultMiddlewareConfig()
	if c != nil && c.cfg != nil {
		cfg = c.cfg
	}
	if c == nil || c.key == nil {
		cfg.fail(w, r, FailureMissingKey, errNotAuthenticated, nil, nil)
		return
	}
	cfg.fail(w, r, FailureInsufficientScope, ErrInsufficientScope, c.key, h.scope)
}
