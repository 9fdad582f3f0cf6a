package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

var _ apikey.SortedLister = (*Store)(nil)

// sortedCombo is one combination of ListSorted's order and filters: each
// has one fixed query text, built on first use and kept (see
// Store.sortedQuery).
type sortedCombo struct {
	sort                                  apikey.ListSort
	owner, status, group, name, after     bool
	expiringBefore, workingAt, hasPreview bool
}

func comboOf(q apikey.ListQuery) sortedCombo {
	return sortedCombo{
		sort:           q.Sort,
		owner:          q.Owner != "",
		status:         q.Status == apikey.StatusActive || q.Status == apikey.StatusInactive,
		group:          q.Group != "",
		name:           q.Name != "",
		after:          !q.After.IsZero(),
		expiringBefore: !q.ExpiringBefore.IsZero(),
		workingAt:      !q.WorkingAt.IsZero(),
		hasPreview:     q.Preview != "",
	}
}

// sortedQueryText returns the query of one combination, with "{{table}}"
// still in it. Its arguments are, in order: the owner, the status, the
// group, the name search, the preview, the expiry cut-off, the time of
// WorkingAt (twice), the cursor, the limit (each only if used).
//
// Access paths (migration 0007 adds the indexes): the creation orders read
// the indexes of List (see listQuery) forwards or backwards, and the
// preview (owner, preview); the name order (owner, name, id) and the expiry
// order (owner, expires_at, id), both with the group as an EXISTS on the
// membership's primary key, read and skipped. WorkingAt is a residual
// condition on the active index: a key that stopped working but is not yet
// pruned is read and skipped.
func (d Dialect) sortedQueryText(c sortedCombo) string {
	b := d.b()
	ph := b.placeholder
	n := 0
	next := func() string { n++; return ph(n) }
	table, groups := b.quote("{{table}}"), b.quote("{{table}}_groups")
	creation := c.sort == apikey.SortCreated || c.sort == apikey.SortCreatedDesc
	// t is the table whose index pages: the group memberships for a
	// creation order with a group filter, the keys otherwise.
	t, id := "k", "k.id"
	joinGroups := creation && c.group && !c.hasPreview
	if joinGroups {
		t, id = "g", "g.key_id"
	}
	var conds []string
	if c.owner {
		conds = append(conds, t+".owner = "+next())
	}
	if c.status {
		conds = append(conds, t+".active = "+next())
	}
	if c.group {
		if joinGroups {
			conds = append(conds, "g.group_name = "+next())
		} else {
			conds = append(conds, "EXISTS (SELECT 1 FROM "+groups+" AS m WHERE m.key_id = k.id AND m.group_name = "+next()+")")
		}
	}
	if c.name {
		arg := next()
		conds = append(conds, b.nameMatch(arg))
	}
	if c.hasPreview {
		conds = append(conds, "k.preview = "+next())
	}
	if c.sort == apikey.SortExpiry {
		conds = append(conds, "k.expires_at IS NOT NULL")
	}
	if c.expiringBefore {
		conds = append(conds, "k.expires_at < "+next())
	}
	if c.workingAt {
		if c.sort != apikey.SortExpiry {
			// In the expiry order the cursor starts after now instead
			// (see sortedSQL): one range of the index.
			conds = append(conds, "(k.expires_at IS NULL OR k.expires_at > "+next()+")")
		}
		conds = append(conds, "(k.grace_ends_at IS NULL OR k.grace_ends_at > "+next()+")")
	}
	var first string // the first column of the order
	switch c.sort {
	case apikey.SortName:
		first = b.nameOrder
	case apikey.SortExpiry:
		first = "k.expires_at"
	default:
		first = t + ".created_at"
	}
	dir, cmp := "", ">"
	if c.sort == apikey.SortCreatedDesc {
		dir, cmp = " DESC", "<"
	}
	if c.after {
		if b.rowValues {
			conds = append(conds, "("+first+", "+id+") "+cmp+" ("+next()+", "+next()+")")
		} else {
			conds = append(conds, "("+first+" "+cmp+" "+next()+" OR ("+first+" = "+next()+" AND "+id+" "+cmp+" "+next()+"))")
		}
	}
	q := "SELECT " + qualifiedColumns + " FROM " + table + " AS k"
	if joinGroups {
		q = "SELECT " + b.joinHint + qualifiedColumns + " FROM " + groups + " AS g JOIN " + table + " AS k ON k.id = g.key_id"
	}
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	return q + " ORDER BY " + first + dir + ", " + id + dir + " LIMIT " + next()
}

// sortedQuery returns the query of one combination for this Store's table.
func (s *Store) sortedQuery(c sortedCombo) string {
	if q, ok := s.sorted.Load(c); ok {
		return q.(string)
	}
	q := strings.ReplaceAll(s.dialect.sortedQueryText(c), "{{table}}", s.table)
	s.sorted.Store(c, q)
	return q
}

// ListSortedSQL returns the query and arguments ListSorted runs for q, for
// an operator to run under EXPLAIN. In the expiry order, q.ExpiringBefore
// is not in it: ListSorted stops the page there (see ListSorted).
func (s *Store) ListSortedSQL(q apikey.ListQuery) (query string, args []any) {
	if q.Sort == apikey.SortExpiry {
		q.ExpiringBefore = time.Time{}
	}
	return s.sortedSQL(q)
}

// sortedSQL returns the query and arguments of q with every filter as a
// condition.
func (s *Store) sortedSQL(q apikey.ListQuery) (query string, args []any) {
	if q.Sort == apikey.SortExpiry && !q.WorkingAt.IsZero() {
		// A key of the expiry order works at WorkingAt only if it expires
		// after it: the list starts there, at the latest.
		start := apikey.Cursor{ExpiresAt: q.WorkingAt, ID: uuid.Max}
		if q.After.IsZero() || q.After.ExpiresAt.Before(start.ExpiresAt) {
			q.After = start
		}
	}
	c := comboOf(q)
	args = make([]any, 0, 12)
	if c.owner {
		args = append(args, q.Owner)
	}
	if c.status {
		args = append(args, q.Status == apikey.StatusActive)
	}
	if c.group {
		args = append(args, q.Group)
	}
	if c.name {
		args = append(args, s.dialect.lowerForSearch(q.Name))
	}
	if c.hasPreview {
		args = append(args, q.Preview)
	}
	if c.expiringBefore {
		args = append(args, s.dialect.timeArg(q.ExpiringBefore))
	}
	if c.workingAt {
		at := s.dialect.timeArg(q.WorkingAt)
		if args = append(args, at); c.sort != apikey.SortExpiry {
			args = append(args, at)
		}
	}
	if c.after {
		var first any
		id := q.After.ID
		switch q.Sort {
		case apikey.SortName:
			first = q.After.Name
		case apikey.SortExpiry:
			first = s.dialect.timeArg(q.After.ExpiresAt)
			if q.After.ExpiresAt.Nanosecond()%1000 != 0 {
				id = uuid.Max // stored times are whole microseconds (see ListSQL)
			}
		default:
			first = s.dialect.timeArg(q.After.CreatedAt)
			if q.After.CreatedAt.Nanosecond()%1000 != 0 {
				id = uuid.Max
				if q.Sort == apikey.SortCreatedDesc {
					id = uuid.Nil
				}
			}
		}
		args = append(args, s.dialect.b().cursorArgs(first, id.String())...)
	}
	return s.sortedQuery(c), append(args, max(q.Limit, 1))
}

// ListSorted returns at most q.Limit keys (at least one) matching every
// filter of q, in the order q.Sort, after q.After (see
// [apikey.SortedLister]): one SELECT, whose access path [Dialect]'s
// package documentation and migration 0007 state.
//
// ExpiringBefore is no condition of the query: in the expiry order it is
// where the page stops, so the query is the expiry order's, one range of
// (owner, expires_at, id), and the keys from the cut-off on are dropped (a
// page cut short is the last). As a condition, PostgreSQL's generic plan
// can prefer a bitmap of every key of the owner.
func (s *Store) ListSorted(ctx context.Context, q apikey.ListQuery) ([]*apikey.Key, error) {
	cut := q.ExpiringBefore
	query, args := s.ListSortedSQL(q)
	keys, err := s.listKeys(ctx, query, args, q.Limit)
	if err != nil || cut.IsZero() || q.Sort != apikey.SortExpiry {
		return keys, err
	}
	for i, k := range keys {
		if !k.ExpiresAt.Before(cut) {
			return keys[:i], nil
		}
	}
	return keys, nil
}

// countSorted counts the keys ListSorted pages through for q.
func (s *Store) countSorted(ctx context.Context, q apikey.ListQuery) (int, error) {
	q.After, q.Limit = apikey.Cursor{}, 1
	query, args := s.sortedSQL(q)
	var n int
	if err := s.db.QueryRowContext(ctx, countQuery(query), args[:len(args)-1]...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count keys: %w", err)
	}
	return n, nil
}
