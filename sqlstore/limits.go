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

// limitQueries returns the dialect's limit queries (its dialect file's
// table) with r applied.
func (d Dialect) limitQueries(r *strings.Replacer) limitQueries {
	q := *d.b().limits
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
	b := s.dialect.b()
	var query string
	var args []any
	if refill == nil {
		query, args = s.lq.spend, b.spendArgs(cost, id)
	} else {
		query, args = s.lq.spendRefill, b.spendRefillArgs(cost, id, refill.Amount, s.dialect.timeArg(periodStart))
	}
	left, spent, err := b.spend(ctx, s.db, query, args)
	if err != nil {
		return 0, false, fmt.Errorf("sqlstore: spend credits: %w", err)
	}
	if spent {
		return left, true, nil
	}
	bal, err := s.Credits(ctx, account)
	if errors.Is(err, apikey.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return bal.Remaining, false, nil
}

// Credits returns a balance, or an error wrapping [apikey.ErrNotFound].
func (s *Store) Credits(ctx context.Context, account apikey.CreditAccount) (apikey.CreditBalance, error) {
	var b apikey.CreditBalance
	refilled := timeColumn{dst: &b.RefilledAt, wall: s.dialect.b().wallTimes}
	err := s.db.QueryRowContext(ctx, s.lq.readCredits, accountID(account)).Scan(&b.Remaining, &refilled)
	if errors.Is(err, sql.ErrNoRows) {
		return apikey.CreditBalance{}, fmt.Errorf("sqlstore: credits of %s: %w", accountID(account), apikey.ErrNotFound)
	}
	if err != nil {
		return apikey.CreditBalance{}, fmt.Errorf("sqlstore: credits of %s: %w", accountID(account), err)
	}
	return b, nil
}

// spendReturning is behaviour.spend for a dialect with RETURNING: no row
// means the balance did not pay (or there is none).
func spendReturning(ctx context.Context, db *sql.DB, query string, args []any) (int64, bool, error) {
	var left int64
	err := db.QueryRowContext(ctx, query, args...).Scan(&left)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return left, true, nil
}

// spendLastInsertID is behaviour.spend for MySQL: the statement hands the
// new balance back as LAST_INSERT_ID, and no row affected means the
// balance did not pay (or there is none).
func spendLastInsertID(ctx context.Context, db *sql.DB, query string, args []any) (int64, bool, error) {
	res, err := db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, false, err
	}
	if n != 1 {
		return 0, false, nil
	}
	left, err := res.LastInsertId()
	if err != nil {
		return 0, false, err
	}
	return left, true, nil
}
