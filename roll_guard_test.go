package apikey_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/memstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shortenDuringRoll is a memstore whose Roll first lets a concurrent
// administrator shorten the old key's expiry (committed before the roll's
// own transaction/lock), as happens when SetExpiry lands between
// authorizeRoll's Get and the Store's Roll.
type shortenDuringRoll struct {
	*memstore.Store
	to   time.Time
	once bool
}

func (s *shortenDuringRoll) Roll(ctx context.Context, c apikey.Change, oldID uuid.UUID, successor *apikey.Key, graceEndsAt time.Time, guard *apikey.Guard) error {
	if !s.once {
		s.once = true
		if err := s.Store.SetExpiresAt(ctx, opAt(time.Now()), oldID, &s.to, nil); err != nil {
			return err
		}
	}
	return s.Store.Roll(ctx, c, oldID, successor, graceEndsAt, guard)
}

// A concurrent SetExpiry that shortens the old key's expiry between the
// authorization of a roll and the roll must not leave the successor with the
// longer expiry the old key no longer has.
func TestRollSuccessorNeverOutlivesAShortenedExpiry(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	store := &shortenDuringRoll{Store: memstore.New(), to: now.Add(time.Hour)}
	m, err := apikey.New(store, apikey.WithLastUsedFlushInterval(-1))
	require.NoError(t, err)
	defer m.Close()
	k, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "trial", Groups: []string{"read"}, CreatedBy: "t", ExpiresAt: now.Add(30 * 24 * time.Hour)})
	require.NoError(t, err)

	succ, _, err := m.Roll(ctx, k.ID, apikey.RollRequest{Grace: time.Minute, CreatedBy: "t"})
	require.NoError(t, err)
	old, err := m.Get(ctx, k.ID)
	require.NoError(t, err)
	require.NotNil(t, old.ExpiresAt)
	require.NotNil(t, succ.ExpiresAt)
	assert.False(t, succ.ExpiresAt.After(*old.ExpiresAt),
		"successor expires %v, later than the old key's expiry at the roll %v", succ.ExpiresAt, old.ExpiresAt)
}

// An expired key (not rolled, not deactivated) is not rolled, not even
// with an explicit expiry: its successor would outlive the maximum lifetime
// counted from the roll.
func TestRollRefusesAnExpiredKey(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	m, err := apikey.New(memstore.New(), apikey.WithLastUsedFlushInterval(-1), apikey.WithClock(clock.Now),
		apikey.WithExpiryPolicy(apikey.ExpiryPolicy{MaxLifetime: 30 * 24 * time.Hour}))
	require.NoError(t, err)
	defer m.Close()
	k, plaintext, err := m.Issue(ctx, apikey.IssueRequest{Name: "trial", Groups: []string{"read"}, CreatedBy: "t", ExpiresAt: clock.Now().Add(24 * time.Hour)})
	require.NoError(t, err)
	clock.Advance(48 * time.Hour)
	_, err = m.Verify(ctx, plaintext)
	require.True(t, errors.Is(err, apikey.ErrExpired))
	// SetExpiry cannot take it past creation + 30d ...
	err = m.SetExpiry(ctx, k.ID, clock.Now().Add(29*24*time.Hour))
	require.Error(t, err)
	// ... Roll gives an expired key a working successor for another 30 days.
	succ, _, err := m.Roll(ctx, k.ID, apikey.RollRequest{CreatedBy: "t", ExpiresAt: clock.Now().Add(29 * 24 * time.Hour)})
	assert.Error(t, err, "an expired key was rolled into %v expiring %v", succ, succ)
}

// Rolling counts against WithOwnerQuota: an owner at its quota cannot
// multiply its working keys by rolling repeatedly with a long grace.
func TestRollHonoursOwnerQuota(t *testing.T) {
	ctx := context.Background()
	m, err := apikey.New(memstore.New(), apikey.WithLastUsedFlushInterval(-1), apikey.WithOwnerQuota(1))
	require.NoError(t, err)
	defer m.Close()
	admin := apikey.NewActorContext(ctx, apikey.Actor{Name: "alice", Owner: "org1", Groups: []string{"read"}})
	k, p0, err := m.Issue(admin, apikey.IssueRequest{Name: "k", Groups: []string{"read"}})
	require.NoError(t, err)
	_, _, err = m.Issue(admin, apikey.IssueRequest{Name: "k2", Groups: []string{"read"}})
	require.ErrorIs(t, err, apikey.ErrQuotaExceeded)

	// At its quota, an owner may roll: the old key works during its
	// grace, one key beyond the quota.
	succ, p1, err := m.Roll(admin, k.ID, apikey.RollRequest{Grace: 366 * 24 * time.Hour})
	require.NoError(t, err)
	// Rolling again while that grace runs would add another: refused.
	_, _, err = m.Roll(admin, succ.ID, apikey.RollRequest{Grace: 366 * 24 * time.Hour})
	require.ErrorIs(t, err, apikey.ErrQuotaExceeded)
	n := 0
	for _, p := range []string{p0, p1} {
		if _, err := m.Verify(ctx, p); err == nil {
			n++
		}
	}
	assert.Equal(t, 2, n, "the key in grace and its successor")

	// Once the old key stops (deactivated), rolling is possible again; a
	// roll with zero grace adds no working key.
	require.NoError(t, m.Deactivate(admin, k.ID))
	next, _, err := m.Roll(admin, succ.ID, apikey.RollRequest{Grace: 0})
	require.NoError(t, err)
	_, _, err = m.Roll(admin, next.ID, apikey.RollRequest{Grace: 0})
	require.NoError(t, err, "zero grace: the old key stops at once")
}
