package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

var _ apikey.UsageStore = (*Store)(nil)

// RecordUsageBatch is the number of usage rows RecordUsage sends in one
// statement (a JSON array, one parameter).
const RecordUsageBatch = 1000

// usageQueries are the query texts of usage metering (migration 0009).
type usageQueries struct {
	// insertBatch records a batch ID unless it is there (id, applied_at):
	// no row affected means the batch was applied before.
	insertBatch string
	// upsert adds the rows of a JSON array to the counts (rows).
	upsert string
	// readKey (key_id, from, to); readOwner and busiest (owner, from, to
	// [, limit]).
	readKey, readOwner, busiest string
	// pruneRows (before, limit); pruneBatches (before).
	pruneRows, pruneBatches string
}

// newUsageQueries returns the dialect's usage queries for table.
func newUsageQueries(d Dialect, table string) usageQueries {
	r := strings.NewReplacer("{{table}}", table)
	t := d.b().usage
	return usageQueries{
		insertBatch:  r.Replace(t.insertBatch),
		upsert:       r.Replace(t.upsert),
		readKey:      r.Replace(t.readKey),
		readOwner:    r.Replace(t.readOwner),
		busiest:      r.Replace(t.busiest),
		pruneRows:    r.Replace(t.pruneRows),
		pruneBatches: r.Replace(t.pruneBatches),
	}
}

// usageJSONRow is one row of upsert's JSON array. H is the hour as Unix
// seconds (PostgreSQL), DATETIME text (MySQL) or Unix microseconds
// (SQLite).
type usageJSONRow struct {
	K string `json:"k"`
	H any    `json:"h"`
	O string `json:"o"`
	W string `json:"w"`
	N int64  `json:"n"`
}

// RecordUsage applies b in one transaction: it records b.ID in the batches
// table and, unless the ID was there already (the batch was applied
// before: nothing more is done), adds the rows to the counts with one
// upsert per [RecordUsageBatch] rows, in the order given (by key, hour and
// outcome), so that concurrent batches lock rows in one order.
func (s *Store) RecordUsage(ctx context.Context, b apikey.UsageBatch) error {
	if len(b.Rows) == 0 {
		return nil
	}
	return s.inTx(ctx, fmt.Sprintf("record usage batch %s of %d rows", b.ID, len(b.Rows)), func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.u.insertBatch, b.ID.String(), s.dialect.timeArg(b.AppliedAt))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil // applied before
		}
		for chunk := range slices.Chunk(b.Rows, RecordUsageBatch) {
			arg, err := s.usageJSON(chunk)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.u.upsert, arg); err != nil {
				return err
			}
		}
		return nil
	})
}

// usageJSON encodes rows as upsert's argument.
func (s *Store) usageJSON(rows []apikey.UsageRow) (string, error) {
	out := make([]usageJSONRow, len(rows))
	for i, r := range rows {
		h := r.Hour.UTC()
		hour := s.dialect.b().usageHour(h)
		out[i] = usageJSONRow{K: r.KeyID.String(), H: hour, O: string(r.Outcome), W: r.Owner, N: r.Count}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// ReadUsage returns a key's rows, or an owner's sums by hour and outcome,
// with one SELECT on the primary key or the owner index.
func (s *Store) ReadUsage(ctx context.Context, f apikey.UsageFilter) (rows []apikey.UsageRow, err error) {
	var r *sql.Rows
	if f.KeyID != uuid.Nil {
		r, err = s.db.QueryContext(ctx, s.u.readKey, f.KeyID.String(), s.dialect.timeArg(f.From), s.dialect.timeArg(f.To))
	} else {
		r, err = s.db.QueryContext(ctx, s.u.readOwner, f.Owner, s.dialect.timeArg(f.From), s.dialect.timeArg(f.To))
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read usage: %w", err)
	}
	defer func() {
		if cerr := r.Close(); cerr != nil && err == nil {
			rows, err = nil, fmt.Errorf("sqlstore: read usage: %w", cerr)
		}
	}()
	rows = []apikey.UsageRow{}
	for r.Next() {
		row := apikey.UsageRow{KeyID: f.KeyID, Owner: f.Owner}
		hour := timeColumn{dst: &row.Hour, wall: s.dialect.b().wallTimes}
		var outcome string
		if f.KeyID != uuid.Nil {
			err = r.Scan(&hour, &outcome, &row.Owner, &row.Count)
		} else {
			err = r.Scan(&hour, &outcome, &row.Count)
		}
		if err != nil {
			return nil, fmt.Errorf("sqlstore: read usage: %w", err)
		}
		row.Outcome = apikey.UsageOutcome(outcome)
		rows = append(rows, row)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: read usage: %w", err)
	}
	return rows, nil
}

// BusiestKeys returns the owner's most used keys in the range, with one
// SELECT on the owner index.
func (s *Store) BusiestKeys(ctx context.Context, f apikey.UsageFilter, limit int) (keys []apikey.KeyUsage, err error) {
	r, err := s.db.QueryContext(ctx, s.u.busiest, f.Owner, s.dialect.timeArg(f.From), s.dialect.timeArg(f.To), max(limit, 1))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: busiest keys: %w", err)
	}
	defer func() {
		if cerr := r.Close(); cerr != nil && err == nil {
			keys, err = nil, fmt.Errorf("sqlstore: busiest keys: %w", cerr)
		}
	}()
	keys = []apikey.KeyUsage{}
	for r.Next() {
		var (
			k     apikey.KeyUsage
			id    string
			total int64
		)
		if err := r.Scan(&id, &k.Verified, &total); err != nil {
			return nil, fmt.Errorf("sqlstore: busiest keys: %w", err)
		}
		if k.KeyID, err = uuid.Parse(id); err != nil {
			return nil, fmt.Errorf("sqlstore: busiest keys: %w", err)
		}
		k.Refused = total - k.Verified
		keys = append(keys, k)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: busiest keys: %w", err)
	}
	return keys, nil
}

// PruneUsage deletes at most limit rows of hours before before with one
// DELETE, and the batches applied before before with another.
func (s *Store) PruneUsage(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := s.db.ExecContext(ctx, s.u.pruneRows, s.dialect.timeArg(before), max(limit, 1))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: prune usage: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: prune usage: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, s.u.pruneBatches, s.dialect.timeArg(before)); err != nil {
		return int(n), fmt.Errorf("sqlstore: prune usage batches: %w", err)
	}
	return int(n), nil
}
