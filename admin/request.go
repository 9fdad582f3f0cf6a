package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// readJSON decodes the body of r into dst, a pointer to a struct whose
// fields are all a request may carry. It answers the request and returns
// false if the body is not exactly one JSON object of those fields, sent as
// application/json within the size limit. If optional is set, an empty body
// is accepted and leaves dst alone.
func (h *Handler) readJSON(w http.ResponseWriter, r *http.Request, dst any, optional bool) bool {
	if optional && r.ContentLength == 0 {
		return true
	}
	if ct := r.Header.Get("Content-Type"); !isJSON(ct) {
		writeProblem(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
			"Send the request body as JSON, with the header Content-Type: application/json.")
		return false
	}
	body := http.MaxBytesReader(w, r.Body, h.maxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		// One value and nothing after it: "{} {}" or "{}x" is refused.
		if extra := dec.Decode(&struct{}{}); extra != io.EOF {
			err = errTrailingData
			var tooLarge *http.MaxBytesError
			if errors.As(extra, &tooLarge) {
				err = extra
			}
		}
	}
	if err == nil {
		return true
	}
	var (
		tooLarge  *http.MaxBytesError
		syntax    *json.SyntaxError
		typeError *json.UnmarshalTypeError
		timeError *time.ParseError
	)
	switch {
	case errors.As(err, &tooLarge):
		writeProblem(w, http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("The request body is larger than %d bytes.", h.maxBody))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no error type for it; the message is stable.
		field := strings.TrimPrefix(err.Error(), "json: unknown field ")
		takes := "It takes no field."
		if fields := fieldList(dst); fields != "" {
			takes = "It takes only " + fields + "."
		}
		writeProblem(w, http.StatusBadRequest, "unknown_field",
			fmt.Sprintf("The request body has a field this request does not take: %s. %s", field, takes))
	case errors.As(err, &timeError):
		writeProblem(w, http.StatusBadRequest, "invalid_json",
			`The field "expires_at" must be an RFC 3339 time, such as "2030-01-31T00:00:00Z".`)
	case errors.As(err, &typeError) && typeError.Field != "":
		writeProblem(w, http.StatusBadRequest, "invalid_json",
			fmt.Sprintf("The field %q has the wrong type: it must be %s.", typeError.Field, kindName(typeError.Type.Kind().String())))
	case errors.Is(err, errTrailingData):
		writeProblem(w, http.StatusBadRequest, "invalid_json", "The request body must be a single JSON object, with nothing after it.")
	case errors.As(err, &syntax), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		writeProblem(w, http.StatusBadRequest, "invalid_json", "The request body is not a valid JSON object.")
	default:
		// The body is a JSON value but not an object, or could not be
		// read.
		writeProblem(w, http.StatusBadRequest, "invalid_json", "The request body must be a JSON object.")
	}
	return false
}

var errTrailingData = errors.New("admin: data after the JSON object")

// isJSON reports whether a Content-Type header value is application/json,
// with a UTF-8 charset if any.
func isJSON(contentType string) bool {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != "application/json" {
		return false
	}
	charset, ok := params["charset"]
	return !ok || strings.EqualFold(charset, "utf-8")
}

// fieldList names the JSON fields of the struct dst points to, for a
// message: `"name", "groups" and "expires_at"`; "" if it has none.
func fieldList(dst any) string {
	var names []string
	switch dst.(type) {
	case *createRequest:
		names = []string{"name", "groups", "expires_at"}
	case *renameRequest:
		names = []string{"name"}
	case *groupsRequest:
		names = []string{"groups"}
	case *deleteRequest:
		names = []string{"confirm"}
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("%q", names[0])
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " and " + quoted[len(quoted)-1]
}

// kindName names a Go kind in JSON's terms.
func kindName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "true or false"
	}
	if strings.HasPrefix(kind, "int") || strings.HasPrefix(kind, "uint") || strings.HasPrefix(kind, "float") {
		return "a number"
	}
	return "of another type"
}
