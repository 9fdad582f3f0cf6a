package apikey

import (
	"errors"
	"strconv"
	"time"
)

var (
	// ErrInvalidLimits means a key's or an owner's [Limits] are malformed
	// (see [ValidateLimits]), or a credit amount is out of range.
	ErrInvalidLimits = errors.New("apikey: invalid limits")

	// ErrRateLimited means a request was refused by a rate limit: it
	// consumed none of the key's limits. The [*LimitError] that wraps it
	// says which limit and when to retry.
	ErrRateLimited = errors.New("apikey: rate limit exceeded")

	// ErrNoCredits means a request was refused because the credit
	// balance it spends cannot pay its cost: it consumed none of the
	// key's rate limits.
	ErrNoCredits = errors.New("apikey: credits exhausted")

	// ErrLimiterUnavailable means the limits of a request could not be
	// checked: the counter backend (see [WithLimiter]) or the Store's
	// credits failed. The request is refused (fail closed) unless the
	// application chose a fallback (see [WithLimiterFallback]).
	ErrLimiterUnavailable = errors.New("apikey: usage limits unavailable")
)

// LimitError is a request refused by its usage limits. It unwraps to
// ErrRateLimited or ErrNoCredits. It names the limit, never the key.
type LimitError struct {
	// Limit is the name of the rate limit that refused the request, or
	// "credits".
	Limit string

	// Scope is the scope of that limit or balance.
	Scope LimitScope

	// RetryAfter is when the request would be allowed, at the earliest:
	// for a rate limit, when enough of it has come back; for credits, the
	// next refill, or zero if none is due.
	RetryAfter time.Duration

	// Status is the state of every rate limit of the request, for the
	// RateLimit headers.
	Status []LimitStatus

	// Err is ErrRateLimited or ErrNoCredits.
	Err error
}

// Error says which limit refused the request, such as
// "apikey: rate limit exceeded: requests (retry after 3s)".
func (e *LimitError) Error() string {
	s := e.Err.Error() + ": " + e.Limit
	if e.RetryAfter > 0 {
		s += " (retry after " + strconv.FormatInt(int64(retrySeconds(e.RetryAfter)), 10) + "s)"
	}
	return s
}

// Unwrap returns Err.
func (e *LimitError) Unwrap() error { return e.Err }

// retrySeconds rounds d up to whole seconds, at least 1 for a positive d.
func retrySeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
