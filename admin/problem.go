package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/apikit/apikey"
)

// problem is an RFC 9457 problem document, with a "code" extension member
// that programs can switch on.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

// writeProblem answers with a problem document. A detail may repeat what
// the client sent (a group name, a field name): a key in it is shown as its
// preview, so that no answer carries more of a key than its preview.
func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	detail = apikey.RedactKeys(detail)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// Strings and ints always encode.
	_ = enc.Encode(problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Code: code})
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes()) // the client may be gone; there is no one left to tell
}

// writeError answers with the problem document for an error of the Manager
// or of the ActorFunc. What the administrator may read is decided here: the
// messages of validation and authorization errors, written for them; nothing
// about store failures or unexpected errors, which are logged instead.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", `Bearer realm="admin"`)
		writeProblem(w, http.StatusUnauthorized, "unauthenticated", "Sign in with an administrator's API key.")
	case errors.Is(err, ErrForbidden):
		detail := "You are not allowed to manage API keys."
		if why := reason(err, ErrForbidden); why != "" {
			detail = sentence(why)
		}
		writeProblem(w, http.StatusForbidden, "forbidden", detail)
	case errors.Is(err, apikey.ErrEscalation):
		// The handler's own message, naming the groups, when it has one.
		var e *escalationError
		detail := "You cannot grant groups you do not hold, nor change keys that hold them."
		if errors.As(err, &e) {
			detail = e.detail
		}
		writeProblem(w, http.StatusForbidden, "escalation", detail)
	case errors.Is(err, apikey.ErrNotFound):
		writeProblem(w, http.StatusNotFound, "not_found", "There is no API key with this ID. It may have been deleted.")
	case errors.Is(err, apikey.ErrInvalidName):
		writeProblem(w, http.StatusUnprocessableEntity, "invalid_name", "The name is not valid"+colon(reason(err, apikey.ErrInvalidName)))
	case errors.Is(err, apikey.ErrInvalidGroup):
		writeProblem(w, http.StatusUnprocessableEntity, "invalid_group", "The groups are not valid"+colon(reason(err, apikey.ErrInvalidGroup)))
	case errors.Is(err, apikey.ErrUnknownGroup):
		writeProblem(w, http.StatusUnprocessableEntity, "unknown_group", "There is no such group"+colon(reason(err, apikey.ErrUnknownGroup))+" Choose among the available groups.")
	case errors.Is(err, apikey.ErrInvalidExpiry):
		writeProblem(w, http.StatusUnprocessableEntity, "invalid_expiry", "The expiry time must be in the future.")
	case errors.Is(err, apikey.ErrConflict):
		writeProblem(w, http.StatusConflict, "conflict", "The key was changed by someone else at the same time. Reload it and try again.")
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

// reason returns what err says after the message of the sentinel it wraps,
// such as "must be 1 to 255 characters" for "apikey: invalid name: must be 1
// to 255 characters", or "" if it says nothing more.
func reason(err, sentinel error) string {
	msg := err.Error()
	prefix := sentinel.Error() + ": "
	i := strings.Index(msg, prefix)
	if i < 0 {
		return ""
	}
	return msg[i+len(prefix):]
}

// colon returns ": why." to complete a sentence, or "." if why is empty.
func colon(why string) string {
	if why == "" {
		return "."
	}
	return ": " + strings.TrimSuffix(why, ".") + "."
}

// sentence returns s with a capital letter and a full stop.
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// escalationError is an ErrEscalation with a message that names the groups
// the administrator lacks.
type escalationError struct {
	err    error
	detail string
}

func (e *escalationError) Error() string { return e.err.Error() }
func (e *escalationError) Unwrap() error { return e.err }
