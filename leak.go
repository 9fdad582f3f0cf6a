package apikey

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
)

// This file holds what leak response needs from the library: the exact
// length of issued keys (for secret-scanning rules), the identification of
// a found key without authenticating with it, and the redaction of keys in
// text that is about to be shown.

// KeyBodyLength returns the number of characters after "<prefix>_" in every
// key issued by a Manager configured with [WithSecretBits](secretBits): the
// 12-character lookup ID, the secret and the 6-character checksum. Secret
// scanning rules match this exact length. It returns an error for a
// secretBits that WithSecretBits refuses.
func KeyBodyLength(secretBits int) (int, error) {
	if secretBits < minSecretBits || secretBits > maxSecretBits {
		return 0, fmt.Errorf("apikey: KeyBodyLength: %d secret bits is outside %d to %d", secretBits, minSecretBits, maxSecretBits)
	}
	return lookupIDLength + secretLength(secretBits) + checksumLength, nil
}

// MinKeyBodyLength is the shortest body (the part after "<prefix>_") that
// [ParseKey] accepts: that of keys issued with the smallest secret (128 bits).
const MinKeyBodyLength = lookupIDLength + 26 + checksumLength

// PreviewOf returns the preview of a well-formed key, the same string as the
// Preview of its record, such as "ak_3Fq9…x7Ab", or "" if s is not a
// well-formed key (see [ParseKey]). It is what may be shown of a key found
// where it should not be.
func PreviewOf(s string) string {
	parts, err := ParseKey(s)
	if err != nil {
		return ""
	}
	return preview(s, len(parts.Prefix))
}

// Identify returns the record of the key whose plaintext is given, whether
// it is active, inactive or expired, for leak response: a scanner that found
// the key in a file, a secret-scanning alert. Unlike Verify it authenticates
// nothing: it records no use (the last-used time keeps pointing at the last
// real use), uses no cache, re-hashes nothing and accepts keys of any
// prefix, since the stored hash covers the prefix too.
//
// The secret is checked against the stored hash, so a string with a valid
// checksum that reuses a real lookup ID with another secret never names
// that key. The error wraps ErrInvalidKey (malformed, unknown, or a wrong
// secret), ErrUnsupportedHash, ErrStoreFailure or ErrClosed, and never
// contains plaintext.
func (m *Manager) Identify(ctx context.Context, plaintext string) (*Key, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	parts, err := ParseKey(plaintext)
	if err != nil {
		return nil, err
	}
	k, err := m.callStore(ctx, parts.LookupID) // under the verification deadline
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: unknown key", ErrInvalidKey)
		}
		return nil, wrapStoreError("identify", err) // counted by callStore
	}
	_, ok, err := m.verifyHash(plaintext, k.Hash)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: secret mismatch", ErrInvalidKey)
	}
	return k, nil
}

// RedactKeys returns s with every well-formed key in it (any prefix, any
// secret size, with a valid checksum) replaced by its preview. A key is
// found wherever it is, even glued to other text on its left ("KEY=",
// "xak_..."), as long as it is not followed by another base62 character.
// Use it on text that may hold a key before showing or logging it.
func RedactKeys(s string) string {
	var b strings.Builder
	last := 0
	FindKeys([]byte(s), func(start, end int) {
		b.WriteString(s[last:start])
		b.WriteString(preview(s[start:end], strings.LastIndexByte(s[start:end], '_')))
		last = end
	})
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// FindKeys calls found with the start and end offsets in text of every
// well-formed key (see [ParseKey]) in it, in order. A candidate is a prefix
// of 1 to [maxPrefixLength] characters, an underscore and a base62 run of
// [MinKeyBodyLength] to maxKeyLength-2 characters that ends text or is
// followed by a character that is not base62; it is reported only if its
// checksum is right, which random text passes once in 62^6 (about 2^35)
// candidates. The prefix may be glued to other text on its left ("KEY_ak_",
// "xak_"): the longest prefix with a right checksum wins.
//
// A caller that scans a stream in windows finds every key whose underscore
// lies more than maxKeyLength bytes before the end of a window, and should
// start the next window [maxPrefixLength] bytes before that point.
func FindKeys(text []byte, found func(start, end int)) {
	const maxBody = maxKeyLength - 2
	for p := 0; p < len(text); {
		i := bytes.IndexByte(text[p:], '_')
		if i < 0 {
			return
		}
		p += i
		end := p + 1
		for end < len(text) && end-p-1 <= maxBody && notBase62Table[text[end]] == 0 {
			end++
		}
		if body := end - p - 1; body >= MinKeyBodyLength && body <= maxBody {
			for l := min(maxPrefixLength, p); l >= 1; l-- {
				start := p - l
				if !validPrefixBytes(text[start:p]) {
					continue
				}
				if _, err := ParseKey(string(text[start:end])); err == nil {
					found(start, end)
					break
				}
			}
		}
		p = end
	}
}

// validPrefixBytes reports whether validatePrefix accepts p, without
// converting it to a string.
func validPrefixBytes(p []byte) bool {
	if len(p) == 0 || len(p) > maxPrefixLength || p[0] == '_' || p[len(p)-1] == '_' {
		return false
	}
	for _, c := range p {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
