package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/apikit/apikey"
)

// policyResponse is an expiry policy as the API shows it: lifetimes in
// seconds, 0 for none, and a sentence for the administrator.
type policyResponse struct {
	DefaultLifetime float64 `json:"default_lifetime"`
	MaxLifetime     float64 `json:"max_lifetime"`
	Description     string  `json:"description"`
}

// policy returns the expiry policy of owner ("" for an operator, who sees
// the policy of no organization in particular).
func (h *Handler) policy(owner string) policyResponse {
	p, err := h.m.ExpiryPolicy(owner)
	if err != nil {
		// Issue refuses every key under an invalid policy; say so.
		return policyResponse{Description: "The expiry policy of this organization is misconfigured: keys cannot be added."}
	}
	return policyResponse{DefaultLifetime: p.DefaultLifetime.Seconds(), MaxLifetime: p.MaxLifetime.Seconds(), Description: p.String()}
}

// checkExplicitExpiry refuses an expiry time that a request gives
// explicitly as the zero instant: for the Manager zero means "none", which
// is not what "0001-01-01T00:00:00Z" says.
func checkExplicitExpiry(w http.ResponseWriter, t time.Time) bool {
	if t.IsZero() {
		writeProblem(w, http.StatusUnprocessableEntity, "invalid_expiry",
			"The expiry time is not valid: the zero time is not an expiry time. Send null for no expiry.")
		return false
	}
	return true
}

// grace is the grace period of a roll in a request body: a Go duration
// string such as "24h" or "90m", or a number of seconds.
type grace struct {
	d  time.Duration
	ok bool
}

// maxGrace bounds a grace period: a year, far beyond any sensible
// rotation, and far from overflowing a duration.
const maxGrace = 366 * 24 * time.Hour

var errGrace = errors.New(`"grace" must be a duration such as "24h" or "90m", or a number of seconds, from 0 to one year`)

// UnmarshalJSON reads a duration string or a number of seconds.
func (g *grace) UnmarshalJSON(b []byte) error {
	var d time.Duration
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return errGrace
		}
		parsed, err := time.ParseDuration(s)
		if err != nil {
			return errGrace
		}
		d = parsed
	} else {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var n json.Number
		if err := dec.Decode(&n); err != nil {
			return errGrace
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > maxGrace.Seconds() {
			return errGrace
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d < 0 || d > maxGrace {
		return errGrace
	}
	g.d, g.ok = d, true
	return nil
}

// rollRequest is the body of POST /api/keys/{id}/roll.
type rollRequest struct {
	Grace     *grace     `json:"grace"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// rollKey replaces a key with a successor and answers the successor, its
// plaintext (once, as createKey does) and the old key with its grace period.
func (h *Handler) rollKey(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	id, ok := keyID(w, r)
	if !ok {
		return
	}
	var req rollRequest
	if !h.readJSON(w, r, &req, false) {
		return
	}
	if req.Grace == nil {
		writeProblem(w, http.StatusUnprocessableEntity, "invalid_grace",
			`Choose the grace period: how long the old key keeps working, such as "24h"; "0s" stops it at once.`)
		return
	}
	roll := apikey.RollRequest{Grace: req.Grace.d}
	if req.ExpiresAt != nil {
		if !checkExplicitExpiry(w, *req.ExpiresAt) {
			return
		}
		roll.ExpiresAt = *req.ExpiresAt
	}
	k, plaintext, err := h.m.Roll(r.Context(), id, roll)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	old, err := h.m.Get(r.Context(), id)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	self := signedIn(r)
	w.Header().Set("Location", "keys/"+k.ID.String())
	writeJSON(w, http.StatusCreated, struct {
		Key       keyResponse `json:"key"`
		Plaintext string      `json:"plaintext"`
		Rolled    keyResponse `json:"rolled"`
	}{newKeyResponse(k, a, self, h.m.State(k)), plaintext, newKeyResponse(old, a, self, h.m.State(old))})
}

// expiryRequest is the body of PUT /api/keys/{id}/expiry: a time, or null
// to remove the expiry.
type expiryRequest struct {
	ExpiresAt *time.Time `json:"expires_at"`
}

func (h *Handler) setExpiry(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	id, ok := keyID(w, r)
	if !ok {
		return
	}
	var req expiryRequest
	if !h.readJSON(w, r, &req, false) {
		return
	}
	var t time.Time
	if req.ExpiresAt != nil {
		if !checkExplicitExpiry(w, *req.ExpiresAt) {
			return
		}
		t = *req.ExpiresAt
	}
	if err := h.m.SetExpiry(r.Context(), id, t); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeKey(w, r, id, a)
}
