package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// refStore is the simplest correct Store (a slice under a mutex, searched
// linearly), into which one named bug can be switched: each bug is a mistake
// a real store could make, and mutants_test.go checks that the suite
// catches every one of them.
type refStore struct {
	bug string

	// createdActive is the status of each key when it was created, which
	// the group-status-stale bug filters by.
	createdActive map[uuid.UUID]bool
	mu            sync.Mutex
	keys          []*apikey.Key // in creation order
	ghosts        []*apikey.Key // deleted keys, still found by the delete-keeps-lookup bug

	events   []apikey.Event // the audit trail (reference_events_test.go)
	position int64
	ownerSeq map[string]int64
	outside  atomic.Int64 // positions given outside the lock (the position-outside-lock bug)

	credits map[apikey.CreditAccount]*refBalance // credit balances (reference_limits_test.go)
	usage   refUsage                             // usage counts (reference_usage_test.go)
}

var _ apikey.Store = (*refStore)(nil)

func (s *refStore) has(bug string) bool { return s.bug == bug }

func (s *refStore) utc(t time.Time) time.Time {
	if s.has("keeps-zone") {
		return t
	}
	return t.UTC()
}

// copyIn returns the copy of k that the store keeps.
func (s *refStore) copyIn(k *apikey.Key) *apikey.Key {
	switch {
	case s.has("keeps-caller-key"):
		return k
	case s.has("shallow-copy"):
		c := *k
		return &c
	}
	c := k.Clone()
	c.CreatedAt, c.UpdatedAt = s.utc(c.CreatedAt), s.utc(c.UpdatedAt)
	if c.LastUsedAt != nil {
		*c.LastUsedAt = s.utc(*c.LastUsedAt)
	}
	if c.ExpiresAt != nil {
		*c.ExpiresAt = s.utc(*c.ExpiresAt)
	}
	switch {
	case s.has("drops-expiry"):
		c.ExpiresAt = nil
	case s.has("trims-names"):
		c.Name = strings.TrimSpace(c.Name)
	case s.has("sorts-groups"):
		slices.Sort(c.Groups)
	case s.has("groups-comma-joined"):
		c.Groups = strings.Split(strings.Join(c.Groups, ","), ",")
	case s.has("owner-dropped"):
		c.Owner = ""
	case s.has("metadata-dropped"):
		c.Metadata = nil
	case s.has("metadata-shared"):
		c.Metadata = k.Metadata
	case s.has("limits-dropped"):
		c.Limits = nil
	case s.has("lifecycle-dropped"):
		c.RolledTo, c.GraceEndsAt = uuid.Nil, nil
	}
	if c.RolledAt != nil {
		*c.RolledAt = s.utc(*c.RolledAt)
	}
	if c.GraceEndsAt != nil {
		*c.GraceEndsAt = s.utc(*c.GraceEndsAt)
	}
	return c
}

// copyOut returns the copy of a stored key that the store hands out.
func (s *refStore) copyOut(k *apikey.Key) *apikey.Key {
	switch {
	case s.has("returns-stored"):
		return k
	case s.has("shallow-copy"):
		c := *k
		return &c
	}
	return k.Clone()
}

func (s *refStore) notFound() error {
	if s.has("not-found-other-error") {
		return errors.New("ref: no rows in result set")
	}
	return fmt.Errorf("ref: %w", apikey.ErrNotFound)
}

func (s *refStore) find(id uuid.UUID) int {
	return slices.IndexFunc(s.keys, func(k *apikey.Key) bool { return k.ID == id })
}

func (s *refStore) findLookup(lookupID string) *apikey.Key {
	keys := s.keys
	if s.has("delete-keeps-lookup") {
		keys = slices.Concat(s.keys, s.ghosts)
	}
	for _, k := range keys {
		if k.LookupID == lookupID || (s.has("lookup-case-insensitive") && strings.EqualFold(k.LookupID, lookupID)) {
			return k
		}
	}
	return nil
}

func (s *refStore) Create(ctx context.Context, c apikey.Change, k *apikey.Key, maxPerOwner int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if maxPerOwner > 0 && !s.has("quota-ignored") {
		n := 0
		for _, other := range s.keys {
			if other.Owner == k.Owner || s.has("quota-all-owners") {
				n++
			}
		}
		if s.has("quota-check-then-insert") {
			s.mu.Unlock()
			runtime.Gosched()
			s.mu.Lock()
		}
		if n >= maxPerOwner {
			if s.has("quota-refused-stored") {
				s.keys = append(s.keys, s.copyIn(k))
			}
			return fmt.Errorf("ref: %w", apikey.ErrQuotaExceeded)
		}
	}
	if i := s.find(k.ID); i >= 0 {
		if s.has("create-overwrites") {
			s.keys[i] = s.copyIn(k)
			return nil
		}
		return fmt.Errorf("ref: %w", apikey.ErrDuplicate)
	}
	if !s.has("duplicate-lookup-id") && s.findLookup(k.LookupID) != nil {
		return fmt.Errorf("ref: %w", apikey.ErrDuplicate)
	}
	if s.has("create-check-then-insert") {
		s.mu.Unlock()
		runtime.Gosched()
		s.mu.Lock()
	}
	s.keys = append(s.keys, s.copyIn(k))
	s.recordIssued(ctx, c, k)
	if s.createdActive == nil {
		s.createdActive = make(map[uuid.UUID]bool)
	}
	s.createdActive[k.ID] = k.Active
	return nil
}

func (s *refStore) Get(_ context.Context, id uuid.UUID) (*apikey.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.find(id); i >= 0 {
		return s.copyOut(s.keys[i]), nil
	}
	return nil, s.notFound()
}

func (s *refStore) GetByLookupID(_ context.Context, lookupID string) (*apikey.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.findLookup(lookupID); k != nil {
		return s.copyOut(k), nil
	}
	return nil, s.notFound()
}

func (s *refStore) compare(k *apikey.Key, c apikey.Cursor) int {
	if s.has("list-time-as-text") {
		kt, ct := k.CreatedAt.UTC().Format(time.RFC3339Nano), c.CreatedAt.UTC().Format(time.RFC3339Nano)
		if n := strings.Compare(kt, ct); n != 0 {
			return n
		}
	} else if n := k.CreatedAt.Compare(c.CreatedAt); n != 0 {
		return n
	}
	if s.has("list-ties-by-insertion") {
		return 0
	}
	return bytes.Compare(k.ID[:], c.ID[:])
}

func (s *refStore) groupMatches(groups []string, filter string) bool {
	switch {
	case s.has("group-substring"):
		return strings.Contains(strings.Join(groups, ","), filter)
	case s.has("group-like"):
		var pattern strings.Builder
		for _, r := range filter {
			switch r {
			case '%':
				pattern.WriteString(".*")
			case '_':
				pattern.WriteString(".")
			default:
				pattern.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		re := regexp.MustCompile("^" + pattern.String() + "$")
		return slices.ContainsFunc(groups, re.MatchString)
	case s.has("group-fold"):
		return slices.ContainsFunc(groups, func(g string) bool { return strings.EqualFold(g, filter) })
	}
	return slices.Contains(groups, filter)
}

func (s *refStore) ownerMatches(owner, filter string) bool {
	switch {
	case s.has("owner-filter-ignored"):
		return true
	case s.has("owner-prefix"):
		return strings.HasPrefix(owner, filter)
	case s.has("owner-fold"):
		return strings.EqualFold(owner, filter)
	}
	return owner == filter
}

// nameMatches is the name search of ListQuery.Name: a substring, ASCII
// letters regardless of case.
func (s *refStore) nameMatches(name, search string) bool {
	caseSensitive := s.has("name-case-sensitive")
	fold := func(v string) string {
		b := []byte(v)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' && !caseSensitive {
				b[i] = c + 'a' - 'A'
			}
		}
		return string(b)
	}
	name, search = fold(name), fold(search)
	switch {
	case s.has("name-ignored"):
		return true
	case s.has("name-prefix"):
		return strings.HasPrefix(name, search)
	case s.has("name-like"):
		pattern := regexp.QuoteMeta(search)
		pattern = strings.NewReplacer("%", ".*", "_", ".").Replace(pattern)
		return regexp.MustCompile(pattern).MatchString(name)
	}
	return strings.Contains(name, search)
}

// ignoringOwner returns guard without its owner if the store has the bug
// that ignores the owner in the named method.
func (s *refStore) ignoringOwner(method string, guard *apikey.Guard) *apikey.Guard {
	if guard == nil || !s.has("owner-ignored-"+method) {
		return guard
	}
	return &apikey.Guard{Groups: guard.Groups}
}

func (s *refStore) List(_ context.Context, q apikey.ListQuery) ([]*apikey.Key, error) {
	if !s.has("list-unlocked") {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	sorted := slices.Clone(s.keys)
	if !s.has("list-insertion-order") {
		slices.SortStableFunc(sorted, func(a, b *apikey.Key) int {
			return s.compare(a, apikey.Cursor{CreatedAt: b.CreatedAt, ID: b.ID})
		})
	}
	limit := max(q.Limit, 1)
	if s.has("limit-ignored") || (s.has("limit-below-one-unlimited") && q.Limit < 1) {
		limit = len(sorted) + 1
	}
	start := 0
	if !q.After.IsZero() {
		if s.has("cursor-by-key") || (s.has("filtered-cursor-by-key") && (q.Owner != "" || q.Group != "")) {
			start = slices.IndexFunc(sorted, func(k *apikey.Key) bool { return k.ID == q.After.ID }) + 1
		} else {
			for start < len(sorted) && s.compare(sorted[start], q.After) < 0 {
				start++
			}
			if !s.has("cursor-inclusive") && start < len(sorted) && s.compare(sorted[start], q.After) == 0 {
				start++
			}
		}
	}
	out := []*apikey.Key{}
	for _, k := range sorted[start:] {
		if len(out) == limit {
			break
		}
		active := k.Active
		if s.has("group-status-stale") && q.Group != "" {
			active = s.createdActive[k.ID]
		}
		if !s.has("status-ignored") && !q.Status.Matches(active) {
			continue
		}
		if q.Group != "" && !s.groupMatches(k.Groups, q.Group) {
			continue
		}
		if q.Owner != "" && !s.ownerMatches(k.Owner, q.Owner) {
			continue
		}
		if q.Name != "" && !s.nameMatches(k.Name, q.Name) {
			continue
		}
		out = append(out, s.copyOut(k))
	}
	if s.has("short-pages") && len(out) == limit && limit > 1 {
		out = out[:limit-1]
	}
	if s.has("empty-list-error") && len(out) == 0 {
		return nil, errors.New("ref: no rows in result set")
	}
	return out, nil
}

// Count counts what List returns, with the count bugs.
func (s *refStore) Count(ctx context.Context, q apikey.ListQuery) (int, error) {
	if q.Sort != apikey.SortCreated || !q.ExpiringBefore.IsZero() || !q.WorkingAt.IsZero() || q.Preview != "" {
		if s.has("count-ignores-working") {
			q.WorkingAt = time.Time{}
		}
		q.After, q.Limit = apikey.Cursor{}, 1<<30
		keys, err := s.ListSorted(ctx, q)
		return len(keys), err
	}
	if s.has("count-ignores-owner") {
		q.Owner = ""
	}
	if !s.has("count-honours-cursor") {
		q.After = apikey.Cursor{}
	}
	q.Limit = 1 << 30
	keys, err := s.List(ctx, q)
	return len(keys), err
}

func (s *refStore) Delete(ctx context.Context, c apikey.Change, id uuid.UUID, guard *apikey.Guard) error {
	guard = s.ignoringOwner("delete", guard)
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.locate(id, guard)
	if err != nil || i < 0 {
		return err
	}
	s.recordRemoved(ctx, c, apikey.EventDeleted, s.keys[i])
	s.ghosts = append(s.ghosts, s.keys[i])
	s.keys = slices.Delete(s.keys, i, i+1)
	return nil
}

// update applies change to the stored key under the lock. change returns
// false if it changed nothing, which the unchanged-is-notfound bug reports
// as ErrNotFound, as a SQL store that counts changed rows would.
//
// event, if not nil, returns the event of the change from the key as it
// was, recorded with it.
func (s *refStore) update(ctx context.Context, id uuid.UUID, guard *apikey.Guard, event func(k *apikey.Key) apikey.Event, change func(k *apikey.Key) bool) error {
	if guard != nil && s.has("guard-then-change") {
		// Check the guard under one lock and change under another: a
		// concurrent change of the groups slips in between.
		s.mu.Lock()
		_, err := s.locate(id, guard)
		s.mu.Unlock()
		if err != nil {
			return err
		}
		runtime.Gosched()
		guard = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.locate(id, guard)
	if err != nil && event != nil && s.has("event-on-refused") {
		if j := s.find(id); j >= 0 {
			s.record(ctx, event(s.keys[j]))
		}
	}
	if err != nil || i < 0 {
		return err
	}
	if event != nil {
		s.record(ctx, event(s.keys[i]))
	}
	if !change(s.keys[i]) && s.has("unchanged-is-notfound") {
		return s.notFound()
	}
	return nil
}

func (s *refStore) SetName(ctx context.Context, c apikey.Change, id uuid.UUID, name string, guard *apikey.Guard) error {
	guard = s.ignoringOwner("setname", guard)
	if s.has("rename-stale-write") {
		// Read the whole record, change it outside the lock, write it all
		// back: concurrent changes to other fields are lost.
		k, err := s.Get(ctx, id)
		if err != nil {
			return err
		}
		runtime.Gosched()
		k.Name, k.UpdatedAt = name, c.At.UTC()
		return s.update(ctx, id, guard, s.renamed(c, name), func(stored *apikey.Key) bool { *stored = *k; return true })
	}
	return s.update(ctx, id, guard, s.renamed(c, name), func(k *apikey.Key) bool {
		changed := k.Name != name || !k.UpdatedAt.Equal(c.At)
		k.Name, k.UpdatedAt = name, s.utc(c.At)
		if s.has("updatedat-own-clock") {
			// A second read of a clock: the key's time is not its
			// event's.
			k.UpdatedAt = s.utc(c.At.Add(time.Second))
		}
		if s.has("setname-touches-active") {
			k.Active = true
		}
		return changed
	})
}

func (s *refStore) SetGroups(ctx context.Context, c apikey.Change, id uuid.UUID, groups []string, guard *apikey.Guard) error {
	guard = s.ignoringOwner("setgroups", guard)
	event := func(k *apikey.Key) apikey.Event {
		e := apikey.NewEvent(c, apikey.EventGroupsChanged, k)
		e.Old.Groups, e.New.Groups = slices.Clone(k.Groups), slices.Clone(groups)
		return e
	}
	return s.update(ctx, id, guard, event, func(k *apikey.Key) bool {
		changed := !slices.Equal(k.Groups, groups) || !k.UpdatedAt.Equal(c.At)
		switch {
		case s.has("setgroups-keeps-slice"):
			k.Groups = groups
		case s.has("setgroups-appends"):
			merged := slices.Clone(k.Groups)
			for _, g := range groups {
				if !slices.Contains(merged, g) {
					merged = append(merged, g)
				}
			}
			k.Groups = merged
		default:
			k.Groups = slices.Clone(groups)
		}
		k.UpdatedAt = s.utc(c.At)
		return changed
	})
}

func (s *refStore) SetActive(ctx context.Context, c apikey.Change, id uuid.UUID, active bool, guard *apikey.Guard) error {
	guard = s.ignoringOwner("setactive", guard)
	kind := apikey.EventDeactivated
	if active {
		kind = apikey.EventActivated
	}
	event := func(k *apikey.Key) apikey.Event { return apikey.NewEvent(c, kind, k) }
	if s.has("event-duplicated") {
		event = func(k *apikey.Key) apikey.Event {
			s.record(ctx, apikey.NewEvent(c, kind, k))
			return apikey.NewEvent(c, kind, k)
		}
	}
	return s.update(ctx, id, guard, event, func(k *apikey.Key) bool {
		changed := k.Active != active || !k.UpdatedAt.Equal(c.At)
		k.Active = active
		if !s.has("setactive-no-updatedat") {
			k.UpdatedAt = s.utc(c.At)
		}
		return changed
	})
}

func (s *refStore) SetHash(ctx context.Context, id uuid.UUID, hash string) error {
	var event func(k *apikey.Key) apikey.Event
	if s.has("sethash-event") {
		event = func(k *apikey.Key) apikey.Event { return apikey.NewEvent(opAt(time.Now()), apikey.EventRenamed, k) }
	}
	return s.update(ctx, id, nil, event, func(k *apikey.Key) bool {
		changed := k.Hash != hash
		k.Hash = hash
		if s.has("sethash-updates-updatedat") {
			k.UpdatedAt = time.Now().UTC()
		}
		return changed
	})
}

// locate returns the index of the stored key with the given ID, after
// checking guard (see checkGuard). The caller holds s.mu. An index of -1
// with a nil error is the update-unknown-nil bug: the caller changes
// nothing and reports success.
func (s *refStore) locate(id uuid.UUID, guard *apikey.Guard) (int, error) {
	i := s.find(id)
	if i < 0 {
		if s.has("update-unknown-nil") {
			return -1, nil
		}
		return -1, s.notFound()
	}
	return i, s.checkGuard(s.keys[i], guard)
}

// checkGuard returns ErrNotFound if guard names another owner than k's,
// and ErrConflict if it names other groups than k's. The caller holds s.mu.
func (s *refStore) checkGuard(k *apikey.Key, guard *apikey.Guard) error {
	if guard == nil {
		return nil
	}
	groupsOK := guard.Groups == nil || s.has("guard-ignored") || slices.Equal(k.Groups, guard.Groups)
	if s.has("owner-checked-after-groups") && !groupsOK {
		return apikey.ErrConflict
	}
	if guard.Owner != "" && !s.ownerMatches(k.Owner, guard.Owner) && !s.has("owner-filter-ignored") {
		if s.has("owner-conflict-not-notfound") {
			return apikey.ErrConflict
		}
		return s.notFound()
	}
	if !groupsOK {
		return apikey.ErrConflict
	}
	return nil
}

func (s *refStore) RecordLastUsed(_ context.Context, uses map[uuid.UUID]time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, at := range uses {
		i := s.find(id)
		if i < 0 {
			if s.has("last-used-unknown-error") {
				return s.notFound()
			}
			continue
		}
		last := s.keys[i].LastUsedAt
		if s.has("last-used-stale") {
			// Compare with a value read earlier, then write: a
			// concurrent later time is overwritten.
			s.mu.Unlock()
			runtime.Gosched()
			s.mu.Lock()
			if i = s.find(id); i < 0 {
				continue
			}
		}
		if last == nil || at.After(*last) || s.has("last-used-backwards") {
			t := s.utc(at)
			s.keys[i].LastUsedAt = &t
		}
	}
	return nil
}
