package apikey_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIssueAndVerify(t *testing.T) {
	clock := newFakeClock()
	m := newManager(t, memstore.New(), apikey.WithPrefix("acme_live"), apikey.WithClock(clock.Now))
	ctx := context.Background()

	k, plaintext, err := m.Issue(ctx, apikey.IssueRequest{Name: "CI deploy", Groups: []string{"write", "read", "read"}, CreatedBy: "alice"})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(plaintext, "acme_live_"))
	assert.Equal(t, []string{"read", "write"}, k.Groups, "groups sorted, duplicates collapsed")
	assert.True(t, k.Active)
	assert.Equal(t, "alice", k.CreatedBy)
	assert.Equal(t, clock.Now(), k.CreatedAt)
	assert.Equal(t, time.UTC, k.CreatedAt.Location())
	assert.Nil(t, k.LastUsedAt)
	assert.Equal(t, uuid.Version(7), k.ID.Version())
	assert.NotContains(t, k.Hash, plaintext)
	assert.NotContains(t, k.Preview, plaintext[len("acme_live_")+4:len(plaintext)-4], "the preview hides the middle")
	assert.True(t, strings.HasPrefix(k.Preview, plaintext[:len("acme_live_")+4]))
	assert.True(t, strings.HasSuffix(k.Preview, plaintext[len(plaintext)-4:]))

	got, err := m.Verify(ctx, plaintext)
	require.NoError(t, err)
	assert.Equal(t, k.ID, got.ID)
	assert.Equal(t, k.Groups, got.Groups)
}

func TestIssueValidation(t *testing.T) {
	m := newManager(t, memstore.New(), apikey.WithGroups(apikey.Group{Name: "read"}, apikey.Group{Name: "write"}))
	ctx := context.Background()
	tooMany := make([]string, apikey.MaxGroups+1)
	for i := range tooMany {
		tooMany[i] = "g" + strings.Repeat("x", i)
	}
	cases := []struct {
		name string
		req  apikey.IssueRequest
		want error
	}{
		{"empty name", apikey.IssueRequest{Groups: []string{"read"}, CreatedBy: "a"}, apikey.ErrInvalidName},
		{"blank name", apikey.IssueRequest{Name: "  \u00a0 ", Groups: []string{"read"}, CreatedBy: "a"}, apikey.ErrInvalidName},
		{"256 characters", apikey.IssueRequest{Name: strings.Repeat("é", 256), Groups: []string{"read"}, CreatedBy: "a"}, apikey.ErrInvalidName},
		{"invalid UTF-8", apikey.IssueRequest{Name: "bad\xff", Groups: []string{"read"}, CreatedBy: "a"}, apikey.ErrInvalidName},
		{"newline", apikey.IssueRequest{Name: "a\nb", Groups: []string{"read"}, CreatedBy: "a"}, apikey.ErrInvalidName},
		{"NUL", apikey.IssueRequest{Name: "a\x00b", Groups: []string{"read"}, CreatedBy: "a"}, apikey.ErrInvalidName},
		{"DEL", apikey.IssueRequest{Name: "a\x7fb", Groups: []string{"read"}, CreatedBy: "a"}, apikey.ErrInvalidName},
		{"bidi override", apikey.IssueRequest{Name: "abc\u202edcb", Groups: []string{"read"}, CreatedBy: "a"}, apikey.ErrInvalidName},
		{"no groups", apikey.IssueRequest{Name: "n", CreatedBy: "a"}, apikey.ErrInvalidGroup},
		{"empty group", apikey.IssueRequest{Name: "n", Groups: []string{""}, CreatedBy: "a"}, apikey.ErrInvalidGroup},
		{"group with space", apikey.IssueRequest{Name: "n", Groups: []string{"read all"}, CreatedBy: "a"}, apikey.ErrInvalidGroup},
		{"group with percent", apikey.IssueRequest{Name: "n", Groups: []string{"read%"}, CreatedBy: "a"}, apikey.ErrInvalidGroup},
		{"Unicode look-alike group", apikey.IssueRequest{Name: "n", Groups: []string{"rеad"}, CreatedBy: "a"}, apikey.ErrInvalidGroup},
		{"group too long", apikey.IssueRequest{Name: "n", Groups: []string{strings.Repeat("g", 129)}, CreatedBy: "a"}, apikey.ErrInvalidGroup},
		{"too many groups", apikey.IssueRequest{Name: "n", Groups: tooMany, CreatedBy: "a"}, apikey.ErrInvalidGroup},
		{"unregistered group", apikey.IssueRequest{Name: "n", Groups: []string{"read", "admin"}, CreatedBy: "a"}, apikey.ErrUnknownGroup},
		{"case-folded group", apikey.IssueRequest{Name: "n", Groups: []string{"Read"}, CreatedBy: "a"}, apikey.ErrUnknownGroup},
		{"no creator", apikey.IssueRequest{Name: "n", Groups: []string{"read"}}, apikey.ErrInvalidName},
		{"expiry in the past", apikey.IssueRequest{Name: "n", Groups: []string{"read"}, CreatedBy: "a", ExpiresAt: time.Now().Add(-time.Minute)}, apikey.ErrInvalidExpiry},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, plaintext, err := m.Issue(ctx, tc.req)
			assert.ErrorIs(t, err, tc.want)
			assert.Nil(t, k)
			assert.Empty(t, plaintext)
		})
	}
	page, err := m.List(ctx, apikey.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, page.Keys, "a refused request stores nothing")
}

func TestNamesAreStoredVerbatim(t *testing.T) {
	m := newManager(t, memstore.New())
	for _, name := range []string{
		"'; DROP TABLE apikeys; --", "<script>alert(1)</script>", "100% _done_", "🔑 prod key 🚀",
		strings.Repeat("日", 255), " padded ",
	} {
		k, _ := issue(t, m, name, "read")
		got, err := m.Get(context.Background(), k.ID)
		require.NoError(t, err)
		assert.Equal(t, name, got.Name)
	}
}

func TestVerifyStatusAndExpiry(t *testing.T) {
	clock := newFakeClock()
	m := newManager(t, memstore.New(), apikey.WithClock(clock.Now))
	ctx := context.Background()

	k, plaintext, err := m.Issue(ctx, apikey.IssueRequest{Name: "n", Groups: []string{"read"}, CreatedBy: "a", ExpiresAt: clock.Now().Add(time.Hour)})
	require.NoError(t, err)
	_, err = m.Verify(ctx, plaintext)
	require.NoError(t, err)

	require.NoError(t, m.Deactivate(ctx, k.ID))
	_, err = m.Verify(ctx, plaintext)
	assert.ErrorIs(t, err, apikey.ErrInactive)
	assert.False(t, errors.Is(err, apikey.ErrInvalidKey))
	var refused *apikey.KeyError
	require.ErrorAs(t, err, &refused)
	assert.Equal(t, k.ID, refused.Key.ID, "the error names the refused key")

	require.NoError(t, m.Activate(ctx, k.ID))
	_, err = m.Verify(ctx, plaintext)
	require.NoError(t, err)

	clock.Advance(time.Hour)
	_, err = m.Verify(ctx, plaintext)
	assert.ErrorIs(t, err, apikey.ErrExpired)

	require.NoError(t, m.Delete(ctx, k.ID))
	_, err = m.Verify(ctx, plaintext)
	assert.ErrorIs(t, err, apikey.ErrInvalidKey)
	assert.ErrorIs(t, m.Delete(ctx, k.ID), apikey.ErrNotFound)
}

func TestStoreFailureIsNotAnInvalidKey(t *testing.T) {
	store := newCountingStore()
	m := newManager(t, store)
	_, plaintext := issue(t, m, "n", "read")
	store.failing.Store(true)
	k, err := m.Verify(context.Background(), plaintext)
	assert.Nil(t, k)
	assert.ErrorIs(t, err, apikey.ErrStoreFailure)
	for _, sentinel := range []error{apikey.ErrInvalidKey, apikey.ErrInactive, apikey.ErrExpired, apikey.ErrNotFound} {
		assert.False(t, errors.Is(err, sentinel), "store failure reported as %v", sentinel)
	}
	assert.NotContains(t, err.Error(), plaintext)
}

func TestManageKeys(t *testing.T) {
	clock := newFakeClock()
	m := newManager(t, memstore.New(), apikey.WithClock(clock.Now))
	ctx := context.Background()
	k, plaintext := issue(t, m, "old", "read")

	clock.Advance(time.Minute)
	require.NoError(t, m.Rename(ctx, k.ID, "new"))
	require.NoError(t, m.SetGroups(ctx, k.ID, []string{"write", "read", "write"}))
	got, err := m.Get(ctx, k.ID)
	require.NoError(t, err)
	assert.Equal(t, "new", got.Name)
	assert.Equal(t, []string{"read", "write"}, got.Groups)
	assert.Equal(t, clock.Now(), got.UpdatedAt)
	assert.Equal(t, k.CreatedAt, got.CreatedAt)

	v, err := m.Verify(ctx, plaintext)
	require.NoError(t, err)
	assert.Equal(t, []string{"read", "write"}, v.Groups, "new groups apply to the next request")

	assert.ErrorIs(t, m.Rename(ctx, k.ID, ""), apikey.ErrInvalidName)
	assert.ErrorIs(t, m.SetGroups(ctx, k.ID, nil), apikey.ErrInvalidGroup)
	missing := uuid.Must(uuid.NewV7())
	assert.ErrorIs(t, m.Rename(ctx, missing, "x"), apikey.ErrNotFound)
	assert.ErrorIs(t, m.SetGroups(ctx, missing, []string{"read"}), apikey.ErrNotFound)
	assert.ErrorIs(t, m.Activate(ctx, missing), apikey.ErrNotFound)
	assert.ErrorIs(t, m.Deactivate(ctx, missing), apikey.ErrNotFound)
	_, err = m.Get(ctx, missing)
	assert.ErrorIs(t, err, apikey.ErrNotFound)
}

func TestActorCannotEscalate(t *testing.T) {
	m := newManager(t, memstore.New())
	ctx := context.Background()
	admin, _ := issue(t, m, "root's key", "admin", "billing")
	reader, _ := issue(t, m, "reader", "read")

	actor := apikey.NewActorContext(ctx, apikey.Actor{Name: "bob", Groups: []string{"read", "keys:admin"}})
	_, _, err := m.Issue(actor, apikey.IssueRequest{Name: "n", Groups: []string{"read", "admin"}})
	assert.ErrorIs(t, err, apikey.ErrEscalation)

	k, _, err := m.Issue(actor, apikey.IssueRequest{Name: "n", Groups: []string{"read"}, CreatedBy: "forged"})
	require.NoError(t, err)
	assert.Equal(t, "bob", k.CreatedBy, "the actor's name is recorded, not the request's")

	assert.ErrorIs(t, m.SetGroups(actor, reader.ID, []string{"read", "admin"}), apikey.ErrEscalation)
	for name, op := range map[string]func() error{
		"rename":     func() error { return m.Rename(actor, admin.ID, "pwned") },
		"set groups": func() error { return m.SetGroups(actor, admin.ID, []string{"read"}) },
		"deactivate": func() error { return m.Deactivate(actor, admin.ID) },
		"activate":   func() error { return m.Activate(actor, admin.ID) },
		"delete":     func() error { return m.Delete(actor, admin.ID) },
	} {
		assert.ErrorIs(t, op(), apikey.ErrEscalation, name)
	}
	got, err := m.Get(ctx, admin.ID)
	require.NoError(t, err)
	assert.Equal(t, "root's key", got.Name)
	assert.Equal(t, []string{"admin", "billing"}, got.Groups)
	assert.True(t, got.Active)

	require.NoError(t, m.Rename(actor, reader.ID, "renamed"), "keys within the actor's groups can be changed")
	require.NoError(t, m.Deactivate(actor, reader.ID))
}

func TestListPaginates(t *testing.T) {
	clock := newFakeClock()
	m := newManager(t, memstore.New(), apikey.WithClock(clock.Now))
	ctx := context.Background()
	var want []uuid.UUID
	for i := range 23 {
		group := "even"
		if i%2 == 1 {
			group = "odd"
		}
		k, _ := issue(t, m, "k", group)
		want = append(want, k.ID)
		if i%3 == 0 {
			clock.Advance(time.Second) // some keys share a creation time
		}
	}
	require.NoError(t, m.Deactivate(ctx, want[4]))

	var got []uuid.UUID
	opts := apikey.ListOptions{Limit: 5}
	pages := 0
	for {
		page, err := m.List(ctx, opts)
		require.NoError(t, err)
		pages++
		for _, k := range page.Keys {
			got = append(got, k.ID)
		}
		if page.Next == "" {
			break
		}
		opts.Cursor = page.Next
	}
	assert.Equal(t, want, got)
	assert.Equal(t, 5, pages)

	page, err := m.List(ctx, apikey.ListOptions{Group: "even", Status: apikey.StatusActive})
	require.NoError(t, err)
	assert.Len(t, page.Keys, 11)
	page, err = m.List(ctx, apikey.ListOptions{Status: apikey.StatusInactive})
	require.NoError(t, err)
	require.Len(t, page.Keys, 1)
	assert.Equal(t, want[4], page.Keys[0].ID)

	_, err = m.List(ctx, apikey.ListOptions{Cursor: "not a cursor"})
	assert.ErrorIs(t, err, apikey.ErrInvalidCursor)
	_, err = m.List(ctx, apikey.ListOptions{Group: "a%"})
	assert.ErrorIs(t, err, apikey.ErrInvalidGroup)
	_, err = m.List(ctx, apikey.ListOptions{Limit: apikey.MaxListLimit + 1})
	assert.Error(t, err)
}

func TestLastUsedIsBatched(t *testing.T) {
	clock := newFakeClock()
	store := newCountingStore()
	m := newManager(t, store, apikey.WithClock(clock.Now))
	ctx := context.Background()
	keys := make([]*apikey.Key, 10)
	plaintexts := make([]string, 10)
	for i := range keys {
		keys[i], plaintexts[i] = issue(t, m, "k", "read")
	}
	for i := range 10_000 {
		if i%1000 == 0 {
			clock.Advance(time.Second)
		}
		_, err := m.Verify(ctx, plaintexts[i%10])
		require.NoError(t, err)
	}
	require.NoError(t, m.Flush(ctx))
	assert.Equal(t, int64(1), store.recordLastUsed.Load(), "10,000 uses flush as one batch")
	for _, k := range keys {
		got, err := m.Get(ctx, k.ID)
		require.NoError(t, err)
		require.NotNil(t, got.LastUsedAt)
		assert.Equal(t, clock.Now(), *got.LastUsedAt)
	}
	require.NoError(t, m.Flush(ctx))
	assert.Equal(t, int64(1), store.recordLastUsed.Load(), "nothing pending, nothing written")

	// A failed flush keeps the uses for the next one.
	clock.Advance(time.Second)
	_, err := m.Verify(ctx, plaintexts[0])
	require.NoError(t, err)
	store.failing.Store(true)
	assert.ErrorIs(t, m.Flush(ctx), apikey.ErrStoreFailure)
	store.failing.Store(false)
	require.NoError(t, m.Close())
	got, err := store.Get(ctx, keys[0].ID)
	require.NoError(t, err)
	assert.Equal(t, clock.Now(), *got.LastUsedAt, "Close flushed the use kept from the failed flush")
	assert.NoError(t, m.Close(), "Close twice")
	_, err = m.Verify(ctx, plaintexts[0])
	assert.ErrorIs(t, err, apikey.ErrClosed)
}

func TestBackgroundFlushStopsOnClose(t *testing.T) {
	store := newCountingStore()
	m, err := apikey.New(store, apikey.WithLastUsedFlushInterval(time.Millisecond))
	require.NoError(t, err)
	_, plaintext, err := m.Issue(context.Background(), apikey.IssueRequest{Name: "n", Groups: []string{"g"}, CreatedBy: "a"})
	require.NoError(t, err)
	_, err = m.Verify(context.Background(), plaintext)
	require.NoError(t, err)
	assert.Eventually(t, func() bool { return store.recordLastUsed.Load() == 1 }, 5*time.Second, time.Millisecond)
	require.NoError(t, m.Close())
	n := store.calls.Load()
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, n, store.calls.Load(), "no store call after Close")
}

func TestConcurrentVerifyAndDeactivate(t *testing.T) {
	for _, cached := range []bool{false, true} {
		t.Run(map[bool]string{false: "no cache", true: "cache"}[cached], func(t *testing.T) {
			var opts []apikey.Option
			if cached {
				opts = append(opts, apikey.WithVerifyCache(apikey.VerifyCache{TTL: time.Hour}))
			}
			m := newManager(t, memstore.New(), opts...)
			ctx := context.Background()
			k, plaintext := issue(t, m, "n", "read")
			var deactivated sync.WaitGroup
			deactivated.Add(1)
			var done bool
			var mu sync.Mutex
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						mu.Lock()
						after := done
						mu.Unlock()
						_, err := m.Verify(ctx, plaintext)
						if after {
							assert.ErrorIs(t, err, apikey.ErrInactive, "a verification that started after Deactivate returned succeeded")
							return
						}
					}
				}()
			}
			time.Sleep(5 * time.Millisecond)
			require.NoError(t, m.Deactivate(ctx, k.ID))
			mu.Lock()
			done = true
			mu.Unlock()
			wg.Wait()
		})
	}
}

func TestVerifyCacheSkipsTheStore(t *testing.T) {
	clock := newFakeClock()
	store := newCountingStore()
	m := newManager(t, store, apikey.WithClock(clock.Now), apikey.WithVerifyCache(apikey.VerifyCache{TTL: 10 * time.Second}))
	ctx := context.Background()
	k, plaintext := issue(t, m, "n", "read")

	_, err := m.Verify(ctx, plaintext)
	require.NoError(t, err)
	before := store.calls.Load()
	for range 100 {
		_, err := m.Verify(ctx, plaintext)
		require.NoError(t, err)
	}
	assert.Equal(t, before, store.calls.Load(), "cache hits make no store call")
	got, err := m.Verify(ctx, plaintext)
	require.NoError(t, err)
	assert.Equal(t, []string{"read"}, got.Groups)

	wrong := withChecksum(plaintext[:15] + strings.Repeat("Q", len(plaintext)-21))
	_, err = m.Verify(ctx, wrong)
	assert.ErrorIs(t, err, apikey.ErrInvalidKey, "a cached lookup ID with another secret is refused")

	// A second Manager on the same store (another instance) deactivates:
	// the first sees it once its entry expires.
	other := newManager(t, store)
	require.NoError(t, other.Deactivate(ctx, k.ID))
	_, err = m.Verify(ctx, plaintext)
	assert.NoError(t, err, "within the TTL the cached entry still answers")
	clock.Advance(10 * time.Second)
	_, err = m.Verify(ctx, plaintext)
	assert.ErrorIs(t, err, apikey.ErrInactive, "after the TTL the change is seen")
}

func TestRehashOnVerify(t *testing.T) {
	store := memstore.New()
	ctx := context.Background()
	old := newManager(t, store, apikey.WithHasher(apikey.BcryptHasher{Cost: 4}))
	k, plaintext := issue(t, old, "n", "read")
	require.True(t, strings.HasPrefix(k.Hash, "$bcrypt-sha256$"))

	pepper := []byte(strings.Repeat("p", 32))
	hmacHasher, err := apikey.NewHMACHasher("v1", pepper)
	require.NoError(t, err)
	m := newManager(t, store, apikey.WithHasher(hmacHasher))
	_, err = m.Verify(ctx, plaintext)
	require.NoError(t, err)
	got, err := store.Get(ctx, k.ID)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(got.Hash, "$hmac-sha256$k=v1$"), "upgraded to the current hasher")
	_, err = m.Verify(ctx, plaintext)
	require.NoError(t, err)

	// With the pepper removed from the configuration the key cannot be
	// checked: that is a server fault, never "invalid key".
	_, err = old.Verify(ctx, plaintext)
	assert.ErrorIs(t, err, apikey.ErrUnsupportedHash)
	assert.False(t, errors.Is(err, apikey.ErrInvalidKey))

	// Rotating the pepper: the old hasher verifies, the new one re-hashes.
	newer, err := apikey.NewHMACHasher("v2", []byte(strings.Repeat("q", 32)))
	require.NoError(t, err)
	rotated := newManager(t, store, apikey.WithHasher(newer), apikey.WithVerifyHashers(hmacHasher))
	_, err = rotated.Verify(ctx, plaintext)
	require.NoError(t, err)
	got, err = store.Get(ctx, k.ID)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(got.Hash, "$hmac-sha256$k=v2$"))
}

func TestOptionsRefuseBadValues(t *testing.T) {
	store := memstore.New()
	for name, opt := range map[string]apikey.Option{
		"prefix upper case":  apikey.WithPrefix("SK"),
		"prefix too long":    apikey.WithPrefix(strings.Repeat("a", 17)),
		"prefix empty":       apikey.WithPrefix(""),
		"prefix underscore":  apikey.WithPrefix("sk_"),
		"secret bits 127":    apikey.WithSecretBits(127),
		"nil hasher":         apikey.WithHasher(nil),
		"nil clock":          apikey.WithClock(nil),
		"bad group":          apikey.WithGroups(apikey.Group{Name: "a b"}),
		"negative cache TTL": apikey.WithVerifyCache(apikey.VerifyCache{TTL: -time.Second}),
	} {
		_, err := apikey.New(store, opt)
		assert.Error(t, err, name)
	}
	_, err := apikey.New(nil)
	assert.Error(t, err)
}

func TestSecretBits(t *testing.T) {
	for _, bits := range []int{128, 160, 256} {
		m := newManager(t, memstore.New(), apikey.WithSecretBits(bits))
		_, plaintext := issue(t, m, "n", "g")
		parts, err := apikey.ParseKey(plaintext)
		require.NoError(t, err)
		// Each base62 character carries log2(62) bits; the 4 characters the
		// preview shows are not counted.
		hidden := float64(len(parts.Secret))*5.954 - 4*5.954
		assert.GreaterOrEqual(t, hidden, float64(bits), "bits=%d", bits)
		_, err = m.Verify(context.Background(), plaintext)
		require.NoError(t, err)
	}
}

func TestGroupsRegistry(t *testing.T) {
	m := newManager(t, memstore.New(), apikey.WithGroups(apikey.Group{Name: "write", Description: "W"}, apikey.Group{Name: "read", Description: "R"}))
	assert.Equal(t, []apikey.Group{{Name: "read", Description: "R"}, {Name: "write", Description: "W"}}, m.Groups())
	assert.Nil(t, newManager(t, memstore.New()).Groups())
}

func TestKeyNeverSerialisesItsHash(t *testing.T) {
	m := newManager(t, memstore.New())
	k, plaintext := issue(t, m, "n", "read")
	b, err := json.Marshal(k)
	require.NoError(t, err)
	for _, secret := range []string{k.Hash, k.Hash[len("$sha256$"):], k.LookupID, plaintext} {
		assert.NotContains(t, string(b), secret)
	}
	assert.Contains(t, string(b), `"preview":"`+k.Preview+`"`)
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("key", "key", k)
	assert.NotContains(t, logged.String(), k.Hash)
	assert.NotContains(t, logged.String(), k.LookupID)
	assert.Contains(t, logged.String(), k.ID.String())
}

// interleavingStore runs a hook right after Get returns, once: the moment
// between the Manager's authorization of a change and the change itself.
type interleavingStore struct {
	apikey.Store
	afterGet func()
}

func (s *interleavingStore) Get(ctx context.Context, id uuid.UUID) (*apikey.Key, error) {
	k, err := s.Store.Get(ctx, id)
	if hook := s.afterGet; hook != nil {
		s.afterGet = nil
		hook()
	}
	return k, err
}

// A grant of more groups that lands between an actor's authorization and
// the change must not let the change through: the change is authorized
// again against the new groups, and refused.
func TestEscalationRaceIsRefused(t *testing.T) {
	ctx := context.Background()
	limited := apikey.NewActorContext(ctx, apikey.Actor{Name: "lim", Groups: []string{"x"}})
	for name, change := range map[string]func(m *apikey.Manager, id uuid.UUID) error{
		"rename":     func(m *apikey.Manager, id uuid.UUID) error { return m.Rename(limited, id, "renamed by lim") },
		"set groups": func(m *apikey.Manager, id uuid.UUID) error { return m.SetGroups(limited, id, []string{"x"}) },
		"activate":   func(m *apikey.Manager, id uuid.UUID) error { return m.Activate(limited, id) },
		"deactivate": func(m *apikey.Manager, id uuid.UUID) error { return m.Deactivate(limited, id) },
		"delete":     func(m *apikey.Manager, id uuid.UUID) error { return m.Delete(limited, id) },
	} {
		t.Run(name, func(t *testing.T) {
			store := &interleavingStore{Store: memstore.New()}
			m := newManager(t, store)
			k, _ := issue(t, m, "target", "x")
			store.afterGet = func() {
				// Another administrator, who holds "super", grants it now.
				require.NoError(t, m.SetGroups(ctx, k.ID, []string{"super", "x"}))
			}
			assert.ErrorIs(t, change(m, k.ID), apikey.ErrEscalation)
			got, err := m.Get(ctx, k.ID)
			require.NoError(t, err, "the key was deleted")
			assert.Equal(t, "target", got.Name)
			assert.Equal(t, []string{"super", "x"}, got.Groups)
			assert.True(t, got.Active)
		})
	}
}

// A change that raced with one that kept the key within the actor's groups
// is retried and succeeds.
func TestConflictIsRetried(t *testing.T) {
	ctx := context.Background()
	store := &interleavingStore{Store: memstore.New()}
	m := newManager(t, store)
	k, _ := issue(t, m, "target", "x", "y")
	store.afterGet = func() { require.NoError(t, m.SetGroups(ctx, k.ID, []string{"x"})) }
	actor := apikey.NewActorContext(ctx, apikey.Actor{Name: "lim", Groups: []string{"x", "y"}})
	require.NoError(t, m.Rename(actor, k.ID, "renamed"))
	got, err := m.Get(ctx, k.ID)
	require.NoError(t, err)
	assert.Equal(t, "renamed", got.Name)
}

func TestPrintingAKeyRedactsItsHash(t *testing.T) {
	m := newManager(t, memstore.New())
	k, _ := issue(t, m, "printed", "read")
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{k, *k} {
			out := fmt.Sprintf(format, v)
			assert.NotContains(t, out, k.Hash, format)
			assert.NotContains(t, out, k.LookupID, format)
			assert.Contains(t, out, "printed", format)
			assert.Contains(t, out, "[redacted]", format)
		}
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("key", "value", *k, "pointer", k)
	assert.NotContains(t, logged.String(), k.Hash)
	assert.NotContains(t, logged.String(), k.LookupID)
}

func TestListRefusesCursorsOutOfRange(t *testing.T) {
	m := newManager(t, memstore.New())
	for _, micros := range []int64{-1, -4611686018427387904, 253402300800000000} {
		var b [24]byte
		binary.BigEndian.PutUint64(b[:8], uint64(micros))
		_, err := m.List(context.Background(), apikey.ListOptions{Cursor: base64.RawURLEncoding.EncodeToString(b[:])})
		assert.ErrorIs(t, err, apikey.ErrInvalidCursor, "micros=%d", micros)
	}
}

// sliceHasher is a Hasher that is not comparable with ==.
type sliceHasher struct {
	apikey.SHA256Hasher
	_ []byte
}

func TestUncomparableHasher(t *testing.T) {
	m := newManager(t, memstore.New(), apikey.WithHasher(sliceHasher{}))
	_, plaintext := issue(t, m, "n", "read")
	_, err := m.Verify(context.Background(), plaintext)
	assert.NoError(t, err)
}
