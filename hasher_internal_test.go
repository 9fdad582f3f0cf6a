package apikey

import (
	"crypto/sha256"
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

// TestEqualDigestMatchesBase64 checks the hand-written encoding of
// equalDigest against encoding/base64: every digest equals its encoding,
// and no other string of the same length (one character changed, at every
// position) does.
func TestEqualDigestMatchesBase64(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		var sum [sha256.Size]byte
		for i := range sum {
			sum[i] = byte(r.Uint32())
		}
		enc := base64.RawStdEncoding.EncodeToString(sum[:])
		if !equalDigest(enc, &sum) {
			t.Fatalf("equalDigest(%q) is false for its own digest", enc)
		}
		for i := range enc {
			b := []byte(enc)
			b[i] ^= 1 + byte(r.IntN(0x7e))
			if equalDigest(string(b), &sum) {
				t.Fatalf("equalDigest accepts %q for %q", b, enc)
			}
		}
		if equalDigest(enc[:42], &sum) || equalDigest(enc+"A", &sum) {
			t.Fatal("equalDigest accepts a string of another length")
		}
	}
}

// TestLookupIDOfAgreesWithParseKey checks that the fast path of parsing
// accepts exactly what ParseKey accepts with the prefix, and returns the
// same lookup ID: valid keys, and each with one byte changed anywhere.
func TestLookupIDOfAgreesWithParseKey(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, prefix := range []string{"ak", "sk_live"} {
		for range 50 {
			key, _ := generateKey(prefix, secretLength(defaultSecretBits))
			candidates := []string{key, key + "A", key[:len(key)-1], "x" + key}
			for range 20 {
				b := []byte(key)
				b[r.IntN(len(b))] = byte(r.IntN(256))
				candidates = append(candidates, string(b))
			}
			for _, s := range candidates {
				id, ok := lookupIDOf(s, prefix+"_")
				parts, err := ParseKey(s)
				want := err == nil && parts.Prefix == prefix
				if ok != want || ok && id != parts.LookupID {
					t.Fatalf("lookupIDOf(%q) = %q, %v; ParseKey: %+v, %v", s, id, ok, parts, err)
				}
			}
		}
	}
}
