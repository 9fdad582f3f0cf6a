package admin

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// eventResponse is an event of the audit trail as the API shows it, built
// field by field from apikey.Event, as keyResponse is from apikey.Key: an
// event holds no secret, and no field added to Event can put one here.
//
// It has no position: positions are store-wide, and their gaps would tell
// an administrator how many changes other organizations made.
type eventResponse struct {
	At           time.Time   `json:"at"`
	Owner        string      `json:"owner"`
	KeyID        uuid.UUID   `json:"key_id"`
	ActorID      string      `json:"actor_id"`
	ActorName    string      `json:"actor_name"`
	ActorPreview string      `json:"actor_preview"`
	Reason       string      `json:"reason"`
	Kind         string      `json:"kind"`
	Old          eventValues `json:"old"`
	New          eventValues `json:"new"`
}

// eventValues are the values an event changed; only those its kind names
// are present.
type eventValues struct {
	Name        string     `json:"name,omitempty"`
	Groups      []string   `json:"groups,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	Successor   *uuid.UUID `json:"successor,omitempty"`
	Predecessor *uuid.UUID `json:"predecessor,omitempty"`
	GraceEndsAt *time.Time `json:"grace_ends_at,omitempty"`
}

func newEventValues(v apikey.EventValues) eventValues {
	out := eventValues{Name: v.Name, Groups: v.Groups, ExpiresAt: v.ExpiresAt, GraceEndsAt: v.GraceEndsAt}
	if v.Successor != uuid.Nil {
		id := v.Successor
		out.Successor = &id
	}
	if v.Predecessor != uuid.Nil {
		id := v.Predecessor
		out.Predecessor = &id
	}
	return out
}

func newEventResponse(e apikey.Event) eventResponse {
	return eventResponse{
		At:           e.At,
		Owner:        e.Owner,
		KeyID:        e.KeyID,
		ActorID:      e.ActorID,
		ActorName:    e.ActorName,
		ActorPreview: e.ActorPreview,
		Reason:       e.Reason,
		Kind:         string(e.Kind),
		Old:          newEventValues(e.Old),
		New:          newEventValues(e.New),
	}
}

// eventKinds are the kinds the kind filter accepts.
var eventKinds = []apikey.EventKind{
	apikey.EventIssued, apikey.EventRenamed, apikey.EventGroupsChanged, apikey.EventActivated,
	apikey.EventDeactivated, apikey.EventRolled, apikey.EventExpiryChanged, apikey.EventDeleted, apikey.EventPruned,
}

// eventOptions reads the query of an events route: order (newest, the
// default, or oldest), cursor (the previous page's next_cursor), kind,
// actor (an actor ID: for an administrator's key, its ID), key (on
// /api/events), since (an RFC 3339 time) and limit. It answers the request
// and returns false if one is not valid.
func eventOptions(w http.ResponseWriter, r *http.Request) (apikey.EventOptions, bool) {
	q := r.URL.Query()
	opts := apikey.EventOptions{Newest: true, Cursor: q.Get("cursor")}
	switch q.Get("order") {
	case "", "newest":
	case "oldest":
		opts.Newest = false
	default:
		writeProblem(w, http.StatusBadRequest, "invalid_request", `The order must be "newest" (the default) or "oldest".`)
		return opts, false
	}
	if s := q.Get("kind"); s != "" {
		if !slices.Contains(eventKinds, apikey.EventKind(s)) {
			writeProblem(w, http.StatusBadRequest, "invalid_request", "The kind filter is not a kind of event.")
			return opts, false
		}
		opts.Kind = apikey.EventKind(s)
	}
	if s := q.Get("actor"); s != "" {
		if len(s) > 255 {
			writeProblem(w, http.StatusBadRequest, "invalid_request", "The actor filter is too long.")
			return opts, false
		}
		opts.ActorID = s
	}
	if s := q.Get("key"); s != "" {
		id, err := uuid.Parse(s)
		if err != nil {
			writeProblem(w, http.StatusBadRequest, "invalid_request", "The key filter must be a key ID.")
			return opts, false
		}
		opts.KeyID = id
	}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			writeProblem(w, http.StatusBadRequest, "invalid_request", `The "since" filter must be an RFC 3339 time, such as "2030-01-31T00:00:00Z".`)
			return opts, false
		}
		opts.Since = t
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > apikey.MaxEventsLimit {
			writeProblem(w, http.StatusBadRequest, "invalid_request",
				fmt.Sprintf("The limit must be a number from 1 to %d.", apikey.MaxEventsLimit))
			return opts, false
		}
		opts.Limit = n
	}
	return opts, true
}

// writeEvents answers a page of events.
func writeEvents(w http.ResponseWriter, page apikey.EventPage) {
	events := make([]eventResponse, len(page.Events))
	for i, e := range page.Events {
		events[i] = newEventResponse(e)
	}
	var next *string
	if page.Next != "" {
		next = &page.Next
	}
	writeJSON(w, http.StatusOK, struct {
		Events     []eventResponse `json:"events"`
		NextCursor *string         `json:"next_cursor"`
	}{events, next})
}

// keyEvents answers a page of the history of one key, newest first unless
// the query says order=oldest: of a
// key of the administrator's organization, existing or deleted. A key of
// another organization, deleted or not, is answered as one that never
// existed: the Manager reads only the actor's organization's events, and
// Get finds only its keys.
func (h *Handler) keyEvents(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	id, ok := keyID(w, r)
	if !ok {
		return
	}
	opts, ok := eventOptions(w, r)
	if !ok {
		return
	}
	opts.KeyID = id
	page, err := h.m.Events(r.Context(), opts)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if len(page.Events) == 0 {
		// An empty page: of a key the administrator may see (past the end
		// of its history, or filtered by since), or of no such key.
		first, err := h.m.Events(r.Context(), apikey.EventOptions{KeyID: id, Limit: 1})
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if len(first.Events) == 0 {
			if _, err := h.m.Get(r.Context(), id); err != nil {
				h.writeError(w, r, err)
				return
			}
		}
	}
	writeEvents(w, page)
}

// listEvents answers a page of the activity of the administrator's
// organization, newest first unless the query says order=oldest. The
// query takes the filters of eventOptions, and
// owner (for an operator acting for every owner; for anyone else another
// owner's activity is empty).
func (h *Handler) listEvents(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	opts, ok := eventOptions(w, r)
	if !ok {
		return
	}
	if o := r.URL.Query().Get("owner"); o != "" {
		if apikey.ValidateOwner(o) != nil {
			writeProblem(w, http.StatusBadRequest, "invalid_request", "The owner filter is not a valid organization ID.")
			return
		}
		opts.Owner = o
	}
	page, err := h.m.Events(r.Context(), opts)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeEvents(w, page)
}
