package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

var _ apikey.EventStore = (*Store)(nil)

// recordedChange runs one change of the key with the given ID in a
// transaction: it locks the key's row (SELECT ... FOR UPDATE; on SQLite
// the database's write lock) reading what the guard and the event need,
// checks the guard (a key of another owner is apikey.ErrNotFound, other
// groups apikey.ErrConflict), lets change make the change and return its
// event, and records the event, all before the commit. On any error the
// transaction is rolled back: no change without its event, no event
// without its change.
func (s *Store) recordedChange(ctx context.Context, op string, id uuid.UUID, guard *apikey.Guard, change func(tx *sql.Tx, k *apikey.Key) (apikey.Event, error)) error {
	return s.inTx(ctx, op+" "+id.String(), func(tx *sql.Tx) error {
		var (
			groups string
			k      = &apikey.Key{ID: id}
		)
		expires := timeColumn{dst: new(time.Time), wall: s.dialect.b().wallTimes}
		err := tx.QueryRowContext(ctx, s.q.lockChange, id.String()).Scan(&k.Owner, &k.Name, &groups, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return apikey.ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := checkGuard(guard, k.Owner, groups); err != nil {
			return err
		}
		if k.Groups, err = decodeGroups(groups, nil); err != nil {
			return err
		}
		if expires.valid {
			k.ExpiresAt = expires.dst
		}
		e, err := change(tx, k)
		if err != nil {
			return err
		}
		return s.recordEvents(ctx, tx, e)
	})
}

// eventDetail is what detail_json holds.
type eventDetail struct {
	Old    apikey.EventValues `json:"old"`
	New    apikey.EventValues `json:"new"`
	Reason string             `json:"reason,omitempty"`
}

// recordEvents gives events the next sequence numbers of their owners and
// the next positions, and inserts them, in the caller's transaction. The
// owners' rows of the sequence table are updated first, in the order of
// the owners, then the position row: each is locked until the
// transaction ends, in that order in every change (so that no two changes
// wait for each other's locks in opposite orders), and changes commit in
// the order of their positions: a reader that sees position p has seen
// every position below it that will ever exist. The position row is the
// last lock a change takes.
func (s *Store) recordEvents(ctx context.Context, tx *sql.Tx, events ...apikey.Event) error {
	if len(events) == 0 {
		return nil
	}
	perOwner := map[string]int64{}
	for _, e := range events {
		perOwner[e.Owner]++
	}
	owners := slices.Sorted(maps.Keys(perOwner))
	lastSeq := make(map[string]int64, len(owners))
	for _, owner := range owners {
		last, err := s.dialect.b().next(ctx, tx, s.q.nextOwnerSeq, []any{owner, perOwner[owner]}, s.q.readOwnerSeq, []any{owner})
		if err != nil {
			return fmt.Errorf("event owner sequence: %w", err)
		}
		lastSeq[owner] = last - perOwner[owner] // the number before the first new one
	}
	n := int64(len(events))
	last, err := s.dialect.b().next(ctx, tx, s.q.nextPosition, []any{n}, s.q.readPosition, nil)
	if err != nil {
		return fmt.Errorf("event position: %w", err)
	}
	for i, e := range events {
		detail, err := json.Marshal(eventDetail{Old: e.Old, New: e.New, Reason: e.Reason})
		if err != nil {
			return fmt.Errorf("event detail: %w", err)
		}
		lastSeq[e.Owner]++
		_, err = tx.ExecContext(ctx, s.q.insertEvent, last-n+1+int64(i), lastSeq[e.Owner], s.dialect.timeArg(e.At), e.Owner, e.KeyID.String(),
			e.ActorID, e.ActorName, e.ActorPreview, string(e.Kind), string(detail))
		if err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
	}
	return nil
}

// Events returns at most q.Limit events matching q's filters, in the order
// of their positions (with q.Newest, the reverse), between q.After and
// q.Before (and, with an owner, q.AfterSeq and q.BeforeSeq), with one
// SELECT on an index of the owner's events (by kind or actor if filtered)
// or of the key's, or the primary key: see eventsQuery.
func (s *Store) Events(ctx context.Context, q apikey.EventQuery) (events []apikey.Event, err error) {
	f := eventFilters{owner: q.Owner != "", key: q.KeyID != uuid.Nil, kind: q.Kind != "", actor: q.ActorID != "", since: !q.Since.IsZero(), newest: q.Newest}
	upper := func(n int64) int64 {
		if n <= 0 {
			return math.MaxInt64
		}
		return n
	}
	args := []any{max(q.After, 0), upper(q.Before)}
	if f.owner {
		args = append(args, q.Owner, max(q.AfterSeq, 0), upper(q.BeforeSeq))
	}
	if f.key {
		args = append(args, q.KeyID.String())
	}
	if f.kind {
		args = append(args, string(q.Kind))
	}
	if f.actor {
		args = append(args, q.ActorID)
	}
	if f.since {
		args = append(args, s.dialect.timeArg(q.Since))
	}
	args = append(args, max(q.Limit, 1))
	rows, err := s.db.QueryContext(ctx, s.q.events[f.index()], args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: events: %w", err)
	}
	defer func() {
		if cerr := rows.Close(); cerr != nil && err == nil {
			events, err = nil, fmt.Errorf("sqlstore: events: %w", cerr)
		}
	}()
	events = []apikey.Event{}
	for rows.Next() {
		var (
			e            apikey.Event
			kind, detail string
		)
		at := timeColumn{dst: &e.At, wall: s.dialect.b().wallTimes}
		if err := rows.Scan(&e.Position, &e.OwnerSeq, &at, &e.Owner, &e.KeyID, &e.ActorID, &e.ActorName, &e.ActorPreview, &kind, &detail); err != nil {
			return nil, fmt.Errorf("sqlstore: events: %w", err)
		}
		var d eventDetail
		if err := json.Unmarshal([]byte(detail), &d); err != nil {
			return nil, fmt.Errorf("sqlstore: events: event %d: %w", e.Position, err)
		}
		e.Kind, e.Old, e.New, e.Reason = apikey.EventKind(kind), d.Old, d.New, d.Reason
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: events: %w", err)
	}
	return events, nil
}

// LastPosition returns the last position given, from the position row:
// that of the latest event, pruned or not.
func (s *Store) LastPosition(ctx context.Context) (int64, error) {
	var p int64
	if err := s.db.QueryRowContext(ctx, s.q.readPosition).Scan(&p); err != nil {
		return 0, fmt.Errorf("sqlstore: last event position: %w", err)
	}
	return p, nil
}

// PruneEvents deletes at most limit events dated before before, in the
// order of their positions, with one DELETE, and returns how many it
// deleted.
func (s *Store) PruneEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := s.db.ExecContext(ctx, s.q.pruneEvents, s.dialect.timeArg(before), max(limit, 1))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: prune events: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: prune events: %w", err)
	}
	return int(n), nil
}
