// Package problem writes RFC 9457 problem documents: the one writer behind
// the error responses of the apikey middleware and of the admin API.
package problem

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"strconv"
)

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// Doc is a problem document. Type is "about:blank" unless set and Title the
// status text, so a client needs only Status and Detail; Code,
// RequiredGroups and Limit are extension members, left out when empty.
type Doc struct {
	Type           string
	Status         int
	Detail         string
	Code           string
	RequiredGroups []string
	Limit          string
}

// Body returns the document as JSON, without a trailing newline, and its
// length as a Content-Length value. It is cheap enough for an error path
// and is meant to be called once for responses that never change.
func Body(d Doc) (body []byte, length string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(struct {
		Type           string   `json:"type"`
		Title          string   `json:"title"`
		Status         int      `json:"status"`
		Detail         string   `json:"detail"`
		Code           string   `json:"code,omitempty"`
		RequiredGroups []string `json:"required_groups,omitempty"`
		Limit          string   `json:"limit,omitempty"`
	}{cmp.Or(d.Type, "about:blank"), http.StatusText(d.Status), d.Status, d.Detail, d.Code, d.RequiredGroups, d.Limit})
	if err != nil {
		panic("problem: encoding a document: " + err.Error()) // strings and ints always encode
	}
	body = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return body, strconv.Itoa(len(body))
}

// Write answers with a body made by Body: it sets Content-Type,
// Content-Length, Cache-Control: no-store and X-Content-Type-Options:
// nosniff, then the status. Headers already set on w (WWW-Authenticate,
// Retry-After, Allow) are kept.
func Write(w http.ResponseWriter, status int, body []byte, length string) {
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Content-Length", length)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body) // the client may be gone; there is no one left to tell
}

// WriteDoc answers with d.
func WriteDoc(w http.ResponseWriter, d Doc) {
	body, length := Body(d)
	Write(w, d.Status, body, length)
}
