package apikey

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// maxNameLength is the maximum length of a key name, in characters.
	maxNameLength = 255

	// maxGroupLength is the maximum length of a group name, in bytes.
	maxGroupLength = 128

	// MaxGroups is the maximum number of distinct groups a key may hold.
	MaxGroups = 64
)

// ValidateName checks a key name (or an administrator's name): 1 to
// 255 characters of valid UTF-8, not only white space, without
// control characters, line or paragraph separators, or bidirectional
// formatting characters (which can make a name display as another), and
// without a full API key in it (its preview is fine). Any other text, SQL
// and HTML included, is a valid name and is stored verbatim. The error is
// a [*ValidationError] for the field "Name" that wraps ErrInvalidName.
func ValidateName(name string) error {
	if !utf8.ValidString(name) {
		return invalidName("not valid UTF-8")
	}
	if n := utf8.RuneCountInString(name); n == 0 || n > maxNameLength {
		return invalidName(fmt.Sprintf("must be 1 to %d characters", maxNameLength))
	}
	if strings.TrimSpace(name) == "" {
		return invalidName("must not be blank")
	}
	visible := false
	for _, r := range name {
		if r < utf8.RuneSelf {
			if r < 0x20 || r == 0x7f {
				return invalidName(fmt.Sprintf("contains control character %U", r))
			}
			visible = visible || r > ' '
			continue
		}
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) || isBidiControl(r) {
			return invalidName(fmt.Sprintf("contains control character %U", r))
		}
		visible = visible || isVisible(r)
	}
	if !visible {
		return invalidName("must contain a visible character")
	}
	if holdsKey(name) {
		return invalidName(keyInTextReason)
	}
	return nil
}

// keyInTextReason is the Reason of the ValidationError for a stored text
// that holds a full API key.
const keyInTextReason = "holds an API key: choose a text that does not"

// holdsKey reports whether s holds a well-formed API key (any prefix, a
// valid checksum; see [FindKeys]). Names, creators and metadata are shown
// wherever keys are listed and kept for the key's life: a key pasted into
// one would be shown to everyone who lists keys. The library refuses such
// text for every caller, trusted or not; reasons and actor names of
// changes are redacted instead (see [NewChangeContext]).
func holdsKey(s string) bool {
	found := false
	FindKeys([]byte(s), func(int, int) { found = true })
	return found
}

// isVisible reports whether r draws something by itself: a letter, digit,
// punctuation or symbol. Spaces, format characters (a zero-width joiner)
// and combining marks alone leave a name blank on the screen.
func isVisible(r rune) bool {
	return unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S) && r != '\u3164' && r != '\u115F' && r != '\u1160' && r != '\u2800'
}

func isBidiControl(r rune) bool {
	return r == '\u061C' || r == '\u200E' || r == '\u200F' ||
		'\u202A' <= r && r <= '\u202E' || '\u2066' <= r && r <= '\u2069'
}

// ValidateGroup checks one group name: 1 to 128 bytes of
// [A-Za-z0-9_:.-]. Groups are matched exactly, byte for byte, so the narrow
// alphabet leaves no room for case or Unicode look-alikes. The error is a
// [*ValidationError] for the field "Groups" that wraps ErrInvalidGroup.
func ValidateGroup(group string) error {
	if len(group) == 0 || len(group) > maxGroupLength {
		return invalidGroup(fmt.Sprintf("must be 1 to %d characters", maxGroupLength))
	}
	for i := 0; i < len(group); i++ {
		c := group[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '_' || c == ':' || c == '.' || c == '-') {
			if holdsKey(group) { // never quoted
				return invalidGroup(keyInTextReason)
			}
			return invalidGroup(fmt.Sprintf("%q may contain only A-Z, a-z, 0-9, '_', ':', '.' and '-'", group))
		}
	}
	return nil
}

// normalizeGroups validates groups and returns them sorted without
// duplicates, in a new slice. At least one group is required, and none
// may hold a full API key (it would be stored and shown with the key).
func normalizeGroups(groups []string) ([]string, error) {
	if len(groups) == 0 {
		return nil, invalidGroup("at least one group is required")
	}
	for _, g := range groups {
		if err := ValidateGroup(g); err != nil {
			return nil, err
		}
		if holdsKey(g) { // stored, printed and listed with the key
			return nil, invalidGroup(keyInTextReason)
		}
	}
	out := slices.Clone(groups)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxGroups {
		return nil, invalidGroup(fmt.Sprintf("at most %d groups", MaxGroups))
	}
	return slices.Clip(out), nil
}

func invalidName(reason string) error {
	return &ValidationError{Field: "Name", Reason: reason, Err: ErrInvalidName}
}

func invalidGroup(reason string) error {
	return &ValidationError{Field: "Groups", Reason: reason, Err: ErrInvalidGroup}
}
