package apikey

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apikit/apikey/internal/problem"
)

// responses are the default responses of one configuration, built once so
// that a refusal costs no encoding.
type responses struct {
	challenge string // `Bearer realm="..."`
	kinds     [failureKinds]response
}

// response is one default response.
type response struct {
	challenge  string // WWW-Authenticate, empty for none
	retryAfter string // Retry-After, empty for none
	body       []byte
	length     string // Content-Length
}

// newResponses builds the challenge and the bodies of the default
// responses for a realm, a Retry-After (zero for none) and the headers the
// key may come in, which the bodies name.
func newResponses(realm string, retryAfter time.Duration, headers []keyHeader) *responses {
	rs := &responses{}
	realm = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(realm)
	rs.challenge = `Bearer realm="` + realm + `"`
	var how []string
	for _, h := range headers {
		if h.bearer {
			how = append(how, `as "Authorization: Bearer <key>"`)
		} else {
			how = append(how, "in the "+h.display+" header")
		}
	}
	send := strings.Join(how, " or ")
	set := func(kind failureKind, challenge, detail string) {
		r := &rs.kinds[kind]
		r.challenge = challenge
		r.body, r.length = problem.Body(problem.Doc{Status: kind.status(), Detail: detail})
	}
	set(failureMissingKey, rs.challenge, "The request carries no API key. Send one "+send+".")
	set(failureInvalidRequest, rs.challenge+`, error="invalid_request"`,
		"The request must carry exactly one API key, "+send+", with nothing else in the header value.")
	set(failureInvalidToken, rs.challenge+`, error="invalid_token"`, "The API key is not accepted.")
	set(failureInsufficientScope, "", "The API key does not hold the groups this resource requires.")
	set(failureUnavailable, "", "The API key cannot be verified at the moment. Retry later.")
	set(failureInternal, "", "The API key could not be verified.")
	if retryAfter > 0 {
		secs := (retryAfter + time.Second - 1) / time.Second
		rs.kinds[failureUnavailable].retryAfter = strconv.FormatInt(int64(secs), 10)
	}
	return rs
}

// defaultResponses answer for an AuthError that no Authenticator made. They
// are computed once and never change.
var defaultResponses = sync.OnceValue(func() *responses {
	return newResponses(defaultRealm, defaultRetryAfter, defaultKeyHeaders)
})

// WriteError writes the default response for err, the one an
// [Authenticator] sends when no ErrorHandler is configured: the status, an
// RFC 6750 WWW-Authenticate challenge for 400, 401 and 403, Retry-After for
// 503, Cache-Control: no-store, and an RFC 9457 problem document
// (application/problem+json) that never echoes the key or the cause. For an
// [AuthError] made by an Authenticator, the realm, Retry-After and wording
// are that Authenticator's; for one an application built, the defaults of
// [AuthConfig]. Any other error is answered as a failure to verify (500),
// without details.
//
// It is meant for an application's own error handler (see
// [AuthConfig.ErrorHandler]) that logs or counts and then keeps the
// standard response, and for frameworks that are not net/http, after
// [Authenticator.Authenticate]. r is not read today; it is there so that
// WriteError has the shape of an error handler.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var le *LimitError
	if errors.As(err, &le) && le != nil {
		writeLimitError(w, le)
		return
	}
	var e *AuthError
	if !errors.As(err, &e) || e == nil {
		e = &AuthError{Status: http.StatusInternalServerError, Err: err, kind: failureInternal}
	}
	e.SetHeaders(w.Header())
	resp := e.response()
	body, length := resp.body, resp.length
	if s := e.scopeForResponse(); s != nil {
		body, length = s.body, s.length
	}
	problem.Write(w, e.failure().status(), body, length)
}

// SetHeaders sets on h the headers of the default response for e other than
// its Content-Type and Content-Length: WWW-Authenticate (for 400, 401 and
// 403), Retry-After (for 503), Cache-Control: no-store and
// X-Content-Type-Options: nosniff. An error handler that writes its own body
// calls it before writing e.Status, to keep the standards that clients and
// caches rely on.
func (e *AuthError) SetHeaders(h http.Header) {
	resp := e.response()
	challenge := resp.challenge
	if e.failure() == failureInsufficientScope {
		challenge = e.responses().challenge + `, error="insufficient_scope"`
		if s := e.scopeForResponse(); s != nil {
			challenge = e.responses().challenge + s.challengeParams
		}
	}
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if challenge != "" {
		h.Set("WWW-Authenticate", challenge)
	}
	if resp.retryAfter != "" {
		h.Set("Retry-After", resp.retryAfter)
	}
}

func (e *AuthError) responses() *responses {
	if e.resp != nil {
		return e.resp
	}
	return defaultResponses()
}

func (e *AuthError) response() *response { return &e.responses().kinds[e.failure()] }

// scopeForResponse returns the scope whose 403 response answers e: the
// Authenticator's, or one built from Groups for an AuthError that an
// application made; nil if there is none.
func (e *AuthError) scopeForResponse() *scope {
	if e.failure() != failureInsufficientScope {
		return nil
	}
	if e.scope != nil {
		return e.scope
	}
	s, err := newScope(e.Groups, e.AnyGroup)
	if err != nil {
		return nil
	}
	return s
}

// fail reports a refused request (see report) and answers it, with the
// error handler or the default response. k and s are set for a 403 only.
// The default path allocates nothing.
func (a *Authenticator) fail(w http.ResponseWriter, r *http.Request, kind failureKind, err error, k *Key, s *scope) {
	severe := kind == failureUnavailable || kind == failureInternal
	if a.cfg.hook != nil || a.cfg.errorHandler != nil || severe {
		e := a.newError(kind, err, k, s)
		a.report(r, e)
		if a.cfg.errorHandler != nil {
			a.cfg.errorHandler(w, r, e)
			return
		}
	}
	resp := &a.cfg.responses.kinds[kind]
	challenge, body, length := resp.challenge, resp.body, resp.length
	if kind == failureInsufficientScope {
		challenge = a.cfg.responses.challenge + s.challengeParams
		body, length = s.body, s.length
	}
	h := w.Header()
	if challenge != "" {
		h.Set("WWW-Authenticate", challenge)
	}
	if resp.retryAfter != "" {
		h.Set("Retry-After", resp.retryAfter)
	}
	problem.Write(w, kind.status(), body, length)
}

// newError returns the AuthError of a refusal.
func (a *Authenticator) newError(kind failureKind, err error, k *Key, s *scope) *AuthError {
	e := &AuthError{Status: kind.status(), Err: err, Key: k, kind: kind, resp: a.cfg.responses, scope: s}
	if s != nil {
		e.Groups = append([]string(nil), s.groups...)
		e.AnyGroup = s.anyOf
	}
	return e
}
