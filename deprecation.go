package apikey

import (
	"net/http"
	"strconv"
)

// SetDeprecationHeaders tells the client of a key that it must rotate it:
// if k is a rolled key in its grace period, or stops working within
// [AuthConfig.DeprecationWindow], it sets on h
//
//	Deprecation: @<unix seconds>     (RFC 9745: when the key was rolled, or the window began)
//	Sunset: <HTTP-date>              (RFC 8594: when the key stops working)
//	Link: <url>; rel="deprecation"   (if AuthConfig.DeprecationLink is set)
//
// and otherwise sets nothing. The Link header is added to any the
// response already has. [Authenticator.Middleware] and
// [Authenticator.Optional] call it for every request they authenticate,
// before the handler runs; a framework that is not net/http calls it with
// the key from [Authenticator.Authenticate]. The same facts are on the key:
// [Key.Deprecation] and [Key.EndsAt].
func (a *Authenticator) SetDeprecationHeaders(h http.Header, k *Key) {
	// A key with no expiry and never rolled is never deprecated:
	// spare the common case the clock read.
	if k == nil || k.ExpiresAt == nil && k.GraceEndsAt == nil && k.RolledAt == nil {
		return
	}
	since, sunset, ok := k.Deprecation(a.m.now(), a.cfg.window)
	if !ok {
		return
	}
	h.Set("Deprecation", "@"+strconv.FormatInt(since.Unix(), 10))
	if !sunset.IsZero() {
		h.Set("Sunset", sunset.UTC().Format(http.TimeFormat))
	}
	if a.cfg.link != "" {
		h.Add("Link", a.cfg.link)
	}
}
