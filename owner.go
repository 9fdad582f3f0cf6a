package apikey

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

const (
	// DefaultOwner is the owner of keys issued without one by trusted code
	// (no actor in the context), and of the keys a database held before
	// owners existed: a single-tenant application never needs another.
	DefaultOwner = "default"

	// MaxOwnerLength is the maximum length of an owner, in bytes.
	MaxOwnerLength = 128

	// MaxMetadataBytes bounds a key's metadata: at most 16 entries, keys of
	// 1 to 64 bytes of [A-Za-z0-9_.-], values of valid UTF-8 without
	// control characters, and at most this many bytes as JSON.
	MaxMetadataBytes = 4096
)

const maxMetadataEntries, maxMetadataKey = 16, 64

// ValidateOwner checks an owner: 1 to MaxOwnerLength bytes of
// [A-Za-z0-9_.:@-], so that an organization ID, a UUID or an e-mail address
// fits, and nothing that could display as another owner does, nor a full
// API key (owners are shown and logged wherever keys are). The error
// is a [*ValidationError] wrapping ErrInvalidOwner.
func ValidateOwner(owner string) error {
	if len(owner) == 0 || len(owner) > MaxOwnerLength {
		return ownerError(fmt.Sprintf("must be 1 to %d characters", MaxOwnerLength))
	}
	for i := 0; i < len(owner); i++ {
		if c := owner[i]; !isWordByte(c) && c != ':' && c != '@' {
			return ownerError("may contain only A-Z, a-z, 0-9, '_', '.', ':', '@' and '-'")
		}
	}
	if holdsKey(owner) {
		return ownerError(keyInTextReason)
	}
	return nil
}

// ValidateMetadata checks a key's metadata against the bounds of
// [MaxMetadataBytes], and refuses a value that holds a full API key. A nil
// or empty map is valid. The error is a
// [*ValidationError] wrapping ErrInvalidMetadata; it never quotes a value.
func ValidateMetadata(md map[string]string) error {
	if len(md) == 0 {
		return nil
	}
	if len(md) > maxMetadataEntries {
		return metadataError(fmt.Sprintf("at most %d entries", maxMetadataEntries))
	}
	for k, v := range md {
		if len(k) == 0 || len(k) > maxMetadataKey {
			return metadataError(fmt.Sprintf("keys must be 1 to %d characters", maxMetadataKey))
		}
		for i := 0; i < len(k); i++ {
			if !isWordByte(k[i]) {
				return metadataError("keys may contain only A-Z, a-z, 0-9, '_', '.' and '-'")
			}
		}
		if !utf8.ValidString(v) {
			return metadataError(fmt.Sprintf("value of %q is not valid UTF-8", k))
		}
		for _, r := range v {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || isBidiControl(r) {
				return metadataError(fmt.Sprintf("value of %q contains a control character", k))
			}
		}
		if holdsKey(v) {
			return metadataError(fmt.Sprintf("value of %q %s", k, keyInTextReason))
		}
	}
	b, err := json.Marshal(md)
	if err != nil {
		return metadataError("cannot be encoded as JSON")
	}
	if len(b) > MaxMetadataBytes {
		return metadataError(fmt.Sprintf("%d bytes as JSON, at most %d", len(b), MaxMetadataBytes))
	}
	return nil
}

// isWordByte reports whether c is in [A-Za-z0-9_.-].
func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-'
}

func ownerError(reason string) error {
	return &ValidationError{Field: "Owner", Reason: reason, Err: ErrInvalidOwner}
}

func metadataError(reason string) error {
	return &ValidationError{Field: "Metadata", Reason: reason, Err: ErrInvalidMetadata}
}
