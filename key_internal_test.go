package apikey

import (
	"testing"
	"time"
	"unsafe"

	"github.com/google/uuid"
)

func TestCloneIsDeep(t *testing.T) {
	now := time.Now().UTC()
	later := now.Add(time.Hour)
	for _, groups := range [][]string{nil, {}, {"a"}, {"a", "b"}, {"a", "b", "c"}, {"a", "b", "c", "d", "e"}} {
		for _, expires := range []*time.Time{nil, &later} {
			k := &Key{ID: uuid.New(), Name: "n", Groups: groups, LastUsedAt: &now, ExpiresAt: expires}
			c := k.Clone()
			if (c.Groups == nil) != (groups == nil) || len(c.Groups) != len(groups) {
				t.Fatalf("groups %v cloned as %v", groups, c.Groups)
			}
			if len(c.Groups) > 0 {
				c.Groups[0] = "changed"
				if k.Groups[0] != "a" {
					t.Fatal("the clone shares its groups")
				}
				if cap(c.Groups) != len(c.Groups) {
					t.Fatal("appending to the clone's groups could write into its storage")
				}
			}
			*c.LastUsedAt = now.Add(time.Minute)
			if !k.LastUsedAt.Equal(now) {
				t.Fatal("the clone shares LastUsedAt")
			}
			if expires != nil {
				*c.ExpiresAt = now
				if !k.ExpiresAt.Equal(later) {
					t.Fatal("the clone shares ExpiresAt")
				}
			} else if c.ExpiresAt != nil {
				t.Fatal("nil ExpiresAt cloned as non-nil")
			}
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = (&Key{Groups: []string{"a", "b", "c"}, LastUsedAt: &now}).Clone() }); allocs > 2 {
		t.Fatalf("Clone made %v allocations", allocs)
	}
}

// The lookup ID is kept in every store; it must not be a window into the
// plaintext, or a store holding it would keep the whole key in memory.
func TestLookupIDDoesNotRetainThePlaintext(t *testing.T) {
	plaintext, lookupID := generateKey("ak", secretLength(defaultSecretBits))
	start := uintptr(unsafe.Pointer(unsafe.StringData(plaintext)))
	p := uintptr(unsafe.Pointer(unsafe.StringData(lookupID)))
	if p >= start && p < start+uintptr(len(plaintext)) {
		t.Fatal("the lookup ID points into the plaintext")
	}
	if plaintext[3:15] != lookupID {
		t.Fatal("the lookup ID is not the one in the key")
	}
}
