package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

var _ apikey.LifecycleStore = (*Store)(nil)

// Roll creates successor and marks the key oldID as rolled to it, in one
// transaction: it locks the old key's row (SELECT ... FOR UPDATE; on SQLite
// the database's write lock), checks the guard, that the key has no
// successor yet and is active, inserts the successor and its groups, and
// updates the old row. See [apikey.LifecycleStore] for the errors; on any
// of them the transaction is rolled back and nothing is changed.
func (s *Store) Roll(ctx context.Context, ch apikey.Change, oldID uuid.UUID, successor *apikey.Key, graceEndsAt time.Time, guard *apikey.Guard) error {
	if successor == nil {
		return errors.New("sqlstore: roll: nil successor")
	}
	enc, err := encodeKey(successor)
	if err != nil {
		return err
	}
	d := s.dialect
	return s.inTx(ctx, "roll key "+oldID.String(), func(tx *sql.Tx) error {
		var (
			owner, groups string
			active        bool
			rolledTo      uuid.NullUUID
		)
		err := tx.QueryRowContext(ctx, s.q.lockRoll, oldID.String()).Scan(&owner, &groups, &active, &rolledTo)
		if errors.Is(err, sql.ErrNoRows) {
			return apikey.ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := checkGuard(guard, owner, groups); err != nil {
			return err
		}
		switch {
		case rolledTo.Valid:
			return apikey.ErrAlreadyRolled
		case !active:
			return apikey.ErrInactive
		}
		if guard != nil && guard.MaxKeys > 0 {
			if err := s.checkWorking(ctx, tx, owner, ch.At, guard.MaxKeys); err != nil {
				return err
			}
		}
		if err := s.insertKey(ctx, tx, successor, enc); err != nil {
			return fmt.Errorf("successor: %w", err)
		}
		rolledAt := d.timeArg(ch.At)
		if _, err = tx.ExecContext(ctx, s.q.setRolled, successor.ID.String(), rolledAt, d.timeArg(graceEndsAt), rolledAt, oldID.String()); err != nil {
			return err
		}
		rolled := apikey.NewEvent(ch, apikey.EventRolled, &apikey.Key{ID: oldID, Owner: owner})
		grace := graceEndsAt.UTC().Truncate(time.Microsecond)
		rolled.New.Successor, rolled.New.GraceEndsAt = successor.ID, &grace
		issued := apikey.NewEvent(ch, apikey.EventIssued, successor)
		issued.New = apikey.IssuedValues(successor)
		return s.recordEvents(ctx, tx, rolled, issued)
	})
}

// SetExpiresAt sets (nil: removes) the expiry time and sets UpdatedAt of a
// key with one UPDATE, or returns an error wrapping [apikey.ErrNotFound]
// (or [apikey.ErrConflict], see Delete).
func (s *Store) SetExpiresAt(ctx context.Context, ch apikey.Change, id uuid.UUID, expiresAt *time.Time, guard *apikey.Guard) error {
	return s.recordedChange(ctx, "set expiry of key", id, guard, func(tx *sql.Tx, k *apikey.Key) (apikey.Event, error) {
		if _, err := tx.ExecContext(ctx, s.q.setExpiresAt, s.dialect.nullTimeArg(expiresAt), s.dialect.timeArg(ch.At), id.String()); err != nil {
			return apikey.Event{}, err
		}
		e := apikey.NewEvent(ch, apikey.EventExpiryChanged, k)
		e.Old.ExpiresAt = k.ExpiresAt
		if expiresAt != nil {
			t := expiresAt.UTC().Truncate(time.Microsecond)
			e.New.ExpiresAt = &t
		}
		return e, nil
	})
}

// Prune reads at most q.Limit eligible keys in the order of their IDs with
// one SELECT (from the indexes on expires_at and grace_ends_at), and,
// unless q.DryRun, deletes them in one transaction, each with a DELETE that
// checks again that it is eligible: a key whose expiry was extended since
// the SELECT is kept, and not returned.
func (s *Store) Prune(ctx context.Context, ch apikey.Change, q apikey.PruneQuery) (keys []*apikey.Key, err error) {
	limit := max(q.Limit, 1)
	cutoff := s.dialect.timeArg(q.EndedBefore)
	query, args := s.q.pruneSelect[0], []any{cutoff, cutoff, q.After.String(), limit}
	if q.Owner != "" {
		query, args = s.q.pruneSelect[1], []any{cutoff, cutoff, q.Owner, q.After.String(), limit}
	}
	found, err := s.queryKeys(ctx, "find keys to prune", query, args...)
	if err != nil || q.DryRun {
		return found, err
	}
	keys = make([]*apikey.Key, 0, len(found))
	err = s.inTx(ctx, fmt.Sprintf("prune %d keys", len(found)), func(tx *sql.Tx) error {
		keys = keys[:0]
		for _, k := range found {
			res, err := tx.ExecContext(ctx, s.q.pruneDelete, k.ID.String(), cutoff, cutoff)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n > 0 {
				keys = append(keys, k)
			}
		}
		// The positions after the deletes: the position row is the last
		// lock every change takes, so that no two changes wait for each
		// other's locks in opposite orders.
		events := make([]apikey.Event, len(keys))
		for i, k := range keys {
			events[i] = apikey.NewEvent(ch, apikey.EventPruned, k)
			events[i].Old = apikey.RemovedValues(k)
		}
		return s.recordEvents(ctx, tx, events...)
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// queryKeys runs a query that selects columns and returns its keys.
func (s *Store) queryKeys(ctx context.Context, op, query string, args ...any) (keys []*apikey.Key, err error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	defer func() {
		if cerr := rows.Close(); cerr != nil && err == nil {
			keys, err = nil, fmt.Errorf("sqlstore: %s: %w", op, cerr)
		}
	}()
	keys = []*apikey.Key{}
	for rows.Next() {
		row := s.dialect.newKeyRow()
		if err := rows.Scan(row.dest[:]...); err != nil {
			return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
		}
		k, err := row.finish()
		if err != nil {
			return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return keys, nil
}

// checkWorking locks the owner's row (as the quota of Create does) and
// returns ErrQuotaExceeded if the owner holds more than maxKeys keys that
// still work at now: active, not expired, not rolled or in their grace.
func (s *Store) checkWorking(ctx context.Context, tx *sql.Tx, owner string, now time.Time, maxKeys int) error {
	if _, err := tx.ExecContext(ctx, s.q.insertOwner, owner); err != nil {
		return fmt.Errorf("owner row: %w", err)
	}
	var locked string
	if err := tx.QueryRowContext(ctx, s.q.lockOwner, owner).Scan(&locked); err != nil {
		return fmt.Errorf("lock owner: %w", err)
	}
	var n int
	args := s.dialect.b().countWorkingArgs(owner, s.dialect.timeArg(now))
	if err := tx.QueryRowContext(ctx, s.q.countWorking, args...).Scan(&n); err != nil {
		return fmt.Errorf("count working keys of owner: %w", err)
	}
	if n > maxKeys {
		return apikey.ErrQuotaExceeded
	}
	return nil
}
