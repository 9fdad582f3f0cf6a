package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

var _ apikey.LimitStore = (*Store)(nil)

// limitQueries are the query texts of limits and credits (see
// migrations/*/0008_limits.sql).
type limitQueries struct {
	setLimits  string // (limits_json, updated_at, id)
	readLimits string // (id), in the transaction that locked the key
	// readCredits (account); lockCredits the same, locking the row until
	// the transaction ends; upsertCredits (account, remaining).
	readCredits, lockCredits, upsertCredits string
	// spend (cost, account, cost): the one statement of a metered request
	// without refill; spendRefill the same with a refill due at a period
	// start (see Store.SpendCredits for the arguments).
	spend, spendRefill string
}

func (d Dialect) limitQueries(r *strings.Replacer) limitQueries {
	var q limitQueries
	switch d {
	case Postgres:
		q = limitQueries{
			setLimits:     `UPDATE "{{table}}" SET limits_json = $1, updated_at = $2 WHERE id = $3`,
			readLimits:    `SELECT limits_json FROM "{{table}}" WHERE id = $1`,
			readCredits:   `SELECT remaining, refilled_at FROM "{{table}}_credits" WHERE account = $1`,
			lockCredits:   `SELECT remaining, refilled_at FROM "{{table}}_credits" WHERE account = $1 FOR UPDATE`,
			upsertCredits: `INSERT INTO "{{table}}_credits" (account, remaining) VALUES ($1, $2) ON CONFLICT (account) DO UPDATE SET remaining = EXCLUDED.remaining`,
			spend:         `UPDATE "{{table}}_credits" SET remaining = remaining - $1::bigint WHERE account = $2 AND remaining >= $1::bigint RETURNING remaining`,
			spendRefill: `UPDATE "{{table}}_credits" SET ` +
				`remaining = (CASE WHEN refilled_at IS NULL OR refilled_at < $2::timestamptz THEN $3::bigint ELSE remaining END) - $1::bigint, ` +
				`refilled_at = CASE WHEN refilled_at IS NULL OR refilled_at < $2::timestamptz THEN $2::timestamptz ELSE refilled_at END ` +
				`WHERE account = $4 AND (CASE WHEN refilled_at IS NULL OR refilled_at < $2::timestamptz THEN $3::bigint ELSE remaining END) >= $1::bigint ` +
				`RETURNING remaining`,
		}
	case MySQL:
		// MySQL has no RETURNING: LAST_INSERT_ID(expr) hands the new
		// balance back in the result of the same statement. SET
		// assignments run left to right, so refilled_at is assigned last
		// and its CASE reads the old value.
		q = limitQueries{
			setLimits:     "UPDATE `{{table}}` SET limits_json = ?, updated_at = ? WHERE id = ?",
			readLimits:    "SELECT limits_json FROM `{{table}}` WHERE id = ?",
			readCredits:   "SELECT remaining, refilled_at FROM `{{table}}_credits` WHERE account = ?",
			lockCredits:   "SELECT remaining, refilled_at FROM `{{table}}_credits` WHERE account = ? FOR UPDATE",
			upsertCredits: "INSERT INTO `{{table}}_credits` (account, remaining) VALUES (?, ?) ON DUPLICATE KEY UPDATE remaining = VALUES(remaining)",
			spend:         "UPDATE `{{table}}_credits` SET remaining = LAST_INSERT_ID(remaining - ?) WHERE account = ? AND remaining >= ?",
			spendRefill: "UPDATE `{{table}}_credits` SET " +
				"remaining = LAST_INSERT_ID((CASE WHEN refilled_at IS NULL OR refilled_at < ? THEN ? ELSE remaining END) - ?), " +
				"refilled_at = CASE WHEN refilled_at IS NULL OR refilled_at < ? THEN ? ELSE refilled_at END " +
				"WHERE account = ? AND (CASE WHEN refilled_at IS NULL OR refilled_at < ? THEN ? ELSE remaining END) >= ?",
		}
	default:
		q = limitQueries{
			setLimits:     `UPDATE "{{table}}" SET limits_json = ?, updated_at = ? WHERE id = ?`,
			readLimits:    `SELECT limits_json FROM "{{table}}" WHERE id = ?`,
			readCredits:   `SELECT remaining, refilled_at FROM "{{table}}_credits" WHERE account = ?`,
			lockCredits:   `SELECT remaining, refilled_at FROM "{{table}}_credits" WHERE account = ?`, // the transaction holds the write lock
			upsertCredits: `INSERT INTO "{{table}}_credits" (account, remaining) VALUES (?, ?) ON CONFLICT (account) DO UPDATE SET remaining = excluded.remaining`,
			spend:         `UPDATE "{{table}}_credits" SET remaining = remaining - ? WHERE account = ? AND remaining >= ? RETURNING remaining`,
			spendRefill: `UPDATE "{{table}}_credits" SET ` +
				`remaining = (CASE WHEN refilled_at IS NULL OR refilled_at < ? THEN ? ELSE remaining END) - ?, ` +
				`refilled_at = CASE WHEN refilled_at IS NULL OR refilled_at < ? THEN ? ELSE refilled_at END ` +
				`WHERE account = ? AND (CASE WHEN refilled_at IS NULL OR refilled_at < ? THEN ? ELSE remaining END) >= ? ` +
				`RETURNING remaining`,
		}
	}
	for _, p := range []*string{&q.setLimits, &q.readLimits, &q.readCredits, &q.lockCredits, &q.upsertCredits, &q.spend, &q.spendRefill} {
		*p = r.Replace(*p)
	}
	return q
}

// accountID is the credits row of an account.
func accountID(a apikey.CreditAccount) string {
	if a.KeyID == uuid.Nil {
		return "o/" + a.Owner
	}
	return "k/" + a.KeyID.String()
}

// encodeLimits returns limits as the JSON limits_json holds, or NULL.
func encodeLimits(l *apikey.Limits) (any, error) {
	if l == nil {
		return nil, nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil {
		return nil, fmt.Errorf("sqlstore: encode limits: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// SetLimits sets (nil removes) the limits of a key and its UpdatedAt, and
// records an EventLimitsChanged, in one transaction, or returns an error
// wrapping [apikey.ErrNotFound] (or [apikey.ErrConflict], see Delete).
func (s *Store) SetLimits(ctx context.Context, ch apikey.Change, id uuid.UUID, limits *apikey.Limits, guard *apikey.Guard) error {
	enc, err := encodeLimits(limits)
	if err != nil {
		return err
	}
	return s.recordedChange(ctx, "set limits of key", id, guard, func(tx *sql.Tx, k *apikey.Key) (apikey.Event, error) {
		var old sql.NullString
		if err := tx.QueryRowContext(ctx, s.lq.readLimits, id.String()).Scan(&old); err != nil {
			return apikey.Event{}, err
		}
		e := apikey.NewEvent(ch, apikey.EventLimitsChanged, k)
		if old.Valid {
			if err := json.Unmarshal([]byte(old.String), &e.Old.Limits); err != nil {
				return apikey.Event{}, fmt.Errorf("read limits: %w", err)
			}
		}
		e.New.Limits = limits.Clone()
		if _, err := tx.ExecContext(ctx, s.lq.setLimits, enc, s.dialect.timeArg(ch.At), id.String()); err != nil {
			return apikey.Event{}, err
		}
		return e, nil
	})
}

// ChangeCredits sets or adds to a balance, never below zero, and records
// an EventCreditsChanged, in one transaction that locks the key's row (a
// key's balance) or the owner's row (an owner's), then the balance's.
func (s *Store) ChangeCredits(ctx context.Context, ch apikey.Change, c apikey.CreditChange, guard *apikey.Guard) (int64, error) {
	var n int64
	change := func(tx *sql.Tx, k *apikey.Key) (apikey.Event, error) {
		c.Account.Owner = k.Owner
		var old int64
		var refilled any
		err := tx.QueryRowContext(ctx, s.lq.lockCredits, accountID(c.Account)).Scan(&old, &refilled)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return apikey.Event{}, fmt.Errorf("read credits: %w", err)
		}
		if c.Set != nil {
			n = *c.Set
		} else {
			n = max(old+c.Add, 0)
		}
		if _, err := tx.ExecContext(ctx, s.lq.upsertCredits, accountID(c.Account), n); err != nil {
			return apikey.Event{}, fmt.Errorf("write credits: %w", err)
		}
		e := apikey.NewEvent(ch, apikey.EventCreditsChanged, k)
		after := n
		e.Old.Credits, e.New.Credits = &old, &after
		return e, nil
	}
	if c.Account.KeyID != uuid.Nil {
		if err := s.recordedChange(ctx, "change credits of key", c.Account.KeyID, guard, change); err != nil {
			return 0, err
		}
		return n, nil
	}
	err := s.inTx(ctx, "change credits of owner", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q.insertOwner, c.Account.Owner); err != nil {
			return fmt.Errorf("owner row: %w", err)
		}
		var locked string
		if err := tx.QueryRowContext(ctx, s.q.lockOwner, c.Account.Owner).Scan(&locked); err != nil {
			return fmt.Errorf("lock owner: %w", err)
		}
		e, err := change(tx, &apikey.Key{Owner: c.Account.Owner})
		if err != nil {
			return err
		}
		return s.recordEvents(ctx, tx, e)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// SpendCredits takes cost from a balance with one conditional UPDATE,
// which also refills it when a refill is due: of concurrent spendings, the
// database's row lock lets exactly as many succeed as the balance pays
// for. A refused spending reads the balance with a second statement.
func (s *Store) SpendCredits(ctx context.Context, account apikey.CreditAccount, cost int64, refill *apikey.Refill, periodStart time.Time) (int64, bool, error) {
	if cost < 0 {
		return 0, false, fmt.Errorf("sqlstore: spend credits: negative cost %d", cost)
	}
	id := accountID(account)
	var query string
	var args []any
	switch {
	case refill == nil && s.dialect == Postgres:
		query, args = s.lq.spend, []any{cost, id}
	case refill == nil:
		query, args = s.lq.spend, []any{cost, id, cost}
	case s.dialect == Postgres:
		query, args = s.lq.spendRefill, []any{cost, s.dialect.timeArg(periodStart), refill.Amount, id}
	default:
		ps := s.dialect.timeArg(periodStart)
		query, args = s.lq.spendRefill, []any{ps, refill.Amount, cost, ps, ps, id, ps, refill.Amount, cost}
	}
	var left int64
	if s.dialect == MySQL {
		res, err := s.db.ExecContext(ctx, query, args...)
		if err != nil {
			return 0, false, fmt.Errorf("sqlstore: spend credits: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, false, fmt.Errorf("sqlstore: spend credits: %w", err)
		}
		if n == 1 {
			if left, err = res.LastInsertId(); err != nil {
				return 0, false, fmt.Errorf("sqlstore: spend credits: %w", err)
			}
			return left, true, nil
		}
	} else {
		err := s.db.QueryRowContext(ctx, query, args...).Scan(&left)
		if err == nil {
			return left, true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, false, fmt.Errorf("sqlstore: spend credits: %w", err)
		}
	}
	b, err := s.Credits(ctx, account)
	if errors.Is(err, apikey.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return b.Remaining, false, nil
}

// Credits returns a balance, or an error wrapping [apikey.ErrNotFound].
func (s *Store) Credits(ctx context.Context, account apikey.CreditAccount) (apikey.CreditBalance, error) {
	var b apikey.CreditBalance
	refilled := timeColumn{dst: &b.RefilledAt, wall: s.dialect == MySQL}
	err := s.db.QueryRowContext(ctx, s.lq.readCredits, accountID(account)).Scan(&b.Remaining, &refilled)
	if errors.Is(err, sql.ErrNoRows) {
		return apikey.CreditBalance{}, fmt.Errorf("sqlstore: credits of %s: %w", accountID(account), apikey.ErrNotFound)
	}
	if err != nil {
		return apikey.CreditBalance{}, fmt.Errorf("sqlstore: credits of %s: %w", accountID(account), err)
	}
	return b, nil
}
