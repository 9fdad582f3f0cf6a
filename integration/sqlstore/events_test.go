package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/sqlstore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUpgradeFromVersion4 makes a version-4 database holding a key, runs
// Migrate, and checks that the key still verifies, that the audit trail
// starts empty at position 0, and that changes are recorded from then on.
func TestUpgradeFromVersion4(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := b.open(t)
		s := unmigratedStore(t, db, b.dialect)
		createVersion(t, db, b.dialect, s, 4)

		// A key written by a version-4 store: Create without events.
		m4, err := apikey.New(plainStore{s}, apikey.WithLastUsedFlushInterval(-1))
		require.NoError(t, err)
		_, _, err = m4.Issue(ctx, apikey.IssueRequest{Name: "from v4", Groups: []string{"x"}, CreatedBy: "alice"})
		require.Error(t, err, "the version-5 store needs its events table")
		require.NoError(t, m4.Close())
		k := insertVersion4Key(t, db, b.dialect, s)

		require.NoError(t, s.Migrate(ctx), "Migrate from version 4")
		require.NoError(t, s.Migrate(ctx), "Migrate again")
		last, err := s.LastPosition(ctx)
		require.NoError(t, err)
		assert.Zero(t, last, "the audit trail starts empty")

		m, err := apikey.New(s, apikey.WithLastUsedFlushInterval(-1))
		require.NoError(t, err)
		defer m.Close()
		got, err := m.Get(ctx, k.ID)
		require.NoError(t, err)
		assert.Equal(t, "from v4", got.Name)
		require.NoError(t, m.Rename(apikey.NewActorContext(ctx, apikey.Actor{ID: "u1", Name: "Bob", Groups: []string{"x"}}), k.ID, "renamed"))
		page, err := m.Events(ctx, apikey.EventOptions{KeyID: k.ID})
		require.NoError(t, err)
		require.Len(t, page.Events, 1)
		e := page.Events[0]
		assert.Equal(t, int64(1), e.Position)
		assert.Equal(t, apikey.EventRenamed, e.Kind)
		assert.Equal(t, "from v4", e.Old.Name)
		assert.Equal(t, "renamed", e.New.Name)
		assert.Equal(t, "Bob", e.ActorName)
		assert.Equal(t, "u1", e.ActorID)
	})
}

// plainStore hides the optional interfaces of a Store.
type plainStore struct{ apikey.Store }

// insertVersion4Key writes a key's row as a version-4 store did.
func insertVersion4Key(t *testing.T, db *sql.DB, d sqlstore.Dialect, s *sqlstore.Store) *apikey.Key {
	k := &apikey.Key{ID: uuid.Must(uuid.NewV7()), Name: "from v4", Owner: apikey.DefaultOwner}
	q, ph := `"`, func(n int) string { return fmt.Sprintf("$%d", n) }
	if d != sqlstore.Postgres {
		ph = func(int) string { return "?" }
	}
	if d == sqlstore.MySQL {
		q = "`"
	}
	now := time.Now()
	_, err := db.ExecContext(context.Background(), "INSERT INTO "+q+s.Table()+q+
		" (id, lookup_id, name, groups_json, active, preview, hash, created_at, created_by, updated_at, owner) VALUES ("+
		ph(1)+", "+ph(2)+", "+ph(3)+", "+ph(4)+", "+ph(5)+", "+ph(6)+", "+ph(7)+", "+timeLiteral(d, now)+", "+ph(8)+", "+timeLiteral(d, now)+", "+ph(9)+")",
		k.ID.String(), "v4lookupid01", k.Name, `["x"]`, true, "sk_…", "$sha256$00", "alice", k.Owner)
	require.NoError(t, err)
	return k
}

// TestEventPositionsFollowCommitOrder forces the classic outbox gap: a
// transaction takes a position and stays open (committing late) while
// another change is made. With positions from a sequence, the second
// change would commit first with a higher position, and a follower that
// read it would skip the first for ever. Here the second change waits for
// the first's commit, and the follower sees both, in order.
func TestEventPositionsFollowCommitOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		if b.dialect == sqlstore.SQLite {
			t.Skip("SQLite serializes writers: one transaction at a time")
		}
		ctx := context.Background()
		db := b.open(t)
		s := newStore(t, db, b.dialect)
		m, err := apikey.New(s, apikey.WithLastUsedFlushInterval(-1))
		require.NoError(t, err)
		defer m.Close()
		k, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "k", Groups: []string{"x"}, CreatedBy: "alice"})
		require.NoError(t, err)
		start, err := s.LastPosition(ctx)
		require.NoError(t, err)

		// A slow change: it takes the next position and does not commit.
		q, ph := `"`, func(n int) string { return fmt.Sprintf("$%d", n) }
		if b.dialect == sqlstore.MySQL {
			q, ph = "`", func(int) string { return "?" }
		}
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer tx.Rollback()
		_, err = tx.ExecContext(ctx, "UPDATE "+q+s.Table()+"_event_position"+q+" SET pos = pos + 1 WHERE id = 1")
		require.NoError(t, err)
		var slow int64
		require.NoError(t, tx.QueryRowContext(ctx, "SELECT pos FROM "+q+s.Table()+"_event_position"+q+" WHERE id = 1").Scan(&slow))
		_, err = tx.ExecContext(ctx, "INSERT INTO "+q+s.Table()+"_events"+q+
			" (pos, occurred_at, owner, key_id, actor_id, actor_name, kind, detail_json) VALUES ("+
			ph(1)+", "+timeLiteral(b.dialect, time.Now())+", "+ph(2)+", "+ph(3)+", '', 'slow', 'renamed', '{\"old\":{},\"new\":{}}')",
			slow, k.Owner, k.ID.String())
		require.NoError(t, err)

		// A fast change, started while the slow one is open.
		done := make(chan error, 1)
		go func() { done <- m.Rename(ctx, k.ID, "fast") }()
		select {
		case err := <-done:
			t.Fatalf("the fast change committed before the slow one, which holds a lower position (err %v)", err)
		case <-time.After(300 * time.Millisecond):
		}
		events, err := s.Events(ctx, apikey.EventQuery{After: start, Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, events, "a follower sees neither change while the first is open")

		require.NoError(t, tx.Commit())
		require.NoError(t, <-done)
		events, err = s.Events(ctx, apikey.EventQuery{After: start, Limit: 10})
		require.NoError(t, err)
		require.Len(t, events, 2)
		assert.Equal(t, []int64{slow, slow + 1}, []int64{events[0].Position, events[1].Position}, "no gap, in commit order")
		assert.Equal(t, "slow", events[0].ActorName)
		assert.Equal(t, "fast", events[1].New.Name)
	})
}

// TestRevocationAcrossInstances measures how long a change made through
// one Manager takes to reach another with a 10-minute verification cache,
// each over its own *sql.DB (two instances of a service), with the change
// feed on; and shows that with the feed off the other keeps serving the
// revoked key (until the TTL).
func TestRevocationAcrossInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("50 trials per change and database")
	}
	const (
		trials   = 50
		interval = 100 * time.Millisecond
		ttl      = 10 * time.Minute
	)
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		dbA := b.open(t)
		sA := newStore(t, dbA, b.dialect)
		dbB := dbA
		if b.dialect == sqlstore.SQLite {
			// One file, two pools: two processes sharing a database.
			var err error
			dbB, err = sql.Open(b.driver, dsnOf(t, dbA))
			require.NoError(t, err)
			t.Cleanup(func() { _ = dbB.Close() })
		} else {
			dbB = b.open(t)
		}
		sB, err := sqlstore.New(dbB, b.dialect, sqlstore.WithTable(sA.Table()))
		require.NoError(t, err)
		a, err := apikey.New(sA, apikey.WithLastUsedFlushInterval(-1))
		require.NoError(t, err)
		defer a.Close()

		changes := []struct {
			name    string
			apply   func(id uuid.UUID) error
			refused func(k *apikey.Key, err error) bool
		}{
			{"deactivate", func(id uuid.UUID) error { return a.Deactivate(ctx, id) },
				func(_ *apikey.Key, err error) bool { return errors.Is(err, apikey.ErrInactive) }},
			{"group removal", func(id uuid.UUID) error { return a.SetGroups(ctx, id, []string{"read"}) },
				func(k *apikey.Key, err error) bool { return err == nil && !k.HasGroup("write") }},
			{"delete", func(id uuid.UUID) error { return a.Delete(ctx, id) },
				func(_ *apikey.Key, err error) bool { return errors.Is(err, apikey.ErrInvalidKey) }},
		}
		trial := func(t *testing.T, m *apikey.Manager, apply func(uuid.UUID) error, refused func(*apikey.Key, error) bool, bound time.Duration) (time.Duration, bool) {
			k, plaintext, err := a.Issue(ctx, apikey.IssueRequest{Name: "k", Groups: []string{"read", "write"}, CreatedBy: "test"})
			require.NoError(t, err)
			for range 2 {
				_, err := m.Verify(ctx, plaintext)
				require.NoError(t, err)
			}
			// A change comes at any moment of the poll interval.
			time.Sleep(rand.N(interval))
			require.NoError(t, apply(k.ID))
			start := time.Now()
			for time.Since(start) < bound {
				if refused(m.Verify(ctx, plaintext)) {
					return time.Since(start), true
				}
				time.Sleep(time.Millisecond)
			}
			return time.Since(start), false
		}

		t.Run("feed on", func(t *testing.T) {
			m, err := apikey.New(sB, apikey.WithLastUsedFlushInterval(-1), apikey.WithVerifyCache(apikey.VerifyCache{TTL: ttl, FollowChanges: true, FeedInterval: interval, FeedMaxStale: 2 * time.Second}))
			require.NoError(t, err)
			defer m.Close()
			for _, c := range changes {
				lags := make([]time.Duration, 0, trials)
				for range trials {
					lag, ok := trial(t, m, c.apply, c.refused, interval+time.Second)
					require.True(t, ok, "%s: B refuses within the poll interval plus 1 s (took %v)", c.name, lag)
					lags = append(lags, lag)
				}
				slices.Sort(lags)
				t.Logf("%s, feed on (poll %v, TTL %v): %d/%d trials refused on B; median %v, max %v",
					c.name, interval, ttl, len(lags), trials, lags[len(lags)/2].Round(100*time.Microsecond), lags[len(lags)-1].Round(100*time.Microsecond))
			}
			st := m.Stats()
			assert.Positive(t, st.CacheHits, "B served from its cache")
			assert.Zero(t, st.FeedFailures)
		})
		t.Run("feed off", func(t *testing.T) {
			m, err := apikey.New(sB, apikey.WithLastUsedFlushInterval(-1), apikey.WithVerifyCache(apikey.VerifyCache{TTL: ttl}))
			require.NoError(t, err)
			defer m.Close()
			for _, c := range changes {
				const offTrials = 2
				for range offTrials {
					lag, ok := trial(t, m, c.apply, c.refused, interval+time.Second)
					assert.False(t, ok, "%s: without the feed, B serves the revoked key from its cache", c.name)
					_ = lag
				}
				t.Logf("%s, feed off (TTL %v): %d/%d trials still accepted on B after %v; bounded by the TTL",
					c.name, ttl, offTrials, offTrials, interval+time.Second)
			}
		})
	})
}

// dsnOf returns the DSN of the SQLite file db has open.
func dsnOf(t *testing.T, db *sql.DB) string {
	var file string
	require.NoError(t, db.QueryRowContext(context.Background(), "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file))
	return fmt.Sprintf(sqliteDSN, file)
}

// TestNoChangeWithoutItsEvent makes the event's INSERT fail inside the
// database (a trigger raises an error), on each database, and checks that
// every kind of change then fails and leaves the key as it was: the change
// and its event commit together or not at all.
func TestNoChangeWithoutItsEvent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := b.open(t)
		s := newStore(t, db, b.dialect)
		m := newManager(t, s)
		k, _ := issueKey(t, m, "kept", "read", "write")
		before, err := s.Get(ctx, k.ID)
		require.NoError(t, err)

		events := `"` + s.Table() + `_events"`
		var create, drop []string
		switch b.dialect {
		case sqlstore.Postgres:
			fn := `"` + s.Table() + `_fail"`
			create = []string{
				"CREATE FUNCTION " + fn + "() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql",
				"CREATE TRIGGER fail BEFORE INSERT ON " + events + " FOR EACH ROW EXECUTE FUNCTION " + fn + "()",
			}
			drop = []string{"DROP TRIGGER fail ON " + events, "DROP FUNCTION " + fn + "()"}
		case sqlstore.MySQL:
			events = "`" + s.Table() + "_events`"
			trigger := "`" + s.Table() + "_fail`"
			create = []string{"CREATE TRIGGER " + trigger + " BEFORE INSERT ON " + events +
				" FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure'"}
			drop = []string{"DROP TRIGGER " + trigger}
		default:
			trigger := `"` + s.Table() + `_fail"`
			create = []string{"CREATE TRIGGER " + trigger + " BEFORE INSERT ON " + events +
				" BEGIN SELECT RAISE(ABORT, 'injected failure'); END"}
			drop = []string{"DROP TRIGGER " + trigger}
		}
		for _, stmt := range create {
			_, err := db.ExecContext(ctx, stmt)
			require.NoError(t, err, stmt)
		}
		t.Cleanup(func() {
			for _, stmt := range drop {
				_, _ = db.ExecContext(context.Background(), stmt)
			}
		})

		for name, change := range map[string]func() error{
			"Rename":     func() error { return m.Rename(ctx, k.ID, "changed") },
			"SetGroups":  func() error { return m.SetGroups(ctx, k.ID, []string{"read"}) },
			"Deactivate": func() error { return m.Deactivate(ctx, k.ID) },
			"Delete":     func() error { return m.Delete(ctx, k.ID) },
			"SetExpiry":  func() error { return m.SetExpiry(ctx, k.ID, time.Now().Add(time.Hour)) },
			"Roll": func() error {
				_, _, err := m.Roll(ctx, k.ID, apikey.RollRequest{Grace: time.Hour, CreatedBy: "t"})
				return err
			},
			"Issue": func() error {
				_, _, err := m.Issue(ctx, apikey.IssueRequest{Name: "new", Groups: []string{"read"}, CreatedBy: "t"})
				return err
			},
		} {
			assert.ErrorIs(t, change(), apikey.ErrStoreFailure, name)
		}
		after, err := s.Get(ctx, k.ID)
		require.NoError(t, err, "the key is still there")
		assert.Equal(t, before.Name, after.Name)
		assert.Equal(t, before.Groups, after.Groups)
		assert.Equal(t, before.Active, after.Active)
		assert.True(t, before.UpdatedAt.Equal(after.UpdatedAt), "UpdatedAt unchanged")
		assert.Equal(t, before.ExpiresAt, after.ExpiresAt, "no expiry set")
		assert.Equal(t, uuid.Nil, after.RolledTo, "not rolled")
		n, err := s.Count(ctx, apikey.ListQuery{})
		require.NoError(t, err)
		assert.Equal(t, 1, n, "the refused Issue stored no key")
	})
}

// TestUpgradeFromVersion5 makes a version-5 database holding events of two
// owners, runs Migrate, and checks that version 6 numbers each owner's
// events 1, 2, 3... in the order of their positions, with no preview, and
// that new events continue each owner's numbering.
func TestUpgradeFromVersion5(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := b.open(t)
		s := unmigratedStore(t, db, b.dialect)
		createVersion(t, db, b.dialect, s, 5)
		q := `"`
		if b.dialect == sqlstore.MySQL {
			q = "`"
		}
		owners := []string{"org-a", "org-b", "org-a", "org-a", "org-b"}
		for i, owner := range owners {
			_, err := db.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s%s_events%s (pos, occurred_at, owner, key_id, actor_id, actor_name, kind, detail_json) "+
				"VALUES (%d, %s, '%s', '%s', '', 'operator', 'issued', '{\"old\":{},\"new\":{}}')",
				q, s.Table(), q, i+1, timeLiteral(b.dialect, time.Now()), owner, uuid.NewString()))
			require.NoError(t, err)
		}
		_, err := db.ExecContext(ctx, fmt.Sprintf("UPDATE %s%s_event_position%s SET pos = %d WHERE id = 1", q, s.Table(), q, len(owners)))
		require.NoError(t, err)

		require.NoError(t, s.Migrate(ctx), "Migrate from version 5")
		require.NoError(t, s.Migrate(ctx), "Migrate again")
		seqs := func(owner string) (positions, seqs []int64) {
			events, err := s.Events(ctx, apikey.EventQuery{Owner: owner, Limit: 100})
			require.NoError(t, err)
			for _, e := range events {
				positions, seqs = append(positions, e.Position), append(seqs, e.OwnerSeq)
				assert.Empty(t, e.ActorPreview)
			}
			return positions, seqs
		}
		p, n := seqs("org-a")
		assert.Equal(t, []int64{1, 3, 4}, p)
		assert.Equal(t, []int64{1, 2, 3}, n, "org-a's events numbered in the order of their positions")
		p, n = seqs("org-b")
		assert.Equal(t, []int64{2, 5}, p)
		assert.Equal(t, []int64{1, 2}, n)

		k := newOwnedKey("org-a")
		require.NoError(t, s.Create(ctx, creation(k), k, 0))
		p, n = seqs("org-a")
		assert.Equal(t, []int64{1, 3, 4, 6}, p)
		assert.Equal(t, []int64{1, 2, 3, 4}, n, "a new event continues its owner's numbering")
	})
}

// newOwnedKey returns a valid-looking key of owner.
func newOwnedKey(owner string) *apikey.Key {
	now := time.Now().UTC().Truncate(time.Microsecond)
	id := uuid.Must(uuid.NewV7())
	return &apikey.Key{ID: id, Owner: owner, Name: "after v6", Groups: []string{"x"}, Active: true, Preview: "ak_New…x7Ab",
		LookupID: "v6" + id.String()[:10], Hash: "$sha256$00", CreatedAt: now, CreatedBy: "alice", UpdatedAt: now}
}
