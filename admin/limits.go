package admin

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// rateLimitJSON is a rate limit as the API shows and takes it: the period
// as a Go duration ("1m0s", "1s"; "1m" is accepted).
type rateLimitJSON struct {
	Name   string            `json:"name"`
	Limit  int64             `json:"limit"`
	Period string            `json:"period"`
	Burst  int64             `json:"burst,omitempty"`
	Scope  apikey.LimitScope `json:"scope"`
}

// limitsJSON is a key's (or an owner's) limits as the API shows and takes
// them.
type limitsJSON struct {
	Rates   []rateLimitJSON      `json:"rates"`
	Credits *apikey.CreditPolicy `json:"credits"`
}

// newLimitsJSON returns l as the API shows it, nil for no limits.
func newLimitsJSON(l *apikey.Limits) *limitsJSON {
	if l.IsZero() {
		return nil
	}
	out := &limitsJSON{Rates: make([]rateLimitJSON, 0, len(l.Rates)), Credits: l.Credits}
	for _, r := range l.Rates {
		out.Rates = append(out.Rates, rateLimitJSON{Name: r.Name, Limit: r.Limit, Period: r.Period.String(), Burst: r.Burst, Scope: r.Scope})
	}
	return out
}

// limits returns the limits the request gives, or an error for the
// administrator if a period is not a duration.
func (l *limitsJSON) limits() (*apikey.Limits, error) {
	if l == nil {
		return nil, nil
	}
	out := &apikey.Limits{Credits: l.Credits}
	for _, r := range l.Rates {
		d, err := time.ParseDuration(r.Period)
		if err != nil {
			return nil, fmt.Errorf("the period of rate limit %q must be a duration such as \"1m\" or \"1s\"", r.Name)
		}
		out.Rates = append(out.Rates, apikey.RateLimit{Name: r.Name, Limit: r.Limit, Period: d, Burst: r.Burst, Scope: r.Scope})
	}
	return out, nil
}

// limitsResponse is the answer of GET and PUT /api/keys/{id}/limits.
type limitsResponse struct {
	// Limits are the key's own limits, null for none.
	Limits *limitsJSON `json:"limits"`
	// Effective are the limits that apply: the owner's defaults with the
	// key's over them; null for none.
	Effective *limitsJSON `json:"effective"`
	// Credits is the balance the key spends (its own or its owner's),
	// null if the key has no credits or the balance was never set.
	Credits *apikey.CreditBalance `json:"credits"`
}

// creditAccount returns the balance a key with limits l spends.
func creditAccount(k *apikey.Key, l apikey.Limits) apikey.CreditAccount {
	a := apikey.CreditAccount{Owner: k.Owner}
	if l.Credits == nil || l.Credits.Scope == apikey.ScopeKey {
		a.KeyID = k.ID
	}
	return a
}

// writeLimits answers the limits and the credit balance of a key.
func (h *Handler) writeLimits(w http.ResponseWriter, r *http.Request, id uuid.UUID) {
	k, err := h.m.Get(r.Context(), id)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	eff, err := h.m.EffectiveLimits(k)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	resp := limitsResponse{Limits: newLimitsJSON(k.Limits), Effective: newLimitsJSON(&eff)}
	if eff.Credits != nil {
		b, err := h.m.Credits(r.Context(), creditAccount(k, eff))
		switch {
		case err == nil:
			resp.Credits = &b
		case !errors.Is(err, apikey.ErrNotFound):
			h.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *Handler) getLimits(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	if id, ok := keyID(w, r); ok {
		h.writeLimits(w, r, id)
	}
}

// setLimits replaces the key's own limits with the body ({}, no rate limit
// and no credits, removes them): an audited change.
func (h *Handler) setLimits(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	id, ok := keyID(w, r)
	if !ok {
		return
	}
	var req limitsJSON
	if !h.readJSON(w, r, &req, false) {
		return
	}
	l, err := req.limits()
	if err != nil {
		writeProblem(w, http.StatusUnprocessableEntity, "invalid_limits", "The limits are not valid"+colon(err.Error()))
		return
	}
	if err := h.m.SetLimits(r.Context(), id, l); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeLimits(w, r, id)
}

// creditsRequest is the body of POST /api/keys/{id}/credits: exactly one
// of set (the new balance) and add (negative to subtract).
type creditsRequest struct {
	Set *int64 `json:"set"`
	Add *int64 `json:"add"`
}

// changeCredits sets or adds to the balance the key spends (its own, or
// its owner's if its credits are the owner's): an audited change. It
// answers the balance after.
func (h *Handler) changeCredits(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	id, ok := keyID(w, r)
	if !ok {
		return
	}
	var req creditsRequest
	if !h.readJSON(w, r, &req, false) {
		return
	}
	if (req.Set == nil) == (req.Add == nil) {
		writeProblem(w, http.StatusUnprocessableEntity, "invalid_credits", `Send either "set" (the new balance) or "add" (negative to subtract).`)
		return
	}
	k, err := h.m.Get(r.Context(), id)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	eff, err := h.m.EffectiveLimits(k)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var add int64
	if req.Add != nil {
		add = *req.Add
	}
	n, err := h.m.ChangeCredits(r.Context(), creditAccount(k, eff), req.Set, add)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Remaining int64 `json:"remaining"`
	}{n})
}

// ownerLimits returns the default limits of owner, nil for none ("" for
// an operator: no organization in particular).
func (h *Handler) ownerLimits(owner string) *limitsJSON {
	if owner == "" {
		return nil
	}
	l, err := h.m.EffectiveLimits(&apikey.Key{Owner: owner})
	if err != nil {
		return nil
	}
	return newLimitsJSON(&l)
}
