package apikey_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func issueWith(t *testing.T, m *apikey.Manager, ctx context.Context, req apikey.IssueRequest) (*apikey.Key, string) {
	t.Helper()
	if req.CreatedBy == "" {
		req.CreatedBy = "tester"
	}
	k, plaintext, err := m.Issue(ctx, req)
	require.NoError(t, err)
	return k, plaintext
}

func TestRollKeepsBothKeysWorkingUntilTheGraceEnds(t *testing.T) {
	clock := newFakeClock()
	m := newManager(t, memstore.New(), apikey.WithClock(clock.Now))
	ctx := context.Background()
	old, oldText := issueWith(t, m, ctx, apikey.IssueRequest{Name: "ci", Groups: []string{"read", "write"}, Owner: "org-a", Metadata: map[string]string{"plan": "pro"}})

	clock.Advance(time.Hour)
	succ, succText, err := m.Roll(ctx, old.ID, apikey.RollRequest{Grace: 24 * time.Hour, CreatedBy: "ops"})
	require.NoError(t, err)
	assert.Equal(t, old.Owner, succ.Owner)
	assert.Equal(t, old.Name, succ.Name)
	assert.Equal(t, old.Groups, succ.Groups)
	assert.Equal(t, old.Metadata, succ.Metadata)
	assert.Equal(t, old.ID, succ.RolledFrom)
	assert.Nil(t, succ.ExpiresAt)
	assert.NotEqual(t, oldText, succText)

	stored, err := m.Get(ctx, old.ID)
	require.NoError(t, err)
	assert.Equal(t, succ.ID, stored.RolledTo)
	assert.True(t, stored.Rolled())
	end, ok := stored.EndsAt()
	assert.True(t, ok)
	assert.Equal(t, clock.Now().Add(24*time.Hour), end)

	for _, text := range []string{oldText, succText} {
		_, err := m.Verify(ctx, text)
		require.NoError(t, err, "both keys work during the grace period")
	}
	clock.Advance(24*time.Hour - time.Microsecond)
	_, err = m.Verify(ctx, oldText)
	require.NoError(t, err, "the old key works until the last microsecond of its grace")

	clock.Advance(time.Microsecond)
	_, err = m.Verify(ctx, oldText)
	assert.ErrorIs(t, err, apikey.ErrExpired, "past its grace the old key is refused as expired")
	var ke *apikey.KeyError
	require.ErrorAs(t, err, &ke)
	assert.Equal(t, old.ID, ke.Key.ID)
	k, err := m.Verify(ctx, succText)
	require.NoError(t, err)
	assert.Equal(t, succ.ID, k.ID)
}

func TestRollWithoutGraceStopsTheOldKeyAtOnce(t *testing.T) {
	for _, cached := range []bool{false, true} {
		clock := newFakeClock()
		opts := []apikey.Option{apikey.WithClock(clock.Now)}
		if cached {
			opts = append(opts, apikey.WithVerifyCache(apikey.VerifyCache{TTL: time.Minute}))
		}
		m := newManager(t, memstore.New(), opts...)
		ctx := context.Background()
		old, oldText := issue(t, m, "leaked", "read")
		_, err := m.Verify(ctx, oldText) // in the cache, if any
		require.NoError(t, err)
		_, succText, err := m.Roll(ctx, old.ID, apikey.RollRequest{CreatedBy: "ops"})
		require.NoError(t, err)
		_, err = m.Verify(ctx, oldText)
		assert.ErrorIs(t, err, apikey.ErrExpired, "cache %t", cached)
		_, err = m.Verify(ctx, succText)
		assert.NoError(t, err)
	}
}

func TestRollRules(t *testing.T) {
	clock := newFakeClock()
	m := newManager(t, memstore.New(), apikey.WithClock(clock.Now))
	ctx := context.Background()
	k, _ := issueWith(t, m, ctx, apikey.IssueRequest{Name: "k", Groups: []string{"read", "write"}, Owner: "org-a"})
	req := apikey.RollRequest{Grace: time.Hour, CreatedBy: "ops"}

	other := apikey.NewActorContext(ctx, apikey.Actor{Name: "b", Groups: []string{"read", "write"}, Owner: "org-b"})
	_, _, err := m.Roll(other, k.ID, req)
	assert.ErrorIs(t, err, apikey.ErrNotFound, "another owner's administrator")

	weak := apikey.NewActorContext(ctx, apikey.Actor{Name: "a", Groups: []string{"read"}, Owner: "org-a"})
	_, _, err = m.Roll(weak, k.ID, req)
	var esc *apikey.EscalationError
	require.ErrorAs(t, err, &esc)
	assert.Equal(t, []string{"write"}, esc.Missing)

	_, _, err = m.Roll(ctx, k.ID, apikey.RollRequest{Grace: -time.Second, CreatedBy: "ops"})
	var v *apikey.ValidationError
	require.ErrorAs(t, err, &v)
	assert.Equal(t, "Grace", v.Field)
	_, _, err = m.Roll(ctx, k.ID, apikey.RollRequest{})
	assert.ErrorIs(t, err, apikey.ErrInvalidName, "CreatedBy is required without an actor")
	_, _, err = m.Roll(ctx, uuid.New(), req)
	assert.ErrorIs(t, err, apikey.ErrNotFound)

	require.NoError(t, m.Deactivate(ctx, k.ID))
	_, _, err = m.Roll(ctx, k.ID, req)
	assert.ErrorIs(t, err, apikey.ErrInactive)
	require.NoError(t, m.Activate(ctx, k.ID))

	owner := apikey.NewActorContext(ctx, apikey.Actor{Name: "alice", Groups: []string{"read", "write"}, Owner: "org-a"})
	succ, _, err := m.Roll(owner, k.ID, req)
	require.NoError(t, err)
	assert.Equal(t, "alice", succ.CreatedBy)
	assert.Equal(t, "org-a", succ.Owner)
	_, _, err = m.Roll(owner, k.ID, req)
	assert.ErrorIs(t, err, apikey.ErrAlreadyRolled, "a key in its grace period is rolled once")
	clock.Advance(2 * time.Hour)
	_, _, err = m.Roll(owner, k.ID, req)
	assert.ErrorIs(t, err, apikey.ErrAlreadyRolled, "and after it")
	_, _, err = m.Roll(owner, succ.ID, req)
	assert.NoError(t, err, "the successor can be rolled")

	plain, err := apikey.New(plainStore{memstore.New()})
	require.NoError(t, err)
	defer plain.Close()
	_, _, err = plain.Roll(ctx, k.ID, req)
	assert.ErrorIs(t, err, errors.ErrUnsupported)
}

// plainStore hides the lifecycle methods of its Store.
type plainStore struct{ apikey.Store }

func TestRollNeverExtendsTheExpiry(t *testing.T) {
	clock := newFakeClock()
	m := newManager(t, memstore.New(), apikey.WithClock(clock.Now),
		apikey.WithExpiryPolicy(apikey.ExpiryPolicy{MaxLifetime: 30 * 24 * time.Hour}))
	ctx := context.Background()
	trial, _ := issueWith(t, m, ctx, apikey.IssueRequest{Name: "trial", Groups: []string{"read"}, ExpiresAt: clock.Now().Add(7 * 24 * time.Hour)})
	clock.Advance(24 * time.Hour)
	succ, _, err := m.Roll(ctx, trial.ID, apikey.RollRequest{Grace: time.Hour, CreatedBy: "ops"})
	require.NoError(t, err)
	require.NotNil(t, succ.ExpiresAt, "a trial key's successor is no permanent key")
	assert.Equal(t, *trial.ExpiresAt, *succ.ExpiresAt)

	// A longer life is asked for explicitly, within the policy.
	later := clock.Now().Add(20 * 24 * time.Hour)
	next, _, err := m.Roll(ctx, succ.ID, apikey.RollRequest{ExpiresAt: later, CreatedBy: "ops"})
	require.NoError(t, err)
	assert.Equal(t, later, *next.ExpiresAt)
	_, _, err = m.Roll(ctx, next.ID, apikey.RollRequest{ExpiresAt: clock.Now().Add(31 * 24 * time.Hour), CreatedBy: "ops"})
	assert.ErrorIs(t, err, apikey.ErrExpiryPolicy)

	clock.Advance(30 * 24 * time.Hour) // next has expired
	_, _, err = m.Roll(ctx, next.ID, apikey.RollRequest{CreatedBy: "ops"})
	assert.ErrorIs(t, err, apikey.ErrExpired, "an expired key is not rolled: its successor would outlive its lifetime")
	_, _, err = m.Roll(ctx, next.ID, apikey.RollRequest{ExpiresAt: clock.Now().Add(24 * time.Hour), CreatedBy: "ops"})
	assert.ErrorIs(t, err, apikey.ErrExpired, "not even with an expiry of its own")
}

// racingStore revokes a group of the key being rolled between the
// Manager's authorization and the Store's Roll, once.
type racingStore struct {
	*memstore.Store
	once sync.Once
}

func (s *racingStore) Roll(ctx context.Context, c apikey.Change, oldID uuid.UUID, successor *apikey.Key, graceEndsAt time.Time, guard *apikey.Guard) error {
	s.once.Do(func() {
		if err := s.Store.SetGroups(ctx, opAt(time.Now()), oldID, []string{"read"}, nil); err != nil {
			panic(err)
		}
	})
	return s.Store.Roll(ctx, c, oldID, successor, graceEndsAt, guard)
}

func TestRollDuringARevocationGivesNoMoreGroups(t *testing.T) {
	m := newManager(t, &racingStore{Store: memstore.New()})
	ctx := apikey.NewActorContext(context.Background(), apikey.Actor{Name: "admin", Groups: []string{"read", "write"}})
	k, _ := issueWith(t, m, ctx, apikey.IssueRequest{Name: "k", Groups: []string{"read", "write"}})
	succ, _, err := m.Roll(ctx, k.ID, apikey.RollRequest{Grace: time.Hour})
	require.NoError(t, err)
	assert.Equal(t, []string{"read"}, succ.Groups, "the successor has the groups the old key holds when the roll is made")
	stored, err := m.Get(ctx, succ.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"read"}, stored.Groups)
}

func TestExpiryPolicy(t *testing.T) {
	clock := newFakeClock()
	const day = 24 * time.Hour
	m := newManager(t, memstore.New(), apikey.WithClock(clock.Now),
		apikey.WithOwnerExpiryPolicy(func(owner string) apikey.ExpiryPolicy {
			switch owner {
			case "trial":
				return apikey.ExpiryPolicy{DefaultLifetime: 14 * day, MaxLifetime: 30 * day}
			case "strict":
				return apikey.ExpiryPolicy{MaxLifetime: 90 * day}
			case "broken":
				return apikey.ExpiryPolicy{DefaultLifetime: 2 * day, MaxLifetime: day}
			}
			return apikey.ExpiryPolicy{}
		}))
	ctx := context.Background()
	now := clock.Now()
	req := func(owner string, expires time.Time) apikey.IssueRequest {
		return apikey.IssueRequest{Name: "k", Groups: []string{"read"}, CreatedBy: "t", Owner: owner, ExpiresAt: expires}
	}

	k, _ := issueWith(t, m, ctx, req("trial", time.Time{}))
	assert.Equal(t, now.Add(14*day), *k.ExpiresAt, "the default lifetime")
	k, _ = issueWith(t, m, ctx, req("trial", now.Add(30*day)))
	assert.Equal(t, now.Add(30*day), *k.ExpiresAt, "the maximum itself")
	k, _ = issueWith(t, m, ctx, req("free", time.Time{}))
	assert.Nil(t, k.ExpiresAt, "no policy, no expiry")

	for _, tc := range []struct {
		owner   string
		expires time.Time
	}{
		{"trial", now.Add(30*day + time.Microsecond)},
		{"strict", time.Time{}},
		{"strict", now.Add(91 * day)},
	} {
		_, _, err := m.Issue(ctx, req(tc.owner, tc.expires))
		var v *apikey.ValidationError
		require.ErrorAs(t, err, &v, "%s %v", tc.owner, tc.expires)
		assert.ErrorIs(t, err, apikey.ErrExpiryPolicy)
		assert.Equal(t, "ExpiresAt", v.Field)
		assert.Contains(t, v.Reason, "expiry policy (")
		assert.Contains(t, v.Reason, "maximum lifetime ")
	}
	_, _, err := m.Issue(ctx, req("broken", time.Time{}))
	assert.Error(t, err, "an invalid policy fails closed")
	_, err = m.ExpiryPolicy("broken")
	assert.Error(t, err)
	p, err := m.ExpiryPolicy("trial")
	require.NoError(t, err)
	assert.Equal(t, "default lifetime 14d, maximum lifetime 30d", p.String())

	_, err = apikey.New(memstore.New(), apikey.WithExpiryPolicy(apikey.ExpiryPolicy{DefaultLifetime: 2 * day, MaxLifetime: day}))
	assert.Error(t, err)
	_, err = apikey.New(memstore.New(), apikey.WithExpiryPolicy(apikey.ExpiryPolicy{MaxLifetime: -1}))
	assert.Error(t, err)
}

func TestExpiryBounds(t *testing.T) {
	m := newManager(t, memstore.New())
	ctx := context.Background()
	minus1 := time.FixedZone("-01:00", -3600)
	plus2 := time.FixedZone("+02:00", 7200)
	for _, tc := range []struct {
		name    string
		expires time.Time
		ok      bool
	}{
		{"the last microsecond", time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), true},
		{"the last microsecond, written at +02:00", time.Date(10000, 1, 1, 1, 59, 59, 999999000, plus2), true},
		{"a nanosecond later", time.Date(9999, 12, 31, 23, 59, 59, 999999001, time.UTC), false},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"9999-12-31T23:30 at -01:00", time.Date(9999, 12, 31, 23, 30, 0, 0, minus1), false},
		{"far future", time.Date(292277026596, 12, 4, 15, 30, 7, 0, time.UTC), false},
	} {
		k, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "k", Groups: []string{"read"}, CreatedBy: "t", ExpiresAt: tc.expires})
		if tc.ok {
			require.NoError(t, err, tc.name)
			assert.Equal(t, time.UTC, k.ExpiresAt.Location())
			continue
		}
		assert.ErrorIs(t, err, apikey.ErrInvalidExpiry, tc.name)
		assert.Nil(t, k, tc.name)
	}
	assert.ErrorIs(t, apikey.ValidateExpiry(time.Time{}, time.Now()), apikey.ErrInvalidExpiry, "the zero instant")
	assert.ErrorIs(t, apikey.ValidateExpiry(time.Time{}.In(plus2), time.Now()), apikey.ErrInvalidExpiry, "the zero instant at +02:00")
	page, err := m.List(ctx, apikey.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, page.Keys, 2, "only the keys within bounds were stored")
}

func TestSetExpiry(t *testing.T) {
	clock := newFakeClock()
	const day = 24 * time.Hour
	m := newManager(t, memstore.New(), apikey.WithClock(clock.Now),
		apikey.WithExpiryPolicy(apikey.ExpiryPolicy{MaxLifetime: 30 * day}))
	ctx := context.Background()
	k, text := issueWith(t, m, ctx, apikey.IssueRequest{Name: "k", Groups: []string{"read", "write"}, ExpiresAt: clock.Now().Add(day), Owner: "org-a"})
	clock.Advance(10 * day) // expired
	_, err := m.Verify(ctx, text)
	require.ErrorIs(t, err, apikey.ErrExpired)

	require.NoError(t, m.SetExpiry(ctx, k.ID, k.CreatedAt.Add(30*day)))
	_, err = m.Verify(ctx, text)
	assert.NoError(t, err, "a renewed key works again")
	assert.ErrorIs(t, m.SetExpiry(ctx, k.ID, k.CreatedAt.Add(30*day+time.Second)), apikey.ErrExpiryPolicy, "the maximum counts from the key's creation")
	assert.ErrorIs(t, m.SetExpiry(ctx, k.ID, time.Time{}), apikey.ErrExpiryPolicy, "no expiry under a maximum")
	assert.ErrorIs(t, m.SetExpiry(ctx, k.ID, clock.Now()), apikey.ErrInvalidExpiry)

	other := apikey.NewActorContext(ctx, apikey.Actor{Name: "b", Groups: []string{"read", "write"}, Owner: "org-b"})
	assert.ErrorIs(t, m.SetExpiry(other, k.ID, clock.Now().Add(day)), apikey.ErrNotFound)
	weak := apikey.NewActorContext(ctx, apikey.Actor{Name: "a", Groups: []string{"read"}, Owner: "org-a"})
	assert.ErrorIs(t, m.SetExpiry(weak, k.ID, clock.Now().Add(day)), apikey.ErrEscalation)
	stored, err := m.Get(ctx, k.ID)
	require.NoError(t, err)
	assert.Equal(t, k.CreatedAt.Add(30*day), *stored.ExpiresAt, "refused changes changed nothing")
}

func TestPrune(t *testing.T) {
	clock := newFakeClock()
	m := newManager(t, memstore.New(), apikey.WithClock(clock.Now))
	ctx := context.Background()
	const day = 24 * time.Hour
	var old []uuid.UUID
	for i := range 7 {
		owner := "org-a"
		if i%2 == 1 {
			owner = "org-b"
		}
		k, _ := issueWith(t, m, ctx, apikey.IssueRequest{Name: "expiring", Groups: []string{"read"}, Owner: owner, ExpiresAt: clock.Now().Add(day)})
		old = append(old, k.ID)
	}
	rolled, _ := issueWith(t, m, ctx, apikey.IssueRequest{Name: "rolled", Groups: []string{"read"}, Owner: "org-a"})
	succ, _, err := m.Roll(ctx, rolled.ID, apikey.RollRequest{CreatedBy: "ops"})
	require.NoError(t, err)
	old = append(old, rolled.ID)
	fresh, _ := issueWith(t, m, ctx, apikey.IssueRequest{Name: "fresh", Groups: []string{"read"}, Owner: "org-a", ExpiresAt: clock.Now().Add(60 * day)})
	slices.SortFunc(old, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })

	clock.Advance(20 * day)
	keys, err := m.Prune(ctx, apikey.PruneOptions{OlderThan: 30 * day})
	require.NoError(t, err)
	assert.Empty(t, keys, "nothing stopped 30 days ago")

	keys, err = m.Prune(ctx, apikey.PruneOptions{OlderThan: 7 * day, DryRun: true, BatchSize: 2})
	require.NoError(t, err)
	assert.Equal(t, old, keyIDs(keys), "the dry run lists every stopped key, in batches")
	page, err := m.List(ctx, apikey.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, page.Keys, 10, "the dry run deleted nothing")

	orgB := apikey.NewActorContext(ctx, apikey.Actor{Name: "b", Owner: "org-b"})
	keys, err = m.Prune(orgB, apikey.PruneOptions{Owner: "org-a"})
	require.NoError(t, err)
	assert.Empty(t, keys, "an administrator of org-b prunes nothing of org-a")
	keys, err = m.Prune(orgB, apikey.PruneOptions{BatchSize: 1})
	require.NoError(t, err)
	assert.Len(t, keys, 3)
	for _, k := range keys {
		assert.Equal(t, "org-b", k.Owner)
	}
	keys, err = m.Prune(ctx, apikey.PruneOptions{BatchSize: 2})
	require.NoError(t, err)
	assert.Len(t, keys, 5, "the rest, every owner")
	page, err = m.List(ctx, apikey.ListOptions{})
	require.NoError(t, err)
	assert.ElementsMatch(t, []uuid.UUID{succ.ID, fresh.ID}, keyIDs(page.Keys))

	_, err = m.Prune(ctx, apikey.PruneOptions{BatchSize: apikey.MaxPruneBatch + 1})
	assert.Error(t, err)
	_, err = m.Prune(ctx, apikey.PruneOptions{OlderThan: -time.Second})
	assert.Error(t, err)
}

func keyIDs(keys []*apikey.Key) []uuid.UUID {
	out := make([]uuid.UUID, len(keys))
	for i, k := range keys {
		out[i] = k.ID
	}
	return out
}
