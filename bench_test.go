package apikey_test

import (
	"context"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
)

// benchKeys is the number of keys in the store for the Verify benchmarks:
// 1,000,000, or APIKEY_BENCH_KEYS (fewer make a run under callgrind
// practical; see docs/performance.md).
var benchKeys = func() int {
	if n, err := strconv.Atoi(os.Getenv("APIKEY_BENCH_KEYS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}()

var benchFixture struct {
	once       sync.Once
	store      *memstore.Store
	plaintexts []string
	// baseline is the least any verification can do: a map from lookup ID
	// to the SHA-256 of the key.
	baseline map[string][sha256.Size]byte
}

func loadBenchFixture(b *testing.B) {
	benchFixture.once.Do(func() {
		store := memstore.New()
		m, err := apikey.New(store, apikey.WithLastUsedFlushInterval(-1))
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		benchFixture.store = store
		benchFixture.plaintexts = make([]string, benchKeys)
		benchFixture.baseline = make(map[string][sha256.Size]byte, benchKeys)
		for i := range benchKeys {
			k, plaintext, err := m.Issue(context.Background(), apikey.IssueRequest{Name: "bench", Groups: []string{"read"}, CreatedBy: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			benchFixture.plaintexts[i] = plaintext
			benchFixture.baseline[k.LookupID] = sha256.Sum256([]byte(plaintext))
		}
	})
}

// keyOrder returns the indexes of the keys to verify: the same key over and
// over (hot: everything in CPU caches) or a random walk over all of them
// (cold: every lookup misses the CPU caches, as in a large service).
func keyOrder(hot bool) []int {
	order := make([]int, 1<<16)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range order {
		if !hot {
			order[i] = r.IntN(benchKeys)
		}
	}
	return order
}

// BenchmarkVerify measures Manager.Verify on memstore holding 1,000,000
// keys; BenchmarkVerifyBaseline measures the raw work in the same run.
func BenchmarkVerify(b *testing.B) {
	loadBenchFixture(b)
	for _, tc := range []struct {
		name string
		hot  bool
		opts []apikey.Option
	}{
		{"hot", true, nil},
		{"cold", false, nil},
		{"cache/hot", true, []apikey.Option{apikey.WithVerifyCache(apikey.VerifyCache{TTL: time.Minute})}},
		// The change feed costs a cached verification one atomic load.
		{"cache+feed/hot", true, []apikey.Option{apikey.WithVerifyCache(apikey.VerifyCache{TTL: time.Minute, FollowChanges: true, FeedMaxStale: time.Hour})}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m, err := apikey.New(benchFixture.store, append(tc.opts, apikey.WithLastUsedFlushInterval(-1))...)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			for m.Stats().FeedSuccesses == 0 && tc.name == "cache+feed/hot" {
				time.Sleep(time.Millisecond) // the feed's first poll
			}
			order := keyOrder(tc.hot)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := m.Verify(ctx, benchFixture.plaintexts[order[i&(len(order)-1)]]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyBaseline(b *testing.B) {
	loadBenchFixture(b)
	for _, tc := range []struct {
		name string
		hot  bool
	}{{"hot", true}, {"cold", false}} {
		b.Run(tc.name, func(b *testing.B) {
			order := keyOrder(tc.hot)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if !verifyBaseline(benchFixture.plaintexts[order[i&(len(order)-1)]]) {
					b.Fatal("baseline failed")
				}
			}
		})
	}
}

// verifyBaseline is the least any verification can do, and allocates
// nothing: one SHA-256 of the key, one map lookup by lookup ID, one
// constant-time compare. It is a function of its own so that callgrind can
// count its instructions (see docs/performance.md).
//
//go:noinline
func verifyBaseline(key string) bool {
	// Copied to the stack: []byte(key) would escape to the heap.
	var buf [256]byte
	sum := sha256.Sum256(buf[:copy(buf[:], key)])
	want, ok := benchFixture.baseline[key[3:15]]
	return ok && subtle.ConstantTimeCompare(sum[:], want[:]) == 1
}

// BenchmarkVerifyParallel runs Verify hot (memstore, one key) and its
// baseline from every goroutine of b.RunParallel: run it with -cpu 1,2,4
// to compare how each scales with cores. Verify takes no lock that every
// verification shares (the recorder of uses and the hot counters are
// sharded), so its scaling follows the baseline's.
func BenchmarkVerifyParallel(b *testing.B) {
	loadBenchFixture(b)
	m, err := apikey.New(benchFixture.store, apikey.WithLastUsedFlushInterval(-1))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	key := benchFixture.plaintexts[0]
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				if _, err := m.Verify(ctx, key); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !verifyBaseline(key) {
					b.Error("baseline failed")
					return
				}
			}
		})
	})
}

// BenchmarkIssue measures issuing a key with the default hasher into
// memstore; BenchmarkIssueBaseline is the least issuing can do: 43 random
// base62 characters and one SHA-256.
func BenchmarkIssue(b *testing.B) {
	m, err := apikey.New(memstore.New(), apikey.WithLastUsedFlushInterval(-1))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	req := apikey.IssueRequest{Name: "bench", Groups: []string{"read", "write"}, CreatedBy: "bench"}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := m.Issue(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssueBaseline(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var raw [48]byte
		cryptoRead(raw[:])
		key := make([]byte, 0, 64)
		key = append(key, "ak_"...)
		for _, c := range raw[:46] {
			key = append(key, base62[c%62])
		}
		_ = sha256.Sum256(key)
	}
}

// BenchmarkHashers compares the cost of verifying with each Hasher, the
// price paid per request without the verification cache.
func BenchmarkHashers(b *testing.B) {
	const key = "ak_0123456789ABcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
	hmacHasher, _ := apikey.NewHMACHasher("k1", make([]byte, 32))
	for name, h := range map[string]apikey.Hasher{
		"sha256":   apikey.SHA256Hasher{},
		"hmac":     hmacHasher,
		"argon2id": apikey.Argon2idHasher{},
		"bcrypt":   apikey.BcryptHasher{},
	} {
		encoded, err := h.Hash(key)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, _ := h.Verify(key, encoded); !ok {
					b.Fatal("no match")
				}
			}
		})
	}
}

func cryptoRead(b []byte) { cryptorand.Read(b) }
