package apikey

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/apikit/apikey/internal/problem"
)

// The problem types of requests refused by their usage limits (RFC 9457
// section 3.1.1): URIs that identify the problem, not pages to fetch.
const (
	ProblemRateLimited = "urn:apikey:problem:rate-limited"
	ProblemNoCredits   = "urn:apikey:problem:credits-exhausted"
)

// Limit returns middleware that charges each request cost against the
// limits of the key an Authenticator verified before it (see [Limits]),
// for a route that costs more (or less) than [AuthConfig.Cost]. Mounted
// behind Middleware (and behind the scope checks, which then leave the
// metering to it), it is the one place the route's requests are metered:
//
//	mux.Handle("POST /v1/reports", auth.Middleware(auth.RequireAll("reports:write")(auth.Limit(10)(reports))))
//
// Without Limit, Middleware meters with AuthConfig.Cost after the
// authentication and, when scope checks follow it, the last scope check
// meters after the scopes pass: a request refused by a scope consumes
// nothing. A request refused by its limits is answered 429 with
// Retry-After, the RateLimit-Policy and RateLimit header fields
// (draft-ietf-httpapi-ratelimit-headers) and a problem document that names
// the limit, never the key; an allowed request carries the two RateLimit
// fields too. Limits that cannot be checked (the Limiter or the Store
// failed) are answered 503, as a Store failure is, unless
// [WithLimiterFallback] says otherwise. An anonymous request (behind
// Optional) is not metered.
//
// Limit panics if cost is below 1 or above [MaxCost]; the returned
// function panics if given a nil handler.
func (a *Authenticator) Limit(cost int64) func(http.Handler) http.Handler {
	if cost < 1 || cost > MaxCost {
		panic("apikey: Authenticator.Limit: cost " + strconv.FormatInt(cost, 10) + " out of range")
	}
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("apikey: Authenticator.Limit: nil handler")
		}
		return &limitHandler{a: a, cost: cost, next: next}
	}
}

// limitHandler is the handler Limit returns.
type limitHandler struct {
	a    *Authenticator
	cost int64
	next http.Handler
}

func (h *limitHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, _ := r.Context().Value(keyContextKey{}).(*keyContext)
	if c == nil {
		h.a.logger.LogAttrs(r.Context(), slog.LevelError, "apikey: mis-assembled middleware stack: answering 500",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("error", "Authenticator.Limit without Middleware or Optional in front of it"))
		h.a.fail(w, r, failureInternal, errNoAuthenticator, nil, nil)
		return
	}
	if c.key != nil && !h.a.enforceLimits(w, r, c.key, h.cost) {
		return
	}
	h.next.ServeHTTP(w, r)
}

// metersItself reports whether next is a handler of this package that
// meters the request itself: a scope check (which meters once the scopes
// pass) or Limit.
func metersItself(next http.Handler) bool {
	switch next.(type) {
	case *scopeChecker, *limitHandler:
		return true
	}
	return false
}

// enforceLimits charges a request to k's limits, sets the RateLimit
// headers and, if the request is refused, answers it. It reports whether
// the request may go on. A key without limits costs one branch.
func (a *Authenticator) enforceLimits(w http.ResponseWriter, r *http.Request, k *Key, cost int64) bool {
	if k.Limits == nil && a.m.limits.ownerLimits == nil {
		return true
	}
	var buf [4]LimitStatus
	status, err := a.m.checkLimits(r.Context(), k, cost, buf[:0])
	if err == nil {
		SetRateLimitHeaders(w.Header(), status)
		return true
	}
	var le *LimitError
	if errors.As(err, &le) {
		writeLimitError(w, le)
		return false
	}
	a.fail(w, r, failureUnavailable, err, k, nil)
	return false
}

// CheckLimits is the metering of [Authenticator.Limit] for a framework
// that is not net/http (gin, fiber), after [Authenticator.Authenticate]
// and the scope checks: it charges cost (zero for [AuthConfig.Cost]) to
// k's limits, and returns the RateLimit header fields to send with the
// response and nil, or the refusal for [WriteError] (a [*LimitError],
// answered 429, or an [*AuthError], answered 503). The refusal's headers
// are in the returned header too.
func (a *Authenticator) CheckLimits(r *http.Request, k *Key, cost int64) (http.Header, error) {
	if cost == 0 {
		cost = a.cfg.cost
	}
	h := http.Header{}
	if k == nil || k.Limits == nil && a.m.limits.ownerLimits == nil {
		return h, nil
	}
	var buf [4]LimitStatus
	status, err := a.m.checkLimits(r.Context(), k, cost, buf[:0])
	if err == nil {
		SetRateLimitHeaders(h, status)
		return h, nil
	}
	var le *LimitError
	if errors.As(err, &le) {
		setLimitErrorHeaders(h, le)
		return h, le
	}
	e := a.newError(failureUnavailable, err, k, nil)
	a.report(r, e)
	e.SetHeaders(h)
	return h, e
}

// SetRateLimitHeaders sets the RateLimit-Policy and RateLimit header
// fields of draft-ietf-httpapi-ratelimit-headers (revision 08 and later)
// for the given rate limits, one list member per limit:
//
//	RateLimit-Policy: "requests";q=100;w=60, "writes";q=10;w=1
//	RateLimit: "requests";r=97;t=2, "writes";r=9;t=1
//
// q is the limit and w its period in seconds (rounded up); r is what
// remains and t the seconds until the limit is whole again (rounded up).
// It sets nothing for no limits.
func SetRateLimitHeaders(h http.Header, status []LimitStatus) {
	if len(status) == 0 {
		return
	}
	// Both fields in one buffer, turned into one string: two allocations
	// in all (the string and the fields' values), whatever the number of
	// limits.
	var stack [192]byte
	b := stack[:0]
	for i, s := range status {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendLimitName(b, s.Limit.Name)
		b = append(b, ";q="...)
		b = strconv.AppendInt(b, s.Limit.Limit, 10)
		b = append(b, ";w="...)
		b = strconv.AppendInt(b, max(retrySeconds(s.Limit.Period), 1), 10)
	}
	split := len(b)
	for i, s := range status {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendLimitName(b, s.Limit.Name)
		b = append(b, ";r="...)
		b = strconv.AppendInt(b, max(s.Remaining, 0), 10)
		b = append(b, ";t="...)
		b = strconv.AppendInt(b, retrySeconds(s.Reset), 10)
	}
	both := string(b)
	values := []string{both[:split], both[split:]}
	h[rateLimitPolicyHeader] = values[0:1:1] // the canonical keys: no canonicalization per request
	h[rateLimitHeader] = values[1:2:2]
}

// appendLimitName appends a limit's name as a structured-field string.
// Valid names are letters, digits, '_', '-' and '.' (ValidateLimits), which
// need no escape; a name a custom Limiter made up otherwise is quoted.
func appendLimitName(b []byte, name string) []byte {
	if !validLimitName(name) {
		return strconv.AppendQuote(b, name)
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"')
}

// The canonical forms (textproto.CanonicalMIMEHeaderKey) of the names of
// the RateLimit header fields.
const (
	rateLimitPolicyHeader = "Ratelimit-Policy"
	rateLimitHeader       = "Ratelimit"
)

func setLimitErrorHeaders(h http.Header, e *LimitError) {
	SetRateLimitHeaders(h, e.Status)
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(max(retrySeconds(e.RetryAfter), 1), 10))
	}
}

// writeLimitError answers a request refused by its limits: 429, with
// Retry-After when it is known, the RateLimit headers, and a problem
// document of type ProblemRateLimited or ProblemNoCredits that names the
// limit (never the key).
func writeLimitError(w http.ResponseWriter, e *LimitError) {
	setLimitErrorHeaders(w.Header(), e)
	d := problem.Doc{Status: http.StatusTooManyRequests, Limit: e.Limit}
	if errors.Is(e.Err, ErrNoCredits) {
		d.Type, d.Code, d.Detail = ProblemNoCredits, "credits_exhausted", "The credits of this key are exhausted."
	} else {
		d.Type, d.Code, d.Detail = ProblemRateLimited, "rate_limited", "The rate limit "+strconv.Quote(e.Limit)+" is exceeded: retry later."
	}
	body, length := problem.Body(d)
	problem.Write(w, http.StatusTooManyRequests, body, length)
}
