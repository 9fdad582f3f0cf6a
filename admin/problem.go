package admin

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/internal/problem"
)

// writeProblem answers with an RFC 9457 problem document, with a "code"
// extension member that programs can switch on. It is the writer of the
// apikey middleware's responses too. A detail may repeat what the client
// sent (a group name, a field name): a key in it is shown as its preview,
// so that no answer carries more of a key than its preview.
func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	problem.WriteDoc(w, problem.Doc{Status: status, Detail: redactNearKeys(apikey.RedactKeys(detail)), Code: code})
}

// writeError answers with the problem document for an error of the Manager
// or of the ActorFunc. What the administrator may read is decided here,
// from the fields of the errors (never from their text): the reasons of
// validation errors and the groups of escalation errors, written for them;
// nothing about store failures or unexpected errors, which are logged
// instead.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		forbidden  *ForbiddenError
		escalation *apikey.EscalationError
		validation *apikey.ValidationError
	)
	switch {
	case errors.Is(err, ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", `Bearer realm="admin"`)
		writeProblem(w, http.StatusUnauthorized, "unauthenticated", "Sign in with an administrator's API key.")
	case errors.Is(err, ErrForbidden):
		detail := "You are not allowed to manage API keys."
		if errors.As(err, &forbidden) && forbidden.Reason != "" {
			detail = forbidden.Reason
		}
		writeProblem(w, http.StatusForbidden, "forbidden", detail)
	case errors.As(err, &escalation):
		detail := "This key holds groups you do not hold (" + strings.Join(escalation.Missing, ", ") +
			"): only an administrator who holds all of its groups can change or delete it."
		if escalation.Granting {
			detail = "You cannot grant groups you do not hold: " + strings.Join(escalation.Missing, ", ") + "."
		}
		writeProblem(w, http.StatusForbidden, "escalation", detail)
	case errors.Is(err, apikey.ErrEscalation):
		writeProblem(w, http.StatusForbidden, "escalation", "You cannot grant groups you do not hold, nor change keys that hold them.")
	case errors.Is(err, errLastAdministrator):
		writeProblem(w, http.StatusConflict, "last_administrator",
			"This is the last active key that can administer your organization: without it, nobody could sign in here. "+
				"Add another administrator key first, or confirm the change to make it anyway (API: \"force\": true).")
	case errors.Is(err, apikey.ErrNotFound):
		writeProblem(w, http.StatusNotFound, "not_found", "There is no API key with this ID. It may have been deleted.")
	case errors.As(err, &validation):
		h.writeValidation(w, validation)
	case errors.Is(err, apikey.ErrInvalidName):
		writeProblem(w, http.StatusUnprocessableEntity, "invalid_name", "The name is not valid.")
	case errors.Is(err, apikey.ErrInvalidGroup):
		writeProblem(w, http.StatusUnprocessableEntity, "invalid_group", "The groups are not valid.")
	case errors.Is(err, apikey.ErrUnknownGroup):
		writeProblem(w, http.StatusUnprocessableEntity, "unknown_group", "There is no such group. Choose among the available groups.")
	case errors.Is(err, apikey.ErrInvalidExpiry):
		writeProblem(w, http.StatusUnprocessableEntity, "invalid_expiry", "The expiry time must be in the future.")
	case errors.Is(err, apikey.ErrAlreadyRolled):
		writeProblem(w, http.StatusConflict, "already_rolled",
			"This key was rolled already: roll its successor, or deactivate this key to end its grace period now.")
	case errors.Is(err, apikey.ErrInactive):
		writeProblem(w, http.StatusConflict, "inactive", "This key is deactivated: activate it before you roll it, or add a new key.")
	case errors.Is(err, apikey.ErrExpired):
		writeProblem(w, http.StatusConflict, "expired", "This key has expired: a successor would outlive its lifetime. Add a new key instead.")
	case errors.Is(err, errors.ErrUnsupported):
		writeProblem(w, http.StatusNotImplemented, "unsupported", "The key store of this server cannot do this.")
	case errors.Is(err, apikey.ErrQuotaExceeded):
		writeProblem(w, http.StatusConflict, "quota_exceeded", "Your organization has as many API keys as it may have: delete one before you add another.")
	case errors.Is(err, apikey.ErrConflict):
		writeProblem(w, http.StatusConflict, "conflict", "The key was changed by someone else at the same time. Reload it and try again.")
	case errors.Is(err, apikey.ErrInvalidSort):
		writeProblem(w, http.StatusBadRequest, "invalid_request", "This sort cannot be used with these filters: expiring_before lists in expiry order.")
	case errors.Is(err, apikey.ErrInvalidKey) && r.URL.Query().Get("preview") != "":
		writeProblem(w, http.StatusBadRequest, "invalid_request", "The preview search is not a key preview, such as ak_3Fq9…x7Ab.")
	case errors.Is(err, apikey.ErrInvalidCursor):
		writeProblem(w, http.StatusBadRequest, "invalid_cursor", "The cursor is not valid: use the next_cursor of a previous page.")
	case errors.Is(err, apikey.ErrStoreFailure), errors.Is(err, apikey.ErrClosed):
		h.logger.LogAttrs(r.Context(), slog.LevelError, "admin: key store unavailable",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("error", err))
		w.Header().Set("Retry-After", "5")
		writeProblem(w, http.StatusServiceUnavailable, "unavailable", "The keys cannot be reached at the moment. Try again later.")
	default:
		h.logger.LogAttrs(r.Context(), slog.LevelError, "admin: internal error",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("error", err))
		writeProblem(w, http.StatusInternalServerError, "internal", "Something went wrong on the server.")
	}
}

// writeValidation answers a value the Manager refused, with its reason.
func (h *Handler) writeValidation(w http.ResponseWriter, e *apikey.ValidationError) {
	var code, detail string
	switch {
	case errors.Is(e, apikey.ErrInvalidName):
		code, detail = "invalid_name", "The name is not valid"+colon(e.Reason)
	case errors.Is(e, apikey.ErrInvalidGroup):
		code, detail = "invalid_group", "The groups are not valid"+colon(e.Reason)
	case errors.Is(e, apikey.ErrUnknownGroup):
		code, detail = "unknown_group", "There is no such group"+colon(e.Reason)+" Choose among the available groups."
	case errors.Is(e, apikey.ErrInvalidMetadata):
		code, detail = "invalid_metadata", "The metadata is not valid"+colon(e.Reason)
	case errors.Is(e, apikey.ErrInvalidOwner):
		code, detail = "invalid_owner", "The organization is not valid"+colon(e.Reason)
	case errors.Is(e, apikey.ErrExpiryPolicy):
		code, detail = "expiry_policy", "The expiry time breaks your organization's expiry policy"+colon(e.Reason)
	case errors.Is(e, apikey.ErrInvalidLimits):
		code, detail = "invalid_limits", "The limits are not valid"+colon(e.Reason)
	case e.Field == "Grace":
		code, detail = "invalid_grace", "The grace period is not valid"+colon(e.Reason)
	default:
		code, detail = "invalid_expiry", "The expiry time is not valid"+colon(e.Reason)
	}
	writeProblem(w, http.StatusUnprocessableEntity, code, detail)
}

// colon returns ": why." to complete a sentence, or "." if why is empty.
func colon(why string) string {
	if why == "" {
		return "."
	}
	return ": " + strings.TrimSuffix(why, ".") + "."
}

// redactNearKeys replaces, in a detail, every word in which an underscore is
// followed by more than four letters and digits (the part of a lookup ID a
// preview shows) with "[…]": a key with a typo or a missing character fails
// its checksum, so RedactKeys does not see it, yet it is almost the key. The
// details' own words have no such underscore.
func redactNearKeys(detail string) string {
	var b strings.Builder
	word := func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
	}
	for i := 0; i < len(detail); {
		if !word(detail[i]) {
			b.WriteByte(detail[i])
			i++
			continue
		}
		j := i
		for j < len(detail) && word(detail[j]) {
			j++
		}
		if nearKey(detail[i:j]) {
			b.WriteString("[…]")
		} else {
			b.WriteString(detail[i:j])
		}
		i = j
	}
	return b.String()
}

// nearKey reports whether w has an underscore followed by more than four
// letters and digits.
func nearKey(w string) bool {
	run, afterUnderscore := 0, false
	for i := 0; i < len(w); i++ {
		if w[i] == '_' {
			run, afterUnderscore = 0, true
			continue
		}
		run++
		if afterUnderscore && run > 4 {
			return true
		}
	}
	return false
}
