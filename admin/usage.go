package admin

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/apikit/apikey"
)

// usageQuery reads the query of a usage route: from and to (RFC 3339
// times; by default the last 30 days) and step ("hour", the default, or
// "day"). It answers the request and returns false if one is not valid.
func usageQuery(w http.ResponseWriter, r *http.Request) (apikey.UsageQuery, bool) {
	q := r.URL.Query()
	var uq apikey.UsageQuery
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &uq.From}, {"to", &uq.To}} {
		if s := q.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				writeProblem(w, http.StatusBadRequest, "invalid_request",
					fmt.Sprintf(`The %q time must be an RFC 3339 time, such as "2030-01-31T00:00:00Z".`, p.name))
				return uq, false
			}
			*p.dst = t
		}
	}
	switch s := q.Get("step"); s {
	case "", "hour":
		uq.Step = apikey.UsageByHour
	case "day":
		uq.Step = apikey.UsageByDay
	default:
		writeProblem(w, http.StatusBadRequest, "invalid_request", `The step must be "hour" or "day".`)
		return uq, false
	}
	if !uq.From.IsZero() && !uq.To.IsZero() && !uq.From.Before(uq.To) {
		writeProblem(w, http.StatusBadRequest, "invalid_request", `The "from" time must be before the "to" time.`)
		return uq, false
	}
	limit := uq.To
	if limit.IsZero() {
		limit = time.Now()
	}
	from := uq.From
	if from.IsZero() {
		from = limit.Add(-apikey.DefaultUsageRange)
	}
	unit := time.Hour
	if uq.Step == apikey.UsageByDay {
		unit = 24 * time.Hour
	}
	if limit.Sub(from)/unit > apikey.MaxUsagePoints-2 {
		writeProblem(w, http.StatusBadRequest, "invalid_request",
			fmt.Sprintf("The range is too long: at most %d points (hours or days).", apikey.MaxUsagePoints-2))
		return uq, false
	}
	return uq, true
}

// keyUsage answers the usage of one key of the administrator's
// organization; a key of another organization is answered as one that
// does not exist.
func (h *Handler) keyUsage(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	id, ok := keyID(w, r)
	if !ok {
		return
	}
	uq, ok := usageQuery(w, r)
	if !ok {
		return
	}
	uq.KeyID = id
	report, err := h.m.Usage(r.Context(), uq)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, report)
}

// orgUsage answers the usage totals of the administrator's organization
// and its busiest keys. The query takes from, to, step, top (how many
// busiest keys, 1 to 100, by default 10) and owner (for an operator acting
// for every owner; for anyone else another owner's usage is none).
func (h *Handler) orgUsage(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	uq, ok := usageQuery(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	if o := q.Get("owner"); o != "" {
		if apikey.ValidateOwner(o) != nil {
			writeProblem(w, http.StatusBadRequest, "invalid_request", "The owner filter is not a valid organization ID.")
			return
		}
		uq.Owner = o
	}
	if s := q.Get("top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > apikey.MaxBusiestKeys {
			writeProblem(w, http.StatusBadRequest, "invalid_request",
				fmt.Sprintf("The number of busiest keys must be from 1 to %d.", apikey.MaxBusiestKeys))
			return
		}
		uq.Top = n
	}
	report, err := h.m.Usage(r.Context(), uq)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, report)
}

// maxUnusedScan is how many keys the unused filter reads at most: it reads
// the organization's keys page by page (its cost is bounded by the
// organization's key count, itself bounded by the owner quota), and
// answers truncated beyond this.
const maxUnusedScan = 10000

// unusedKeys answers the keys of the administrator's organization not
// used in the last days days (query "days", 1 to 365, by default 30): no
// use recorded since (Key.LastUsedAt, written at every flush), or never
// used. It reads every key of the organization, up to maxUnusedScan, and
// says truncated if there were more.
func (h *Handler) unusedKeys(w http.ResponseWriter, r *http.Request, a apikey.Actor) {
	days := 30
	if s := r.URL.Query().Get("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 365 {
			writeProblem(w, http.StatusBadRequest, "invalid_request", "The number of days must be from 1 to 365.")
			return
		}
		days = n
	}
	cutoff := time.Now().Add(-time.Duration(days) * 24 * time.Hour)
	self := signedIn(r)
	keys := []keyResponse{}
	opts := apikey.ListOptions{Limit: apikey.MaxListLimit}
	scanned, truncated := 0, false
	for {
		page, err := h.m.List(r.Context(), opts)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		for _, k := range page.Keys {
			if k.LastUsedAt == nil || k.LastUsedAt.Before(cutoff) {
				keys = append(keys, newKeyResponse(k, a, self, h.m.State(k)))
			}
		}
		scanned += len(page.Keys)
		if page.Next == "" {
			break
		}
		if scanned >= maxUnusedScan {
			truncated = true
			break
		}
		opts.Cursor = page.Next
	}
	writeJSON(w, http.StatusOK, struct {
		Keys      []keyResponse `json:"keys"`
		Days      int           `json:"days"`
		Truncated bool          `json:"truncated"`
	}{keys, days, truncated})
}
