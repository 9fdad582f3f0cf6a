package apikey

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// AuthConfig configures an [Authenticator]. The zero value is the default
// configuration; a zero field means its documented default, as for the
// Manager's options. [Manager.Authenticator] returns an error for an
// invalid value, as [New] does for an invalid option.
type AuthConfig struct {
	// Headers are the request headers that may carry the key. Default:
	// "Authorization" and "X-API-Key". "Authorization" carries the key as
	// a Bearer token (RFC 6750 section 2.1); any other header carries the
	// key alone as its whole value. Names are case-insensitive, must be
	// valid header names, and may not be listed twice. The query string and
	// the body are never read.
	//
	// Every listed header is read, and a request must carry exactly one key
	// across all of them: two keys are refused even if identical. So the
	// order of the names does not change which requests are accepted.
	Headers []string

	// Realm is the realm of the WWW-Authenticate challenge: printable ASCII
	// and spaces; double quotes and backslashes are escaped. Default: "api".
	Realm string

	// RetryAfter is the Retry-After header of 503 responses, rounded up to
	// whole seconds. Default: 5 seconds; negative leaves the header out.
	RetryAfter time.Duration

	// VerifyTimeout bounds the time a verification may take, Store call
	// included: past it, the request is refused with 503 (the cause
	// wrapping context.DeadlineExceeded). The timeout costs a timer and two
	// allocations per request. Default: no bound other than the request's
	// own context. It may not be negative.
	VerifyTimeout time.Duration

	// ErrorHandler replaces the default responses: it is called for every
	// refused request, by the middleware and by the scope checks of the
	// Authenticator, and must write the response. It receives the real
	// cause in err; what the client may learn of it is the application's
	// decision (usually nothing about which check failed). To keep the
	// standard status and headers and change only the body, call
	// err.SetHeaders(w.Header()) and then write; to keep everything and only
	// log, call [WriteError]. Default: nil, the default responses (see
	// [Authenticator]).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err *AuthError)

	// OnFailure sees every refused request, with its real cause and, when
	// known, the key, for logging and metrics. It is called synchronously,
	// before the response is written, and must not write to the response.
	// err never holds the presented key. Default: nil, in which case 503
	// and 500 refusals (which an operator must hear about) are logged at
	// error level to the Manager's logger (see [WithLogger]) and others are
	// not reported.
	OnFailure func(r *http.Request, err *AuthError)

	// DeprecationWindow is how long before a key's expiry the responses
	// to requests it authenticates start to carry Deprecation and Sunset
	// headers (see [Authenticator.SetDeprecationHeaders]). A rolled key in
	// its grace period carries them whatever the window. Default: zero, no
	// headers before the expiry of a key that was not rolled. It may not be
	// negative.
	DeprecationWindow time.Duration

	// DeprecationLink, if set, is sent with the Deprecation header as
	// `Link: <DeprecationLink>; rel="deprecation"` (RFC 9745 section 3):
	// the application's documentation on rotating keys. It must be an
	// absolute http or https URL without spaces, quotes or angle brackets.
	// Default: none.
	DeprecationLink string

	// Cost is what each request the Authenticator meters costs against
	// the key's rate limits and credits (see [Limits]); a route that costs
	// more uses [Authenticator.Limit]. Default: 1. It may not be negative
	// or above [MaxCost].
	Cost int64
}

// Defaults of AuthConfig.
const (
	defaultRealm      = "api"
	defaultRetryAfter = 5 * time.Second
)

// authSettings is an AuthConfig checked and completed with defaults.
type authSettings struct {
	headers      []keyHeader
	timeout      time.Duration
	errorHandler func(http.ResponseWriter, *http.Request, *AuthError)
	hook         func(*http.Request, *AuthError)
	responses    *responses
	window       time.Duration
	link         string // the whole Link header value, "" for none
	cost         int64
}

// settings checks c and returns it with its defaults filled in.
func (c AuthConfig) settings() (*authSettings, error) {
	s := &authSettings{headers: defaultKeyHeaders, timeout: c.VerifyTimeout, errorHandler: c.ErrorHandler, hook: c.OnFailure}
	if c.Headers != nil {
		if len(c.Headers) == 0 {
			return nil, fmt.Errorf("apikey: AuthConfig.Headers: no header name")
		}
		s.headers = make([]keyHeader, 0, len(c.Headers))
		for _, name := range c.Headers {
			if !isToken(name) {
				return nil, fmt.Errorf("apikey: AuthConfig.Headers: %q is not a valid header name", name)
			}
			canonical := http.CanonicalHeaderKey(name)
			if slices.ContainsFunc(s.headers, func(h keyHeader) bool { return h.name == canonical }) {
				return nil, fmt.Errorf("apikey: AuthConfig.Headers: %q is listed twice", canonical)
			}
			s.headers = append(s.headers, keyHeader{name: canonical, display: name, bearer: canonical == "Authorization"})
		}
	}
	realm := c.Realm
	if realm == "" {
		realm = defaultRealm
	}
	for i := 0; i < len(realm); i++ {
		if ch := realm[i]; ch < ' ' || ch > '~' {
			return nil, fmt.Errorf("apikey: AuthConfig.Realm: %q contains a character other than printable ASCII", realm)
		}
	}
	retryAfter := c.RetryAfter
	switch {
	case retryAfter == 0:
		retryAfter = defaultRetryAfter
	case retryAfter < 0:
		retryAfter = 0
	}
	if c.VerifyTimeout < 0 {
		return nil, fmt.Errorf("apikey: AuthConfig.VerifyTimeout: negative duration %v", c.VerifyTimeout)
	}
	if c.DeprecationWindow < 0 {
		return nil, fmt.Errorf("apikey: AuthConfig.DeprecationWindow: negative duration %v", c.DeprecationWindow)
	}
	s.window = c.DeprecationWindow
	if c.Cost < 0 || c.Cost > MaxCost {
		return nil, fmt.Errorf("apikey: AuthConfig.Cost: %d is not 0 to %d", c.Cost, MaxCost)
	}
	s.cost = max(c.Cost, 1)
	if c.DeprecationLink != "" {
		u, err := url.Parse(c.DeprecationLink)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			strings.ContainsFunc(c.DeprecationLink, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune(`<>"`, r) }) {
			return nil, fmt.Errorf("apikey: AuthConfig.DeprecationLink: %q is not an absolute http or https URL of printable ASCII without spaces, quotes or angle brackets", c.DeprecationLink)
		}
		s.link = "<" + c.DeprecationLink + `>; rel="deprecation"`
	}
	s.responses = newResponses(realm, retryAfter, s.headers)
	return s, nil
}
