package apikey

import (
	"fmt"
	"net/http"
	"strings"
)

// errKeyTooLong is the cause of a refusal of a value longer than
// maxKeyLength, which is never handed to Verify.
var errKeyTooLong = fmt.Errorf("%w: longer than %d bytes", ErrInvalidKey, maxKeyLength)

// keyHeader is a request header that may carry the key.
type keyHeader struct {
	name    string // canonical, as net/http stores it
	display string // as the application spelled it, for the problem documents
	bearer  bool   // parsed as Authorization credentials with the Bearer scheme
}

// defaultKeyHeaders are read unless [AuthConfig.Headers] says otherwise.
var defaultKeyHeaders = []keyHeader{
	{name: "Authorization", display: "Authorization", bearer: true},
	{name: "X-Api-Key", display: "X-API-Key"},
}

// credential returns the one key the request carries, or why there is
// none. It reads the headers by hand: no allocation, and no more of a
// hostile value than needed. The query string and the body are never read.
func credential(headers []keyHeader, h http.Header) (string, failureKind, error) {
	var (
		token     string
		n         int
		malformed bool
	)
	for i := range headers {
		kh := &headers[i]
		values := h[kh.name]
		if kh.bearer {
			if len(values) > 1 {
				return "", failureInvalidRequest, ErrMultipleKeys
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
		return "", failureMissingKey, ErrMissingKey
	case n > 1:
		return "", failureInvalidRequest, ErrMultipleKeys
	case malformed:
		return "", failureInvalidRequest, ErrMalformedCredentials
	case len(token) > maxKeyLength:
		return "", failureInvalidToken, errKeyTooLong
	}
	return token, 0, nil
}

// checkToken returns the lookup ID of token if it is a well-formed key of
// the Manager whose keys start with prefixSep, so that verification need
// not parse it again: the token is read once. A token that is not is
// checked to be an RFC 6750 b64token (a key, base62, always is): if not,
// the credentials are malformed.
func checkToken(token, prefixSep string) (lookupID string, kind failureKind, err error) {
	if lookupID, ok := lookupIDOf(token, prefixSep); ok {
		return lookupID, 0, nil
	}
	if !isB64token(token) {
		return "", failureInvalidRequest, ErrMalformedCredentials
	}
	return "", 0, nil
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
