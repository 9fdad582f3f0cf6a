// Package admin is the "API Keys" tab of an admin panel: a JSON API over an
// [apikey.Manager] and a web page that uses it, served by one [http.Handler]
// that the application mounts under a prefix of its choice:
//
//	h, err := admin.New(m)
//	mux.Handle("/admin/", http.StripPrefix("/admin", h))
//
// The page links to its assets and calls the API with relative URLs, so any
// prefix works, provided the page is reached at the prefix with a trailing
// slash ("/admin/"; http.ServeMux redirects "/admin" there).
//
// # Who is acting
//
// Every Manager call is made on behalf of an [apikey.Actor] (see
// [apikey.NewActorContext]), so the Manager itself refuses privilege escalation:
// an administrator grants only groups they hold, and changes or deletes only
// keys whose groups they all hold. The actor's name is recorded as the
// "created by" of the keys they issue.
//
// By default the API authenticates each request with the middleware of an
// [apikey.Authenticator] of the Manager and acts on behalf of the key it
// verified, which must hold the admin group ([DefaultAdminGroup], see
// [WithAdminGroup]): the actor's name is the key's name and its groups are
// the key's groups. An application that authenticates administrators
// otherwise (a session cookie, single sign-on) says how with [WithActor].
// The page and its assets are served without authentication: they hold no
// data, and the page asks for an admin key before anything else.
//
// # Routes
//
// Paths are relative to where the handler is mounted. Request bodies are
// JSON objects (Content-Type: application/json, at most 64 KiB by default,
// see [WithMaxBodyBytes]), read strictly so that a proxy or an audit tool
// reading the same bytes cannot understand another request: a member name
// must be spelled exactly as documented ("Name" or "NAME" is refused, as is
// a field the route does not know, such as "hash", "active" or "id"), no
// object may name a member twice, the body must be valid UTF-8, and
// nothing may follow the object. Routes that take no body accept an empty
// one, chunked or not.
//
//	GET    /                          the page (index.html)
//	GET    /assets/{file}             its script, style sheet and icon
//	GET    /api/me                    the acting administrator: {"name", "groups", "owner", "expiry_policy",
//	                                  "owner_limits": the organization's default limits (LIMITS) or null}
//	GET    /api/groups                the registered groups: {"groups": [{"name", "description", "grantable"}]}
//	GET    /api/keys                  a page of keys: {"keys": [...], "next_cursor"}
//	                                  query: status=active|inactive, group=NAME, name=PART, cursor=NEXT_CURSOR, limit=1..500
//	POST   /api/keys                  {"name", "groups", "expires_at"?, "limits"?: LIMITS, "credits"?: N}
//	                                  → 201 {"key", "plaintext"} (credits: the first balance; needs a credit policy)
//	GET    /api/keys/{id}             one key
//	PUT    /api/keys/{id}/name        {"name"} → the key
//	PUT    /api/keys/{id}/groups      {"groups", "force"?} → the key
//	POST   /api/keys/{id}/activate    no body, or {} → the key
//	POST   /api/keys/{id}/deactivate  no body, {}, or {"force": true} → the key
//	POST   /api/keys/{id}/roll        {"grace": "24h" or seconds, "expires_at"?} → 201 {"key", "plaintext", "rolled"}
//	PUT    /api/keys/{id}/expiry      {"expires_at": time or null} → the key
//	GET    /api/keys/{id}/limits      {"limits": the key's own LIMITS or null, "effective": with the owner's
//	                                  defaults, or null, "credits": {"remaining", "refilled_at"} or null}
//	PUT    /api/keys/{id}/limits      LIMITS ({} removes the key's own) → as GET; audited (limits_changed)
//	POST   /api/keys/{id}/credits     {"set": N} or {"add": N} (negative subtracts, never below 0) → {"remaining"};
//	                                  the balance the key spends (its owner's for owner-scoped credits);
//	                                  audited (credits_changed)
//	DELETE /api/keys/{id}             {"confirm": "<the key's current name>", "force"?} → 204
//	GET    /api/keys/{id}/events      the key's history, newest first: {"events": [...], "next_cursor"}
//	                                  query: order=newest|oldest, cursor=NEXT_CURSOR, kind=KIND,
//	                                  actor=ACTOR_ID, since=RFC 3339 time, limit=1..1000 (default 100)
//	GET    /api/events                the organization's activity, newest first, as above;
//	                                  query: as above, key=KEY_ID, owner=ID (an operator acting for every owner)
//	GET    /api/keys/{id}/usage       the key's metered uses (see apikey.Manager.Usage): {"key_id", "owner",
//	                                  "from", "to", "step", "points": [{"start", "verified", "inactive", "expired",
//	                                  "missing_scope", "rate_limited", "credits_exhausted"}], "total", "busiest": []}
//	                                  query: from, to (RFC 3339; default the last 30 days), step=hour|day
//	GET    /api/usage                 the organization's totals, as above, and its busiest keys:
//	                                  "busiest": [{"key_id", "verified", "refused"}]; query: from, to, step,
//	                                  top=1..100 (default 10), owner=ID (an operator acting for every owner)
//	GET    /api/usage/unused          the keys not used in days=1..365 (default 30) days, or never:
//	                                  {"keys": [...], "days", "truncated"}; it reads the organization's keys,
//	                                  at most 10,000 (truncated beyond): bounded by its key count
//
// LIMITS is {"rates": [{"name", "limit", "period": Go duration ("1m"),
// "burst"?, "scope": "key"|"owner"}], "credits": null or {"scope"?,
// "refill"?: {"amount", "interval": "daily"|"monthly", "day"?}}}, as
// apikey.Limits; every key's JSON carries its own as "limits" (null for
// none). The balance is not in the list (it is a Store read per key).
//
// An event is shown as {"at", "owner", "key_id", "actor_id", "actor_name",
// "actor_preview", "reason", "kind", "old", "new"}: who changed which key,
// when and how ("kind" is one of issued, renamed, groups_changed,
// activated, deactivated, rolled, expiry_changed, limits_changed,
// credits_changed, deleted, pruned), with
// the values the change touched before ("old") and after ("new"): "name",
// "groups", "expires_at", "successor", "predecessor", "grace_ends_at".
// A change made through this API names the acting administrator's key:
// "actor_id" is its ID and "actor_preview" its preview, beside its name,
// which another key may share; filter by "actor" with that ID.
// Pass "next_cursor" as "cursor" for the next page, with the same query;
// it is null on the last. Cursors are opaque, and neither they nor the
// events carry a store-wide position: nothing in a page tells how many
// changes other organizations made.
// A deleted key's history stays readable by its ID within its
// organization; a key of another organization, deleted or not, is 404 as
// one that never existed, and the activity holds the administrator's
// organization's events only. An event never holds a hash, a lookup ID or
// a plaintext.
//
// A key is shown as {"id", "name", "status" ("active" or "inactive"),
// "preview", "groups", "created_at", "created_by", "updated_at",
// "last_used_at" (null until first use), "expires_at" (null if never),
// "can_manage", "self"}; "can_manage" tells whether the acting administrator
// holds all of the key's groups, and so may change or delete it, and "self"
// marks the key the request was authenticated with. The name search
// ("name") matches a part of the name, ASCII letters in any case, "%" and
// "_" literally, within the administrator's organization. The hash of a key
// is never in any response, and its plaintext only in the response that
// creates it, which is marked Cache-Control: no-store (as every API response
// is).
//
// Deleting needs the key's current name in the body as confirmation: a
// DELETE without it is refused with 400, one with another name (a stale
// page, the wrong ID) with 409, and nothing is deleted.
//
// # The last administrator key
//
// With the default actor, the API refuses with 409 last_administrator to
// deactivate or delete the last active, unexpired key of an organization
// that holds the admin group, or to take the admin group from it: nobody
// could sign in afterwards. The request goes through with "force": true.
// Within one Handler the check and the change are serialized, so two
// administrators deactivating each other's keys at once cannot both
// succeed; Handlers in several processes sharing a database do not share
// that lock. With [WithActor] the application decides who administers and
// no such check is made. An organization left without an administrator key
// recovers with the apikey command, which works on the database directly:
//
//	apikey --owner acme list --group apikeys:admin --wide   # its administrator keys, active or not
//	apikey --owner acme activate ak_3Fq9…x7Ab                # let one work again, or:
//	apikey --owner acme create --name "Recovery admin" --group apikeys:admin > admin.key
//
// # Errors
//
// Errors are RFC 9457 problem documents (Content-Type:
// application/problem+json) with "type", "title", "status", a "detail"
// written for the administrator, and a "code" for programs:
//
//	400 invalid_request, invalid_json, unknown_field, duplicate_field, invalid_cursor, confirmation_required
//	401 unauthenticated              (from an ActorFunc; with the default actor, the
//	                                 middleware answers 401 itself, without a code)
//	403 forbidden, escalation, cross_origin
//	404 not_found
//	405 method_not_allowed
//	409 confirmation_mismatch, last_administrator, conflict, quota_exceeded, already_rolled, inactive
//	413 body_too_large
//	415 unsupported_media_type
//	422 invalid_utf8, invalid_name, invalid_group, unknown_group, invalid_expiry, expiry_policy, invalid_grace,
//	    invalid_limits, invalid_credits
//	501 unsupported                  (roll, expiry or prune on a Store that is not an apikey.LifecycleStore;
//	                                 limits or credits on one that is not an apikey.LimitStore;
//	                                 events on a Store that is not an apikey.EventStore)
//	503 unavailable                  (the Store failed; no details; Retry-After: 5)
//	500 internal                     (no details)
//
// # Browser security
//
// State-changing requests (POST, PUT, DELETE) from another origin are
// refused with [http.CrossOriginProtection], so a page elsewhere cannot act
// with a logged-in administrator's cookies, and bodies must be sent as
// application/json, which no HTML form can do. Every response carries a
// strict Content-Security-Policy (no inline script or style, nothing from
// another origin, no framing), X-Content-Type-Options: nosniff and
// Referrer-Policy: no-referrer. The page renders names and groups as text,
// never as HTML.
package admin
