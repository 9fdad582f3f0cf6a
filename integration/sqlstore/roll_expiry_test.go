package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/sqlstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEventsSinceOutOfRange: a valid RFC 3339 time whose UTC instant is
// outside 0001..9999 (the admin API's ?since= and the CLI's --since accept
// them) is handled on every database.
func TestEventsSinceOutOfRange(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := b.open(t)
		s := newStore(t, db, b.dialect)
		m, err := apikey.New(s, apikey.WithLastUsedFlushInterval(-1))
		require.NoError(t, err)
		defer m.Close()
		_, _, err = m.Issue(ctx, apikey.IssueRequest{Name: "k", Groups: []string{"read"}, CreatedBy: "t"})
		require.NoError(t, err)
		for _, since := range []string{"9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00Z", "0000-01-01T00:00:00+23:59"} {
			ts, err := time.Parse(time.RFC3339, since)
			require.NoError(t, err)
			_, err = m.Events(ctx, apikey.EventOptions{Since: ts})
			assert.NoError(t, err, "since %s", since)
		}
	})
}

// shortenDuringRoll is a sqlstore whose Roll first lets a concurrent
// administrator shorten the old key's expiry, committed before the roll's
// own transaction, as when SetExpiry lands between the Manager's
// authorization of the roll and the Store's Roll.
type shortenDuringRoll struct {
	*sqlstore.Store
	to time.Time
}

func (s *shortenDuringRoll) Roll(ctx context.Context, c apikey.Change, oldID uuid.UUID, successor *apikey.Key, graceEndsAt time.Time, guard *apikey.Guard) error {
	if err := s.Store.SetExpiresAt(ctx, opAt(time.Now()), oldID, &s.to, nil); err != nil {
		return err
	}
	return s.Store.Roll(ctx, c, oldID, successor, graceEndsAt, guard)
}

// TestRollNeverOutlivesAShortenedExpiry: on each database, a successor that
// inherits its expiry never keeps one later than the old key's, even when
// that was shortened between the authorization of the roll and the roll.
func TestRollNeverOutlivesAShortenedExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := b.open(t)
		now := time.Now().UTC().Truncate(time.Microsecond)
		s := &shortenDuringRoll{Store: newStore(t, db, b.dialect), to: now.Add(time.Hour)}
		m, err := apikey.New(s, apikey.WithLastUsedFlushInterval(-1))
		require.NoError(t, err)
		defer m.Close()
		k, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "trial", Groups: []string{"read"}, CreatedBy: "t", ExpiresAt: now.Add(30 * 24 * time.Hour)})
		require.NoError(t, err)
		succ, _, err := m.Roll(ctx, k.ID, apikey.RollRequest{Grace: time.Minute, CreatedBy: "t"})
		require.NoError(t, err)
		stored, err := s.Get(ctx, succ.ID)
		require.NoError(t, err)
		require.NotNil(t, stored.ExpiresAt)
		assert.True(t, stored.ExpiresAt.Equal(s.to), "the successor's stored expiry %v is the old key's shortened one %v", stored.ExpiresAt, s.to)
	})
}

// TestRollHonoursTheOwnerQuota: on each database, an owner at its quota may
// roll a key (the old one works during its grace), but not again while that
// grace runs; a deactivated key no longer counts.
func TestRollHonoursTheOwnerQuota(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := newStore(t, b.open(t), b.dialect)
		m, err := apikey.New(s, apikey.WithLastUsedFlushInterval(-1), apikey.WithOwnerQuota(1))
		require.NoError(t, err)
		defer m.Close()
		admin := apikey.NewActorContext(ctx, apikey.Actor{Name: "alice", Owner: "org1", Groups: []string{"read"}})
		k, _, err := m.Issue(admin, apikey.IssueRequest{Name: "k", Groups: []string{"read"}})
		require.NoError(t, err)
		succ, _, err := m.Roll(admin, k.ID, apikey.RollRequest{Grace: 24 * time.Hour})
		require.NoError(t, err)
		_, _, err = m.Roll(admin, succ.ID, apikey.RollRequest{Grace: 24 * time.Hour})
		require.ErrorIs(t, err, apikey.ErrQuotaExceeded)
		require.NoError(t, m.Deactivate(admin, k.ID))
		_, _, err = m.Roll(admin, succ.ID, apikey.RollRequest{Grace: 24 * time.Hour})
		require.NoError(t, err)
	})
}
