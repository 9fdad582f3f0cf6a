package apikey

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Hasher turns a plaintext key into the string a Store keeps, and checks a
// plaintext against it. Encoded hashes are self-describing in the PHC string
// style ("$algorithm$parameters$hash"), so a Manager can change its Hasher
// without invalidating the keys already issued: it verifies old hashes with
// the Hasher that reads them and re-hashes the key with the current one on
// its next successful verification.
//
// Implementations must be safe for concurrent use, compare in constant time,
// and never include the key in an error.
type Hasher interface {
	// Hash returns the encoded hash of key.
	Hash(key string) (string, error)

	// Verify reports whether key matches encoded. It returns
	// ErrUnsupportedHash if encoded is not in a form this Hasher reads.
	Verify(key, encoded string) (bool, error)

	// NeedsRehash reports whether encoded differs in algorithm or
	// parameters from what Hash produces now.
	NeedsRehash(encoded string) bool
}

var (
	_ Hasher = SHA256Hasher{}
	_ Hasher = (*HMACHasher)(nil)
	_ Hasher = Argon2idHasher{}
	_ Hasher = BcryptHasher{}
)

func sha256Sum(key string) [sha256.Size]byte { return sha256.Sum256(readOnlyBytes(key)) }

const (
	sha256HashPrefix = "$sha256$"
	digestB64Len     = 43 // base64.RawStdEncoding.EncodedLen(32)
)

// SHA256Hasher is the default Hasher: one SHA-256 of the key, written as
// "$sha256$<base64 digest>". A slow hash adds nothing for keys with 160 bits
// of random secret, which no dictionary can guess; it only slows every
// request. Use [HMACHasher] to add a server-side secret (a pepper), so that a
// leaked table cannot even be checked against candidate keys offline.
type SHA256Hasher struct{}

// Hash implements Hasher.
func (SHA256Hasher) Hash(key string) (string, error) {
	sum := sha256Sum(key)
	var buf [len(sha256HashPrefix) + digestB64Len]byte
	copy(buf[:], sha256HashPrefix)
	base64.RawStdEncoding.Encode(buf[len(sha256HashPrefix):], sum[:])
	return string(buf[:]), nil
}

// Verify implements Hasher.
func (SHA256Hasher) Verify(key, encoded string) (bool, error) {
	digest, ok := strings.CutPrefix(encoded, sha256HashPrefix)
	if !ok {
		return false, ErrUnsupportedHash
	}
	sum := sha256Sum(key)
	return equalDigest(digest, &sum), nil
}

// NeedsRehash implements Hasher.
func (SHA256Hasher) NeedsRehash(encoded string) bool {
	return !strings.HasPrefix(encoded, sha256HashPrefix)
}

// equalDigest reports, in constant time, whether b64 is the unpadded base64
// encoding of sum. It encodes sum as it compares, three bytes to four
// characters at a time, into nothing: no buffer, no second pass. The table
// lookups are indexed by sum, the digest of the key presented, which its
// sender knows; the stored characters are only ever XORed.
func equalDigest(b64 string, sum *[sha256.Size]byte) bool {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	if len(b64) != digestB64Len {
		return false
	}
	b := b64[:digestB64Len]
	var diff uint32
	for g := range 10 { // 30 bytes, 40 characters, compared 4 at a time
		v := uint(sum[3*g])<<16 | uint(sum[3*g+1])<<8 | uint(sum[3*g+2])
		want := uint32(alphabet[v>>18&0x3f]) | uint32(alphabet[v>>12&0x3f])<<8 |
			uint32(alphabet[v>>6&0x3f])<<16 | uint32(alphabet[v&0x3f])<<24
		c := b[4*g : 4*g+4]
		diff |= want ^ (uint32(c[0]) | uint32(c[1])<<8 | uint32(c[2])<<16 | uint32(c[3])<<24)
	}
	v := uint(sum[30])<<16 | uint(sum[31])<<8 // the last 2 bytes, 3 characters
	want := uint32(alphabet[v>>18&0x3f]) | uint32(alphabet[v>>12&0x3f])<<8 | uint32(alphabet[v>>6&0x3f])<<16
	diff |= want ^ (uint32(b[40]) | uint32(b[41])<<8 | uint32(b[42])<<16)
	return subtle.ConstantTimeEq(int32(diff), 0) == 1
}

// HMACHasher hashes keys with HMAC-SHA-256 under a server-side secret, the
// pepper, written as "$hmac-sha256$k=<pepper ID>$<base64 MAC>". The pepper ID
// names the pepper so that it can be rotated: give the Manager the new
// HMACHasher with [WithHasher] and the old one with [WithVerifyHashers], and
// every key moves to the new pepper on its next use.
type HMACHasher struct {
	id     string
	prefix string
	pepper []byte
	macs   sync.Pool // of keyed hash.Hash
}

// NewHMACHasher returns an HMACHasher. The id is 1 to 16 characters of
// [a-z0-9] and the pepper at least 32 bytes; keep the pepper outside the
// database the keys are stored in.
func NewHMACHasher(id string, pepper []byte) (*HMACHasher, error) {
	if len(id) == 0 || len(id) > 16 || strings.IndexFunc(id, func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
	}) >= 0 {
		return nil, fmt.Errorf("apikey: HMAC pepper ID must be 1 to 16 characters of a-z and 0-9")
	}
	if len(pepper) < 32 {
		return nil, fmt.Errorf("apikey: HMAC pepper must be at least 32 bytes, got %d", len(pepper))
	}
	return &HMACHasher{id: id, prefix: "$hmac-sha256$k=" + id + "$", pepper: append([]byte(nil), pepper...)}, nil
}

func (h *HMACHasher) sum(key string) [sha256.Size]byte {
	// Keying an HMAC costs two SHA-256 blocks and several allocations; a
	// pooled one is only Reset.
	mac, _ := h.macs.Get().(hash.Hash)
	if mac == nil {
		mac = hmac.New(sha256.New, h.pepper)
	}
	mac.Reset()
	mac.Write(readOnlyBytes(key))
	var sum [sha256.Size]byte
	copy(sum[:], mac.Sum(nil))
	h.macs.Put(mac)
	return sum
}

// Hash implements Hasher.
func (h *HMACHasher) Hash(key string) (string, error) {
	sum := h.sum(key)
	return h.prefix + base64.RawStdEncoding.EncodeToString(sum[:]), nil
}

// Verify implements Hasher. It returns ErrUnsupportedHash for a hash made
// with another pepper ID.
func (h *HMACHasher) Verify(key, encoded string) (bool, error) {
	digest, ok := strings.CutPrefix(encoded, h.prefix)
	if !ok {
		return false, ErrUnsupportedHash
	}
	sum := h.sum(key)
	return equalDigest(digest, &sum), nil
}

// NeedsRehash implements Hasher.
func (h *HMACHasher) NeedsRehash(encoded string) bool {
	return !strings.HasPrefix(encoded, h.prefix)
}

// Argon2idHasher hashes keys with Argon2id (RFC 9106), in the PHC form
// "$argon2id$v=19$m=<KiB>,t=<passes>,p=<threads>$<salt>$<hash>". Zero fields
// take the defaults, OWASP's minimum recommendation: 19 MiB, 2 passes, 1
// thread, 16 bytes of salt, 32 bytes of hash. Verification reads the
// parameters from the encoded hash, so changing them never breaks a key.
type Argon2idHasher struct {
	Memory  uint32 // KiB; default 19456
	Time    uint32 // passes; default 2
	Threads uint8  // default 1
}

func (h Argon2idHasher) params() (m, t uint32, p uint8) {
	m, t, p = h.Memory, h.Time, h.Threads
	if m == 0 {
		m = 19 * 1024
	}
	if t == 0 {
		t = 2
	}
	if p == 0 {
		p = 1
	}
	return m, t, p
}

const (
	argon2SaltLen = 16
	argon2KeyLen  = 32
)

// Hash implements Hasher.
func (h Argon2idHasher) Hash(key string) (string, error) {
	m, t, p := h.params()
	salt := make([]byte, argon2SaltLen)
	rand.Read(salt)
	sum := argon2.IDKey([]byte(key), salt, t, m, p, argon2KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, m, t, p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum)), nil
}

type argon2Encoded struct {
	m, t       uint32
	p          uint8
	salt, hash []byte
}

// maxArgon2Memory bounds the memory an encoded hash may ask for (4 GiB), so
// that a corrupted or hostile row cannot exhaust the server.
const maxArgon2Memory = 4 * 1024 * 1024

func parseArgon2id(encoded string) (argon2Encoded, error) {
	var e argon2Encoded
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return e, ErrUnsupportedHash
	}
	var p uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &e.m, &e.t, &p); err != nil || n != 3 ||
		e.m == 0 || e.m > maxArgon2Memory || e.t == 0 || e.t > 64 || p == 0 || p > 255 {
		return e, ErrUnsupportedHash
	}
	e.p = uint8(p)
	var err error
	if e.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(e.salt) < 8 {
		return e, ErrUnsupportedHash
	}
	if e.hash, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(e.hash) < 16 || len(e.hash) > 64 {
		return e, ErrUnsupportedHash
	}
	return e, nil
}

// Verify implements Hasher.
func (h Argon2idHasher) Verify(key, encoded string) (bool, error) {
	e, err := parseArgon2id(encoded)
	if err != nil {
		return false, err
	}
	sum := argon2.IDKey([]byte(key), e.salt, e.t, e.m, e.p, uint32(len(e.hash)))
	return subtle.ConstantTimeCompare(sum, e.hash) == 1, nil
}

// NeedsRehash implements Hasher.
func (h Argon2idHasher) NeedsRehash(encoded string) bool {
	e, err := parseArgon2id(encoded)
	if err != nil {
		return true
	}
	m, t, p := h.params()
	return e.m != m || e.t != t || e.p != p || len(e.salt) != argon2SaltLen || len(e.hash) != argon2KeyLen
}

// BcryptHasher hashes keys with bcrypt, written as "$bcrypt-sha256$" followed
// by the bcrypt hash. The key is first reduced with SHA-256 (and base64), as
// bcrypt reads at most 72 bytes and a long prefix or secret would otherwise
// be cut. A zero Cost means bcrypt.DefaultCost; costs above 16 are refused,
// and hashes claiming one are not read.
type BcryptHasher struct {
	Cost int
}

const (
	bcryptHashPrefix = "$bcrypt-sha256$"
	maxBcryptCost    = 16 // about 5 s per verification on a 2026 server core
)

func (h BcryptHasher) cost() int {
	if h.Cost == 0 {
		return bcrypt.DefaultCost
	}
	return h.Cost
}

func bcryptInput(key string) []byte {
	sum := sha256Sum(key)
	out := make([]byte, base64.StdEncoding.EncodedLen(len(sum)))
	base64.StdEncoding.Encode(out, sum[:])
	return out
}

// Hash implements Hasher.
func (h BcryptHasher) Hash(key string) (string, error) {
	if h.cost() > maxBcryptCost {
		return "", fmt.Errorf("apikey: bcrypt cost %d is above %d", h.cost(), maxBcryptCost)
	}
	b, err := bcrypt.GenerateFromPassword(bcryptInput(key), h.cost())
	if err != nil {
		return "", fmt.Errorf("apikey: bcrypt: %w", err)
	}
	return bcryptHashPrefix + string(b), nil
}

// Verify implements Hasher.
func (h BcryptHasher) Verify(key, encoded string) (bool, error) {
	b, ok := strings.CutPrefix(encoded, bcryptHashPrefix)
	if !ok {
		return false, ErrUnsupportedHash
	}
	// A cost above maxBcryptCost (a corrupted or planted row) would tie
	// up the server for minutes or days per request.
	if cost, err := bcrypt.Cost([]byte(b)); err != nil || cost > maxBcryptCost {
		return false, ErrUnsupportedHash
	}
	return bcrypt.CompareHashAndPassword([]byte(b), bcryptInput(key)) == nil, nil
}

// NeedsRehash implements Hasher.
func (h BcryptHasher) NeedsRehash(encoded string) bool {
	b, ok := strings.CutPrefix(encoded, bcryptHashPrefix)
	if !ok {
		return true
	}
	cost, err := bcrypt.Cost([]byte(b))
	return err != nil || cost != h.cost()
}
