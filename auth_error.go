package apikey

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
)

// failureKind classifies a refused request. Each kind has one status code
// and one default response; see [Authenticator].
type failureKind uint8

const (
	failureMissingKey        failureKind = iota + 1 // 401, no error code
	failureInvalidRequest                           // 400 invalid_request
	failureInvalidToken                             // 401 invalid_token
	failureInsufficientScope                        // 403 insufficient_scope
	failureUnavailable                              // 503, Retry-After
	failureInternal                                 // 500: a panic during verification, or a mis-assembled stack
	failureKinds
)

// status returns the status code of the default response for k.
func (k failureKind) status() int {
	switch k {
	case failureMissingKey, failureInvalidToken:
		return http.StatusUnauthorized
	case failureInvalidRequest:
		return http.StatusBadRequest
	case failureInsufficientScope:
		return http.StatusForbidden
	case failureUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// code returns the RFC 6750 error code of k, or "" for none.
func (k failureKind) code() string {
	switch k {
	case failureInvalidRequest:
		return "invalid_request"
	case failureInvalidToken:
		return "invalid_token"
	case failureInsufficientScope:
		return "insufficient_scope"
	}
	return ""
}

// AuthError is the failure of a request refused by an [Authenticator]: the
// error that [Authenticator.Authenticate] returns, and what a failure hook
// and an error handler (see [AuthConfig]) receive. It carries the real
// cause, which the default responses never reveal, and never the presented
// key. [WriteError] writes its default response.
type AuthError struct {
	// Status is the status code of the default response:
	//
	//	400  two keys, malformed credentials      (Err: ErrMultipleKeys, ErrMalformedCredentials)
	//	401  no key                               (Err: ErrMissingKey)
	//	401  malformed, unknown, wrong secret,    (Err: ErrInvalidKey, ErrInactive, ErrExpired)
	//	     inactive or expired key
	//	403  valid key lacking groups             (Err: ErrInsufficientScope)
	//	503  Store failure or timeout, Manager    (Err: ErrStoreFailure, ErrClosed, ErrUnsupportedHash, ...)
	//	     closed, unreadable hash
	//	500  panic during verification, or a     (Err: ErrVerifyPanic, or an error naming the mistake)
	//	     scope check with no authentication
	//	     in front of it
	Status int

	// Err is the cause: one of the errors of this package, usually wrapped.
	// Test it with errors.Is.
	Err error

	// Key is the key the request presented when it is known to be genuine:
	// for a 403, and for a 401 when the key is inactive or expired (see
	// [KeyError]); nil otherwise.
	Key *Key

	// Groups are the groups required, for a 403 only: all of them, or any
	// one of them if AnyGroup is set. The slice is the error's own copy.
	Groups []string

	// AnyGroup reports whether any one of Groups would have sufficed
	// (RequireAny) rather than all of them (RequireAll).
	AnyGroup bool

	kind  failureKind
	resp  *responses // of the Authenticator that refused the request; nil for the defaults
	scope *scope     // for a 403
}

// Code returns the RFC 6750 error code of the failure: "invalid_request"
// (400), "invalid_token" (401), "insufficient_scope" (403), or "" when the
// default response names none (no key, 500, 503).
func (e *AuthError) Code() string { return e.failure().code() }

// Error returns the status and the cause, such as
// "401 invalid_token: apikey: key is inactive".
func (e *AuthError) Error() string {
	s := fmt.Sprint(e.Status)
	if c := e.Code(); c != "" {
		s += " " + c
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause, so that errors.Is(err, ErrInactive) works on an
// AuthError.
func (e *AuthError) Unwrap() error { return e.Err }

// failure returns the kind of e, derived from Status for an AuthError that
// an application built itself.
func (e *AuthError) failure() failureKind {
	if e.kind != 0 {
		return e.kind
	}
	switch e.Status {
	case http.StatusBadRequest:
		return failureInvalidRequest
	case http.StatusUnauthorized:
		if errors.Is(e.Err, ErrMissingKey) || e.Err == nil {
			return failureMissingKey
		}
		return failureInvalidToken
	case http.StatusForbidden:
		return failureInsufficientScope
	case http.StatusServiceUnavailable:
		return failureUnavailable
	}
	return failureInternal
}

// classify returns the kind of a Verify error. Any error that is not known
// to be a refusal of the key fails closed, with 503: nothing is known about
// the key.
func classify(err error) failureKind {
	switch {
	case errors.Is(err, ErrStoreFailure), errors.Is(err, ErrClosed), errors.Is(err, ErrUnsupportedHash):
		return failureUnavailable
	case errors.Is(err, ErrInvalidKey), errors.Is(err, ErrInactive), errors.Is(err, ErrExpired):
		return failureInvalidToken
	}
	return failureUnavailable
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
