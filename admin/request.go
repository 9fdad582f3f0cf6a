package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// readJSON decodes the body of r into dst, a pointer to a struct whose
// fields are all a request may carry. It answers the request and returns
// false if the body is not exactly one JSON object of those fields, sent as
// application/json within the size limit. If optional is set, an empty body
// (no body, Content-Length: 0, or a chunked body of no bytes) is accepted
// and leaves dst alone.
//
// The body is read as a strict parser would, so that a proxy or an audit
// tool reading the same bytes cannot understand another request: a member
// name must be spelled exactly as documented (encoding/json alone would take
// "NAME" or a Unicode case-folded "name" for "name"), no object may name a
// member twice (encoding/json keeps the last), and the body must be valid
// UTF-8 (encoding/json would turn invalid bytes into U+FFFD).
func (h *Handler) readJSON(w http.ResponseWriter, r *http.Request, dst any, optional bool) bool {
	if optional && r.ContentLength == 0 {
		return true
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeProblem(w, http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("The request body is larger than %d bytes.", h.maxBody))
		return false
	case err != nil:
		writeProblem(w, http.StatusBadRequest, "invalid_json", "The request body could not be read.")
		return false
	case optional && len(body) == 0:
		return true
	}
	if ct := r.Header.Get("Content-Type"); !isJSON(ct) {
		writeProblem(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
			"Send the request body as JSON, with the header Content-Type: application/json.")
		return false
	}
	if !utf8.Valid(body) || hasLoneSurrogate(body) {
		writeProblem(w, http.StatusUnprocessableEntity, "invalid_utf8",
			"The request body is not valid UTF-8: send text as UTF-8, with no invalid bytes and no unpaired \\u surrogate escapes.")
		return false
	}
	if err := checkMembers(body, fieldNames(dst)); err != nil {
		var dup *duplicateError
		var unknown *unknownFieldError
		switch {
		case errors.As(err, &dup):
			writeProblem(w, http.StatusBadRequest, "duplicate_field",
				fmt.Sprintf("The request body names the field %q more than once.", dup.name))
			return false
		case errors.As(err, &unknown):
			takes := "It takes no field."
			if fields := fieldList(dst); fields != "" {
				takes = "It takes only " + fields + ", spelled exactly so."
			}
			writeProblem(w, http.StatusBadRequest, "unknown_field",
				fmt.Sprintf("The request body has a field this request does not take: %q. %s", unknown.name, takes))
			return false
		}
		// A syntax error: the decoder below describes it.
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(dst)
	if err == nil {
		// One value and nothing after it: "{} {}" or "{}x" is refused.
		if extra := dec.Decode(&struct{}{}); extra != io.EOF {
			err = errTrailingData
		}
	}
	if err == nil {
		return true
	}
	var (
		syntax    *json.SyntaxError
		typeError *json.UnmarshalTypeError
		timeError *time.ParseError
	)
	switch {
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// checkMembers finds every unknown field of the top-level object;
		// this is one in a nested object, which no request has today.
		writeProblem(w, http.StatusBadRequest, "unknown_field",
			"The request body has a field this request does not take: "+strings.TrimPrefix(err.Error(), "json: unknown field ")+".")
	case errors.Is(err, errGrace):
		writeProblem(w, http.StatusUnprocessableEntity, "invalid_grace", "The grace period is not valid: "+errGrace.Error()+".")
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
		// The body is a JSON value but not an object.
		writeProblem(w, http.StatusBadRequest, "invalid_json", "The request body must be a JSON object.")
	}
	return false
}

// duplicateError is a member name that an object of the body has twice.
type duplicateError struct{ name string }

func (e *duplicateError) Error() string { return "admin: duplicate member " + strconv.Quote(e.name) }

// unknownFieldError is a member of the top-level object that the request
// does not take, with exactly this spelling.
type unknownFieldError struct{ name string }

func (e *unknownFieldError) Error() string { return "admin: unknown member " + strconv.Quote(e.name) }

// checkMembers walks the JSON body and returns a *duplicateError if any
// object, at any depth, names a member twice (after unescaping: "n\u0061me"
// is "name"), or an *unknownFieldError if the top-level object has a member
// not in allowed, compared byte for byte. It returns another error if the
// body is not JSON, and nil if it is not an object: the decoder reports
// both.
func checkMembers(body []byte, allowed []string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	// Each open object has the set of names seen so far; an array has nil.
	type level struct {
		names   map[string]bool
		isObj   bool
		wantKey bool
	}
	var stack []*level
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.isObj && top.wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return nil // the decoder reports anything after the object
				}
				continue
			}
			name := tok.(string) // the decoder only returns strings as keys
			if top.names[name] {
				return &duplicateError{name}
			}
			top.names[name] = true
			if len(stack) == 1 && !slices.Contains(allowed, name) {
				return &unknownFieldError{name}
			}
			top.wantKey = false
			continue
		}
		if top != nil && top.isObj {
			top.wantKey = true // the value read now completes a member
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &level{names: map[string]bool{}, isObj: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &level{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return nil
			}
			if t := stack[len(stack)-1]; t.isObj {
				t.wantKey = true
			}
		default:
			if len(stack) == 0 {
				return nil // a scalar body: not an object
			}
		}
	}
}

// fieldNames returns the JSON member names of the struct dst points to, as
// its tags spell them.
func fieldNames(dst any) []string {
	t := reflect.TypeOf(dst).Elem()
	names := make([]string, 0, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
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
	names := fieldNames(dst)
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

// hasLoneSurrogate reports whether body escapes a UTF-16 surrogate that is
// not half of a pair ("\ud800"): encoding/json would quietly turn it into
// U+FFFD, so that what is stored is not what was sent (RFC 7493 refuses
// it). Backslashes occur only in JSON strings, so every escape is found.
func hasLoneSurrogate(body []byte) bool {
	hex4 := func(b []byte) (rune, bool) {
		if len(b) < 4 {
			return 0, false
		}
		var r rune
		for _, c := range b[:4] {
			switch {
			case '0' <= c && c <= '9':
				r = r<<4 | rune(c-'0')
			case 'a' <= c && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case 'A' <= c && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return r, true
	}
	for i := 0; i+1 < len(body); i++ {
		if body[i] != '\\' {
			continue
		}
		if body[i+1] != 'u' {
			i++ // an escaped character, perhaps a backslash
			continue
		}
		r, ok := hex4(body[i+2:])
		if !ok {
			continue // malformed: the decoder refuses it
		}
		switch {
		case 0xDC00 <= r && r <= 0xDFFF:
			return true // a low half alone
		case 0xD800 <= r && r <= 0xDBFF:
			next := body[i+6:]
			if len(next) < 6 || next[0] != '\\' || next[1] != 'u' {
				return true
			}
			if low, ok := hex4(next[2:]); !ok || low < 0xDC00 || low > 0xDFFF {
				return true
			}
			i += 11 // the pair
		default:
			i += 5
		}
	}
	return false
}
