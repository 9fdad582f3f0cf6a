package apikey

import (
	"errors"
	"strings"
)

// Errors returned by the Manager and by every Store. Test for them with
// errors.Is: they are usually wrapped with more context.
//
// The library never merges distinct causes into one error; deciding what a
// client may learn (usually nothing about which check failed) is the job of
// the HTTP layer. See [Authenticator].
var (
	// ErrInvalidKey means the presented string is not a valid key: it is
	// malformed, has a wrong checksum or prefix, names no stored key, or its
	// secret does not match.
	ErrInvalidKey = errors.New("apikey: invalid key")

	// ErrInactive means the key is valid but has been deactivated.
	ErrInactive = errors.New("apikey: key is inactive")

	// ErrExpired means the key is valid but its expiry time has passed.
	ErrExpired = errors.New("apikey: key has expired")

	// ErrStoreFailure wraps any error from the Store during verification or
	// management, other than the sentinels above and below. A caller that
	// sees it must fail closed: an HTTP server answers 503, not 401, because
	// nothing is known about the key.
	ErrStoreFailure = errors.New("apikey: store failure")

	// ErrNotFound means no key has the given ID or lookup ID.
	ErrNotFound = errors.New("apikey: key not found")

	// ErrDuplicate means a key with the same ID or lookup ID already exists.
	ErrDuplicate = errors.New("apikey: duplicate key")

	// ErrConflict means a conditional change was not made because the key
	// changed in the meantime (see Store). The Manager retries a few times
	// before returning it.
	ErrConflict = errors.New("apikey: key changed concurrently")

	// ErrInvalidName means a key name is empty, longer than [maxNameLength]
	// characters, not valid UTF-8, or contains control characters.
	ErrInvalidName = errors.New("apikey: invalid name")

	// ErrInvalidGroup means a group name is malformed, or that a key was
	// given no group or more than [MaxGroups] groups.
	ErrInvalidGroup = errors.New("apikey: invalid group")

	// ErrUnknownGroup means a group is well formed but not in the registry
	// of groups given with [WithGroups].
	ErrUnknownGroup = errors.New("apikey: unknown group")

	// ErrEscalation means the acting administrator (see [NewActorContext]) tried
	// to grant a group they do not hold, or to change a key that holds
	// groups they do not hold.
	ErrEscalation = errors.New("apikey: privilege escalation refused")

	// ErrInvalidOwner means an owner is empty, too long or has a character
	// outside [A-Za-z0-9_.:@-] (see [ValidateOwner]).
	ErrInvalidOwner = errors.New("apikey: invalid owner")

	// ErrInvalidMetadata means a key's metadata exceeds its bounds (see
	// [ValidateMetadata]).
	ErrInvalidMetadata = errors.New("apikey: invalid metadata")

	// ErrQuotaExceeded means the owner already holds the maximum number of
	// keys (see [WithOwnerQuota]).
	ErrQuotaExceeded = errors.New("apikey: the owner's key quota is reached")

	// ErrInvalidCursor means a pagination cursor was not produced by
	// [Manager.List] or has been tampered with.
	ErrInvalidCursor = errors.New("apikey: invalid cursor")

	// ErrInvalidSort means a list order is not one of [ListSort]'s, or a
	// filter needs another order (ExpiringBefore lists in SortExpiry).
	ErrInvalidSort = errors.New("apikey: invalid sort")

	// ErrInvalidExpiry means an expiry time is not in the future, or is
	// outside what every store and JSON can hold: the zero instant, or
	// after [MaxExpiry].
	ErrInvalidExpiry = errors.New("apikey: invalid expiry")

	// ErrExpiryPolicy means an expiry, or the lack of one, breaks the
	// expiry policy of the key's owner (see [WithExpiryPolicy]): the
	// [*ValidationError] names the policy in its Reason.
	ErrExpiryPolicy = errors.New("apikey: expiry outside the expiry policy")

	// ErrAlreadyRolled means a key was rolled already (see
	// [Manager.Roll]): it has a successor, and is in its grace period or
	// past it. Roll the successor instead.
	ErrAlreadyRolled = errors.New("apikey: key already rolled")

	// ErrUnsupportedHash is returned by a [Hasher] asked to verify an encoded
	// hash of another algorithm or parameters it cannot read.
	ErrUnsupportedHash = errors.New("apikey: unsupported hash encoding")

	// ErrClosed is returned by a Manager used after Close.
	ErrClosed = errors.New("apikey: manager is closed")

	// The errors below are reported by the HTTP layer, in [AuthError.Err],
	// besides those of [Manager.Verify]. None of them reaches the client:
	// the client sees only the status and the RFC 6750 error code.

	// ErrMissingKey means the request carries no key in any of the key
	// headers. An Authorization header with another scheme than Bearer
	// carries no key.
	ErrMissingKey = errors.New("apikey: no API key in the request")

	// ErrMultipleKeys means the request carries more than one key (two
	// X-API-Key headers, a Bearer token and an X-API-Key header, even if
	// identical) or more than one Authorization header.
	ErrMultipleKeys = errors.New("apikey: more than one API key in the request")

	// ErrMalformedCredentials means an Authorization header with the Bearer
	// scheme does not follow RFC 6750 section 2.1 ("Bearer" 1*SP b64token),
	// or a key header's value is not a b64token.
	ErrMalformedCredentials = errors.New("apikey: malformed credentials")

	// ErrInsufficientScope means a verified key lacks the groups that
	// [Authenticator.RequireAll] or [Authenticator.RequireAny] asks for.
	ErrInsufficientScope = errors.New("apikey: key lacks the required groups")

	// ErrVerifyPanic means verification panicked, in the Store or a Hasher.
	// The error that wraps it carries the panic value (with the presented
	// key redacted) and the stack.
	ErrVerifyPanic = errors.New("apikey: panic during verification")
)

// KeyError is the error Verify returns for a genuine key that may not be
// used: Err is ErrInactive or ErrExpired, and Key the key's record, so that
// logs and hooks can name the key. Test for the cause with errors.Is; the
// key is reachable only with errors.As, never by accident.
type KeyError struct {
	Key *Key
	Err error
}

// Error returns the cause and the key's ID.
func (e *KeyError) Error() string { return e.Err.Error() + " (key " + e.Key.ID.String() + ")" }

// Unwrap returns the cause.
func (e *KeyError) Unwrap() error { return e.Err }

// ValidationError is the error of a value the Manager refuses: a name, a
// group, an expiry. It carries what a caller needs to tell the user, and
// unwraps to its sentinel, so that errors.Is(err, ErrInvalidName) works.
// Its fields never hold a key or a secret.
type ValidationError struct {
	// Field names the value, as the field of [IssueRequest] that carries
	// it: "Name", "Groups", "CreatedBy", "ExpiresAt", "Owner" or
	// "Metadata".
	Field string

	// Reason says what is wrong, for a person: "must be 1 to 255
	// characters", "\"billing:wirte\" is not a registered group"; empty
	// when the sentinel says it all (ErrInvalidExpiry).
	Reason string

	// Err is the sentinel: ErrInvalidName, ErrInvalidGroup,
	// ErrUnknownGroup, ErrInvalidExpiry, ErrExpiryPolicy, ErrInvalidOwner
	// or ErrInvalidMetadata.
	Err error
}

// Error returns the sentinel's message, the field when it is not implied by
// the sentinel, and the reason, such as
// "apikey: invalid name: CreatedBy: must not be blank".
func (e *ValidationError) Error() string {
	s := e.Err.Error()
	if e.Field == "CreatedBy" {
		s += ": " + e.Field
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Unwrap returns the sentinel.
func (e *ValidationError) Unwrap() error { return e.Err }

// EscalationError is the error of a change that the acting administrator
// (see [NewActorContext]) may not make. It unwraps to [ErrEscalation].
type EscalationError struct {
	// Missing are the groups the administrator does not hold, sorted and
	// without duplicates: those they tried to grant if Granting is set,
	// and otherwise those the key holds.
	Missing []string

	// Granting reports whether the administrator tried to grant the
	// Missing groups (Issue, SetGroups), rather than to change a key that
	// holds them (Rename, SetGroups, Activate, Deactivate, Delete).
	Granting bool
}

// Error names the missing groups, such as "apikey: privilege escalation
// refused: the acting administrator cannot grant groups they do not hold:
// billing:write".
func (e *EscalationError) Error() string {
	what := "the key holds groups the acting administrator does not hold"
	if e.Granting {
		what = "the acting administrator cannot grant groups they do not hold"
	}
	return ErrEscalation.Error() + ": " + what + ": " + strings.Join(e.Missing, ", ")
}

// Unwrap returns ErrEscalation.
func (e *EscalationError) Unwrap() error { return ErrEscalation }
