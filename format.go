package apikey

import (
	"crypto/rand"
	"fmt"
	"hash/crc32"
	"math"
	"strings"
	"unsafe"
)

// The key format is <prefix>_<body>. The body is base62 and made of three
// parts, in this order:
//
//	lookup ID  12 characters, random, public: how a store finds the key
//	secret     26 or more characters from crypto/rand: what the hash covers
//	checksum   6 characters, CRC-32C (Castagnoli) of everything before it
//
// The checksum lets a mistyped, truncated or random string be refused before
// any store call, and lets secret scanners recognise a real key. The preview
// shows the prefix, the first characters of the lookup ID and the last
// characters of the checksum: none of the secret itself.
const (
	// maxKeyLength is the length in bytes above which a string is refused
	// before any parsing or hashing.
	maxKeyLength = 256

	// maxPrefixLength is the longest prefix [WithPrefix] accepts.
	maxPrefixLength = 16

	// DefaultPrefix is the prefix of keys issued by a Manager without
	// [WithPrefix].
	DefaultPrefix = "ak"

	// defaultSecretBits is the entropy of the secret part of keys issued by
	// a Manager without [WithSecretBits].
	defaultSecretBits = 160

	// minSecretBits is the least entropy [WithSecretBits] accepts.
	minSecretBits = 128

	// maxSecretBits is the largest secret size WithSecretBits accepts.
	maxSecretBits = 512

	lookupIDLength  = 12
	checksumLength  = 6
	previewIDChars  = 4
	previewEndChars = 4
	base62Alphabet  = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// bitsPerBase62Char is log2(62).
var bitsPerBase62Char = math.Log2(62)

// secretLength returns the number of base62 characters that carry at least
// bits of entropy that the preview does not reveal. The preview shows the
// last characters of the checksum, which is a function of the secret, so
// those bits are counted against the secret.
func secretLength(bits int) int {
	revealed := float64(previewEndChars) * bitsPerBase62Char
	return int(math.Ceil((float64(bits) + revealed) / bitsPerBase62Char))
}

// minSecretLength is the shortest secret any parsed key may have.
var minSecretLength = secretLength(minSecretBits)

// KeyParts are the parts of a well-formed key, as returned by [ParseKey].
// They are substrings of the parsed string: the Secret is as sensitive as
// the key itself.
type KeyParts struct {
	Prefix   string
	LookupID string
	Secret   string
	Checksum string
}

// ParseKey splits s into its parts and checks its format and checksum. It
// accepts any string, of any length and content, and returns an error that
// wraps [ErrInvalidKey] for anything that is not a well-formed key. It never
// includes s in the error. A well-formed key may still be unknown, revoked or
// wrong: only [Manager.Verify] tells.
func ParseKey(s string) (KeyParts, error) {
	if len(s) > maxKeyLength {
		return KeyParts{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidKey, maxKeyLength)
	}
	sep := strings.LastIndexByte(s, '_')
	if sep < 0 {
		return KeyParts{}, fmt.Errorf("%w: no prefix", ErrInvalidKey)
	}
	prefix, body := s[:sep], s[sep+1:]
	if err := validatePrefix(prefix); err != nil {
		return KeyParts{}, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	if len(body) < lookupIDLength+minSecretLength+checksumLength {
		return KeyParts{}, fmt.Errorf("%w: too short", ErrInvalidKey)
	}
	// No early exit: one pass without branches is faster on the valid keys
	// that make up nearly all traffic.
	var notBase62 byte
	for i := 0; i < len(body); i++ {
		notBase62 |= notBase62Table[body[i]]
	}
	if notBase62 != 0 {
		return KeyParts{}, fmt.Errorf("%w: not base62", ErrInvalidKey)
	}
	checksumAt := len(s) - checksumLength
	var want [checksumLength]byte
	encodeChecksum(&want, checksum(s[:checksumAt]))
	if s[checksumAt:] != string(want[:]) {
		return KeyParts{}, fmt.Errorf("%w: checksum mismatch", ErrInvalidKey)
	}
	return KeyParts{
		Prefix:   prefix,
		LookupID: body[:lookupIDLength],
		Secret:   body[lookupIDLength : len(body)-checksumLength],
		Checksum: s[checksumAt:],
	}, nil
}

// validatePrefix checks that p is 1 to maxPrefixLength characters of
// [a-z0-9_], neither starting nor ending with an underscore.
func validatePrefix(p string) error {
	if len(p) == 0 || len(p) > maxPrefixLength {
		return fmt.Errorf("prefix must be 1 to %d characters", maxPrefixLength)
	}
	if p[0] == '_' || p[len(p)-1] == '_' {
		return fmt.Errorf("prefix must not start or end with an underscore")
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return fmt.Errorf("prefix may contain only a-z, 0-9 and underscore")
		}
	}
	return nil
}

// generateKey returns a new plaintext key and its lookup ID.
func generateKey(prefix string, secretChars int) (plaintext, lookupID string) {
	// Built in a buffer on the stack: the only allocation is the string.
	var buf [maxKeyLength]byte
	b := buf[:0]
	b = append(b, prefix...)
	b = append(b, '_')
	b = appendRandomBase62(b, lookupIDLength+secretChars)
	var sum [checksumLength]byte
	encodeChecksum(&sum, crc32.Checksum(b, castagnoli))
	b = append(b, sum[:]...)
	s := string(b)
	start := len(prefix) + 1
	// A copy, not a substring: a record that keeps its lookup ID must not
	// keep the whole plaintext alive in memory with it.
	return s, strings.Clone(s[start : start+lookupIDLength])
}

// appendRandomBase62 appends n characters drawn uniformly from the base62
// alphabet, by rejection sampling of 6-bit values from crypto/rand.
func appendRandomBase62(dst []byte, n int) []byte {
	var buf [64]byte
	for n > 0 {
		rand.Read(buf[:]) // never returns an error; it crashes the program instead
		for _, r := range buf {
			if v := r & 63; v < 62 {
				dst = append(dst, base62Alphabet[v])
				if n--; n == 0 {
					break
				}
			}
		}
	}
	return dst
}

// castagnoli is the CRC-32C table. CRC-32C detects errors at least as well
// as the IEEE polynomial, and runs in hardware (SSE 4.2, ARMv8 CRC) on every
// server CPU: the checksum is checked on every request.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(s string) uint32 { return crc32.Checksum(readOnlyBytes(s), castagnoli) }

// readOnlyBytes returns the bytes of s without copying them, for the hot path
// of verification: a copy would cost an allocation per request. The slice
// must only be read; every caller passes it to a function that only reads
// (a checksum or a hash).
func readOnlyBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// encodeChecksum writes v in base62, most significant digit first, padded to
// six characters (62^6 > 2^32).
func encodeChecksum(dst *[checksumLength]byte, v uint32) {
	for i := checksumLength - 1; i >= 0; i-- {
		dst[i] = base62Alphabet[v%62]
		v /= 62
	}
}

// lookupIDOf returns the lookup ID of s if s is a well-formed key with the
// prefix whose "<prefix>_" is prefixSep; ok is false otherwise, and the
// caller then asks ParseKey why. It is ParseKey's check, for the keys that
// make up nearly all traffic: one pass without branches over the body, and
// the checksum compared as a number (its six characters decoded, 62^6 >
// 2^32, so every value has exactly one encoding) rather than encoded by
// divisions.
func lookupIDOf(s, prefixSep string) (lookupID string, ok bool) {
	if len(s) > maxKeyLength || len(s) < len(prefixSep)+lookupIDLength+minSecretLength+checksumLength ||
		s[:len(prefixSep)] != prefixSep {
		return "", false
	}
	body := s[len(prefixSep):]
	checksumAt := len(s) - checksumLength
	var notBase62 byte
	b := []byte(body[:len(body)-checksumLength]) // no copy
	for ; len(b) >= 8; b = b[8:] {
		_ = b[7]
		notBase62 |= notBase62Table[b[0]] | notBase62Table[b[1]] | notBase62Table[b[2]] | notBase62Table[b[3]] |
			notBase62Table[b[4]] | notBase62Table[b[5]] | notBase62Table[b[6]] | notBase62Table[b[7]]
	}
	for _, c := range b {
		notBase62 |= notBase62Table[c]
	}
	var sum uint64
	for _, c := range []byte(s[checksumAt:]) {
		d := base62Digit[c]
		notBase62 |= d & 0x80
		sum = sum*62 + uint64(d&0x3f)
	}
	if notBase62 != 0 || sum != uint64(checksum(s[:checksumAt])) {
		return "", false
	}
	return body[:lookupIDLength], true
}

// base62Digit is the value of every base62 character, and 0x80 for every
// other byte.
var base62Digit = func() (t [256]byte) {
	for i := range t {
		t[i] = 0x80
	}
	for i := 0; i < len(base62Alphabet); i++ {
		t[base62Alphabet[i]] = byte(i)
	}
	return t
}()

// notBase62Table is 1 for every byte outside the base62 alphabet.
var notBase62Table = func() (t [256]byte) {
	for i := range t {
		t[i] = 1
	}
	for i := 0; i < len(base62Alphabet); i++ {
		t[base62Alphabet[i]] = 0
	}
	return t
}()

// preview returns the displayable beginning and end of a key, such as
// "ak_3Fq9…x7Ab". The ellipsis is not in the key alphabet, so a preview can
// never parse as a key.
func preview(plaintext string, prefixLen int) string {
	idEnd := prefixLen + 1 + previewIDChars
	return plaintext[:idEnd] + "…" + plaintext[len(plaintext)-previewEndChars:]
}
