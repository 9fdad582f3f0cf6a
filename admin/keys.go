package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// keyResponse is a key as the API shows it. It is built field by field
// from apikey.Key, so that no field added to Key (or a tag changed on it)
// can ever put the hash or the lookup ID in a response.
type keyResponse struct {
	ID     uuid.UUID `json:"id"`
	Owner  string    `json:"owner"`
	Name   string    `json:"name"`
	Status string    `json:"status"`
	// State is why the key works or not now: "active" (it works),
	// "inactive", "expired", or "rolled" (its grace period is over:
	// RolledTo is its successor).
	State      string     `json:"state"`
	Preview    string     `json:"preview"`
	Groups     []string   `json:"groups"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
	UpdatedAt  time.Time  `json:"updated_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	CanManage  bool       `json:"can_manage"`

	// The key's roll: its predecessor and successor (null for none), when
	// it was rolled and when its grace period ends.
	RolledFrom  *uuid.UUID `json:"rolled_from"`
	RolledTo    *uuid.UUID `json:"rolled_to"`
	RolledAt    *time.Time `json:"rolled_at"`
	GraceEndsAt *time.Time `json:"grace_ends_at"`

	// Self marks the key that authenticated the request: the one the
	// administrator is signed in with.
	Self bool `json:"self"`

	Metadata map[string]string `json:"metadata,omitempty"`

	// Limits are the key's own rate limits and credit policy, null for
	// none (its balance: GET /api/keys/{id}/limits).
	Limits *limitsJSON `json:"limits"`
}

// signedIn returns the ID of the key that authenticated r, or uuid.Nil if
// no key did (an application's own login, under WithActor).
func signedIn(r *http.Request) uuid.UUID {
	if k, ok := apikey.FromContext(r.Context()); ok {
		return k.ID
	}
	return uuid.Nil
}

func newKeyResponse(k *apikey.Key, a apikey.Actor, self uuid.UUID, state apikey.KeyState) keyResponse {
	status := "inactive"
	if k.Active {
		status = "active"
	}
	groups := k.Groups
	if groups == nil {
		groups = []string{}
	}
	var from, to *uuid.UUID
	if k.RolledFrom != uuid.Nil {
		from = &k.RolledFrom
	}
	if k.RolledTo != uuid.Nil {
		to = &k.RolledTo
	}
	return keyResponse{
		State:       string(state),
		RolledFrom:  from,
		RolledTo:    to,
		RolledAt:    k.RolledAt,
		GraceEndsAt: k.GraceEndsAt,
		ID:          k.ID,
		Owner:       k.Owner,
		Name:        k.Name,
		Status:      status,
		Preview:     k.Preview,
		Groups:      groups,
		CreatedAt:   k.CreatedAt,
		CreatedBy:   k.CreatedBy,
		UpdatedAt:   k.UpdatedAt,
		LastUsedAt:  k.LastUsedAt,
		ExpiresAt:   k.ExpiresAt,
		CanManage:   len(missing(k.Groups, a.Groups)) == 0,
		Self:        self != uuid.Nil && k.ID == self,
		Metadata:    k.Metadata,
		Limits:      newLimitsJSON(k.Limits),
	}
}

// missing returns the groups in want that have does not hold.
func missing(want, have []string) []string {
	var out []string
	for _, g := range want {
		if !slices.Contains(have, g) && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Every response type is made of strings, numbers, times and
		// UUIDs, which always encode.
		panic("admin: encoding a response: " + err.Error())
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body) // the client may be gone; there is no one left to tell
}

// me answers who is acting, for the page to greet them and to know which
// groups they may grant.
func (h *Handler) me(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	groups := a.Groups
	if groups == nil {
		groups = []string{}
	}
	owner := a.Owner
	if owner == "" && !a.AllOwners {
		owner = apikey.DefaultOwner
	}
	writeJSON(w, http.StatusOK, struct {
		Name      string   `json:"name"`
		Groups    []string `json:"groups"`
		Owner     string   `json:"owner"`      // the organization managed, "" with AllOwners
		AllOwners bool     `json:"all_owners"` // the operator scope: every organization

		// LastUsedInterval is how late a last-used time may be, in
		// seconds; 0 if the application writes them at other times.
		LastUsedInterval float64 `json:"last_used_interval"`

		// ExpiryPolicy bounds the expiry of the organization's keys.
		ExpiryPolicy policyResponse `json:"expiry_policy"`

		// OwnerLimits are the organization's default limits, which apply
		// to every key it holds; null for none.
		OwnerLimits *limitsJSON `json:"owner_limits"`
	}{a.Name, groups, owner, a.AllOwners, h.m.LastUsedFlushInterval().Seconds(), h.policy(owner), h.ownerLimits(owner)})
}

// groupResponse is a permission group as the API shows it.
type groupResponse struct {
	Name        string `json:"name"`
	Description string `json:"description"`

	// Grantable tells whether the acting administrator holds the group,
	// and so may give it to a key.
	Grantable bool `json:"grantable"`
}

// listGroups answers the registered groups. A Manager without a registry
// accepts any group; the groups an administrator may grant are then theirs.
func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	groups := h.m.Groups()
	if groups == nil {
		for _, g := range a.Groups {
			groups = append(groups, apikey.Group{Name: g})
		}
		slices.SortFunc(groups, func(x, y apikey.Group) int { return strings.Compare(x.Name, y.Name) })
		groups = slices.CompactFunc(groups, func(x, y apikey.Group) bool { return x.Name == y.Name })
	}
	out := make([]groupResponse, len(groups))
	for i, g := range groups {
		out[i] = groupResponse{Name: g.Name, Description: g.Description, Grantable: slices.Contains(a.Groups, g.Name)}
	}
	writeJSON(w, http.StatusOK, struct {
		Groups []groupResponse `json:"groups"`
	}{out})
}

// listKeys answers a page of keys of the acting administrator's owner. The
// query takes status (active: the keys that work now; inactive; empty or
// "all" for both), group, name (a part of the name, ASCII letters in any
// case), preview (a key's preview, "…" or "..."), expiring_before (an RFC
// 3339 time: the keys expiring before it, the soonest first), sort
// ("-created", the default: newest first; "created"; "name"; "expires"),
// owner (for an operator acting for every owner; for anyone else another
// owner's list is empty), cursor and limit.
func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	q := r.URL.Query()
	var opts apikey.ListOptions
	switch q.Get("status") {
	case "", "all", "any":
	case "active":
		opts.Status = apikey.StatusActive
	case "inactive":
		opts.Status = apikey.StatusInactive
	default:
		writeProblem(w, http.StatusBadRequest, "invalid_request", `The status filter must be "active" or "inactive".`)
		return
	}
	if g := q.Get("group"); g != "" {
		if apikey.ValidateGroup(g) != nil {
			writeProblem(w, http.StatusBadRequest, "invalid_request", "The group filter is not a valid group name.")
			return
		}
		opts.Group = g
	}
	if n := q.Get("name"); n != "" {
		if apikey.ValidateName(n) != nil {
			writeProblem(w, http.StatusBadRequest, "invalid_request", "The name search is not valid: at most 255 characters, with no control characters.")
			return
		}
		opts.Name = n
	}
	if o := q.Get("owner"); o != "" {
		if apikey.ValidateOwner(o) != nil {
			writeProblem(w, http.StatusBadRequest, "invalid_request", "The owner filter is not a valid organization ID.")
			return
		}
		opts.Owner = o
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > apikey.MaxListLimit {
			writeProblem(w, http.StatusBadRequest, "invalid_request",
				fmt.Sprintf("The limit must be a number from 1 to %d.", apikey.MaxListLimit))
			return
		}
		opts.Limit = n
	}
	opts.Sort = apikey.SortCreatedDesc
	if s := q.Get("sort"); s != "" {
		sort, err := apikey.ParseListSort(s)
		if err != nil {
			writeProblem(w, http.StatusBadRequest, "invalid_request", `The sort must be "-created", "created", "name" or "expires".`)
			return
		}
		opts.Sort = sort
	}
	if s := q.Get("expiring_before"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			writeProblem(w, http.StatusBadRequest, "invalid_request", "expiring_before must be an RFC 3339 time, such as 2030-01-31T23:59:59Z.")
			return
		}
		if q.Get("sort") == "" {
			opts.Sort = apikey.SortExpiry
		}
		opts.ExpiringBefore = t
	}
	opts.Preview = q.Get("preview")
	opts.Cursor = q.Get("cursor")
	page, err := h.m.List(r.Context(), opts)
	if errors.Is(err, errors.ErrUnsupported) && q.Get("sort") == "" && opts.Sort == apikey.SortCreatedDesc &&
		opts.Status != apikey.StatusActive && opts.Preview == "" && opts.ExpiringBefore.IsZero() {
		// The default order, from a Store that cannot list newest first:
		// oldest first instead. An order asked for, or a filter, is never
		// replaced by another.
		opts.Sort = apikey.SortCreated
		page, err = h.m.List(r.Context(), opts)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	keys := make([]keyResponse, len(page.Keys))
	self := signedIn(r)
	for i, k := range page.Keys {
		keys[i] = newKeyResponse(k, a, self, h.m.State(k))
	}
	var next *string
	if page.Next != "" {
		next = &page.Next
	}
	// The total of the filters, of the administrator's organization only;
	// left out for a Store that cannot count.
	var total *int
	n, err := h.m.Count(r.Context(), opts)
	switch {
	case err == nil:
		total = &n
	case !errors.Is(err, errors.ErrUnsupported):
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Keys       []keyResponse `json:"keys"`
		NextCursor *string       `json:"next_cursor"`
		Total      *int          `json:"total,omitempty"`
	}{keys, next, total})
}

// createRequest is the body of POST /api/keys.
type createRequest struct {
	Name      string            `json:"name"`
	Groups    []string          `json:"groups"`
	ExpiresAt *time.Time        `json:"expires_at"`
	Metadata  map[string]string `json:"metadata"`
	Limits    *limitsJSON       `json:"limits"`
	Credits   *int64            `json:"credits"`
}

// createKey issues a key, and answers its record and its plaintext: the one
// response that ever carries a plaintext.
func (h *Handler) createKey(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	var req createRequest
	if !h.readJSON(w, r, &req, false) {
		return
	}
	if !checkName(w, req.Name) || !checkGroups(w, req.Groups) {
		return
	}
	// The key belongs to the administrator's own owner: the Manager takes
	// it from the actor, whatever the request says.
	issue := apikey.IssueRequest{Name: req.Name, Groups: req.Groups, Metadata: req.Metadata}
	if req.ExpiresAt != nil {
		if !checkExplicitExpiry(w, *req.ExpiresAt) {
			return
		}
		issue.ExpiresAt = *req.ExpiresAt
	}
	l, err := req.Limits.limits()
	if err != nil {
		writeProblem(w, http.StatusUnprocessableEntity, "invalid_limits", "The limits are not valid"+colon(err.Error()))
		return
	}
	issue.Limits = l
	if req.Credits != nil && (l == nil || l.Credits == nil) {
		writeProblem(w, http.StatusUnprocessableEntity, "invalid_credits", "A key gets credits only with a credit policy (\"limits\": {\"credits\": {}}).")
		return
	}
	k, plaintext, err := h.m.Issue(r.Context(), issue)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.Credits != nil {
		if _, err := h.m.ChangeCredits(r.Context(), creditAccount(k, *l), req.Credits, 0); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	w.Header().Set("Location", "keys/"+k.ID.String())
	writeJSON(w, http.StatusCreated, struct {
		Key       keyResponse `json:"key"`
		Plaintext string      `json:"plaintext"`
	}{newKeyResponse(k, a, signedIn(r), h.m.State(k)), plaintext})
}

// checkName refuses a missing name with a message for the administrator;
// the Manager checks the rest.
func checkName(w http.ResponseWriter, name string) bool {
	if strings.TrimSpace(name) == "" {
		writeProblem(w, http.StatusUnprocessableEntity, "invalid_name", "Give the key a name.")
		return false
	}
	if apikey.RedactKeys(name) != name {
		// Names are shown on every page: a key pasted here would be too.
		writeProblem(w, http.StatusUnprocessableEntity, "invalid_name", "The name holds an API key: choose a name that does not.")
		return false
	}
	return true
}

// checkGroups refuses an empty list of groups with a message for the
// administrator; the Manager checks the rest.
func checkGroups(w http.ResponseWriter, groups []string) bool {
	if len(groups) == 0 {
		writeProblem(w, http.StatusUnprocessableEntity, "invalid_group", "Choose at least one group.")
		return false
	}
	return true
}

// keyID reads the key ID from the path. A malformed ID names no key: 404.
func keyID(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		writeProblem(w, http.StatusNotFound, "not_found", "There is no API key with this ID.")
		return uuid.Nil, false
	}
	return id, true
}

// writeKey answers the current record of a key.
func (h *Handler) writeKey(w http.ResponseWriter, r *http.Request, id uuid.UUID, a apikey.Actor) {
	k, err := h.m.Get(r.Context(), id)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newKeyResponse(k, a, signedIn(r), h.m.State(k)))
}

func (h *Handler) getKey(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	if id, ok := keyID(w, r); ok {
		h.writeKey(w, r, id, a)
	}
}

// renameRequest is the body of PUT /api/keys/{id}/name.
type renameRequest struct {
	Name string `json:"name"`
}

func (h *Handler) renameKey(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	id, ok := keyID(w, r)
	if !ok {
		return
	}
	var req renameRequest
	if !h.readJSON(w, r, &req, false) || !checkName(w, req.Name) {
		return
	}
	if err := h.m.Rename(r.Context(), id, req.Name); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeKey(w, r, id, a)
}

// groupsRequest is the body of PUT /api/keys/{id}/groups.
type groupsRequest struct {
	Groups []string `json:"groups"`
	Force  bool     `json:"force"` // to take the admin group from the last administrator key
}

func (h *Handler) setGroups(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	id, ok := keyID(w, r)
	if !ok {
		return
	}
	var req groupsRequest
	if !h.readJSON(w, r, &req, false) || !checkGroups(w, req.Groups) {
		return
	}
	err := h.keepAnAdministrator(r.Context(), id, req.Force || slices.Contains(req.Groups, h.adminGroup), func() error {
		return h.m.SetGroups(r.Context(), id, req.Groups)
	})
	if err != nil {
		// The actor may lack a group they try to grant, or one the key
		// holds already: the EscalationError says which.
		h.writeError(w, r, err)
		return
	}
	h.writeKey(w, r, id, a)
}

// activeRequest is the body of POST /api/keys/{id}/activate and
// /deactivate: none, {}, or {"force": true} to deactivate the last active
// administrator key of the organization.
type activeRequest struct {
	Force bool `json:"force"`
}

func (h *Handler) activateKey(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	h.setActive(w, r, a, true)
}

func (h *Handler) deactivateKey(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	h.setActive(w, r, a, false)
}

func (h *Handler) setActive(w http.ResponseWriter, r *http.Request, a apikey.Actor, active bool) {
	id, ok := keyID(w, r)
	if !ok {
		return
	}
	var req activeRequest
	if !h.readJSON(w, r, &req, true) {
		return
	}
	if active {
		if err := h.m.Activate(r.Context(), id); err != nil {
			h.writeError(w, r, err)
			return
		}
		h.writeKey(w, r, id, a)
		return
	}
	err := h.keepAnAdministrator(r.Context(), id, req.Force, func() error {
		return h.m.Deactivate(r.Context(), id)
	})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeKey(w, r, id, a)
}

// deleteRequest is the body of DELETE /api/keys/{id}: the key's current
// name, as confirmation that the client means to delete this very key, and
// force to delete the last active administrator key of the organization.
type deleteRequest struct {
	Confirm *string `json:"confirm"`
	Force   bool    `json:"force"`
}

func (h *Handler) deleteKey(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	id, ok := keyID(w, r)
	if !ok {
		return
	}
	var req deleteRequest
	if !h.readJSON(w, r, &req, true) {
		return
	}
	if req.Confirm == nil {
		writeProblem(w, http.StatusBadRequest, "confirmation_required",
			`Deleting a key cannot be undone: confirm with the key's current name, as {"confirm": "<name>"}.`)
		return
	}
	k, err := h.m.Get(r.Context(), id)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if *req.Confirm != k.Name {
		writeProblem(w, http.StatusConflict, "confirmation_mismatch",
			"The confirmation is not this key's current name; nothing was deleted. Reload the keys: it may have been renamed.")
		return
	}
	err = h.keepAnAdministrator(r.Context(), id, req.Force, func() error {
		return h.m.Delete(r.Context(), id)
	})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
