package apikey

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// MaxNameLength is the maximum length of a key name, in characters.
	MaxNameLength = 255

	// MaxGroupLength is the maximum length of a group name, in bytes.
	MaxGroupLength = 128

	// MaxGroups is the maximum number of distinct groups a key may hold.
	MaxGroups = 64
)

// ValidateName checks a key name (or an administrator's name): 1 to
// MaxNameLength characters of valid UTF-8, not only white space, without
// control characters, line or paragraph separators, or bidirectional
// formatting characters (which can make a name display as another). Any other
// text, SQL and HTML included, is a valid name and is stored verbatim. The
// error wraps ErrInvalidName.
func ValidateName(name string) error {
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidName)
	}
	if n := utf8.RuneCountInString(name); n == 0 || n > MaxNameLength {
		return fmt.Errorf("%w: must be 1 to %d characters", ErrInvalidName, MaxNameLength)
	}
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%w: must not be blank", ErrInvalidName)
	}
	for _, r := range name {
		if r < utf8.RuneSelf {
			if r < 0x20 || r == 0x7f {
				return fmt.Errorf("%w: contains control character %U", ErrInvalidName, r)
			}
			continue
		}
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) || isBidiControl(r) {
			return fmt.Errorf("%w: contains control character %U", ErrInvalidName, r)
		}
	}
	return nil
}

func isBidiControl(r rune) bool {
	return r == '\u061C' || r == '\u200E' || r == '\u200F' ||
		'\u202A' <= r && r <= '\u202E' || '\u2066' <= r && r <= '\u2069'
}

// ValidateGroup checks one group name: 1 to MaxGroupLength bytes of
// [A-Za-z0-9_:.-]. Groups are matched exactly, byte for byte, so the narrow
// alphabet leaves no room for case or Unicode look-alikes. The error wraps
// ErrInvalidGroup.
func ValidateGroup(group string) error {
	if len(group) == 0 || len(group) > MaxGroupLength {
		return fmt.Errorf("%w: must be 1 to %d characters", ErrInvalidGroup, MaxGroupLength)
	}
	for i := 0; i < len(group); i++ {
		c := group[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '_' || c == ':' || c == '.' || c == '-') {
			return fmt.Errorf("%w: %q may contain only A-Z, a-z, 0-9, '_', ':', '.' and '-'", ErrInvalidGroup, group)
		}
	}
	return nil
}

// normalizeGroups validates groups and returns them sorted without
// duplicates, in a new slice. At least one group is required.
func normalizeGroups(groups []string) ([]string, error) {
	if len(groups) == 0 {
		return nil, fmt.Errorf("%w: at least one group is required", ErrInvalidGroup)
	}
	for _, g := range groups {
		if err := ValidateGroup(g); err != nil {
			return nil, err
		}
	}
	out := slices.Clone(groups)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxGroups {
		return nil, fmt.Errorf("%w: at most %d groups", ErrInvalidGroup, MaxGroups)
	}
	return slices.Clip(out), nil
}
