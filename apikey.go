package apikey

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Manager issues, verifies and manages keys kept in a Store. It is safe for
// concurrent use. Call Close when done with it: it writes the last-used
// times still in memory and stops its background flush.
type Manager struct {
	store         Store
	prefix        string
	prefixSep     string // prefix + "_", how every key of this Manager starts
	secretChars   int
	hasher        Hasher
	verifyHashers []Hasher // hasher first, then the configured and built-in readers
	groups        map[string]Group
	clock         func() time.Time
	logger        *slog.Logger
	uses          usageRecorder
	usageStore    UsageStore   // nil: no metering
	cache         *verifyCache // nil when disabled
	ownerQuota    int          // 0: no limit
	inMemory      bool         // the Store answers from memory: no deadline, no single flight
	lookups       lookups
	misses        missCache // disabled for a Store in memory
	counters      counters

	verifyDeadline time.Duration // negative: none
	closeTimeout   time.Duration
	expiryPolicy   func(owner string) ExpiryPolicy // nil: none

	closed      atomic.Bool
	closeOnce   sync.Once
	stopFlush   chan struct{}
	flushDone   chan struct{}
	flushCtx    context.Context // cancelled by Close, to cut a flush short
	cancelFlush context.CancelFunc
	closeErr    error

	flushEvery time.Duration // the background flush interval; 0: none

	limits      *limitEngine // usage limits (see limit_check.go)
	feed        *feed        // nil: no change feed
	feedSuccess atomic.Int64 // Unix nanoseconds (Manager clock) of the start of the last successful poll; 0: none
	created     time.Time
}

// New returns a Manager that keeps keys in store. Unless
// [WithLastUsedFlushInterval] is negative, it starts one goroutine that
// flushes last-used times, stopped by Close.
func New(store Store, opts ...Option) (*Manager, error) {
	if store == nil {
		return nil, errors.New("apikey: New: nil Store")
	}
	c := defaultConfig()
	for _, opt := range opts {
		if err := opt(&c); err != nil {
			return nil, err
		}
	}
	m := &Manager{
		store:       store,
		prefix:      c.prefix,
		prefixSep:   c.prefix + "_",
		secretChars: secretLength(c.secretBits),
		hasher:      c.hasher,
		clock:       c.clock,
		logger:      c.logger,
		ownerQuota:  c.ownerQuota,
		inMemory:    inMemory(store),

		verifyDeadline: c.verifyDeadline,
		closeTimeout:   c.closeTimeout,
		expiryPolicy:   c.expiryPolicy,
		flushEvery:     max(c.flushInterval, 0),
	}
	m.flushCtx, m.cancelFlush = context.WithCancel(context.Background())
	m.usageStore = usageStoreOf(store)
	m.uses.metering = m.usageStore != nil
	m.verifyHashers = append([]Hasher{c.hasher}, c.verifyHashers...)
	m.verifyHashers = append(m.verifyHashers, SHA256Hasher{}, Argon2idHasher{}, BcryptHasher{})
	if len(c.groups) > 0 {
		m.groups = make(map[string]Group, len(c.groups))
		for _, g := range c.groups {
			m.groups[g.Name] = g
		}
	}
	if c.cacheTTL > 0 {
		m.cache = newVerifyCache(c.cacheTTL, c.cacheSize)
	}
	if !m.inMemory {
		// A Store in memory answers a miss as fast as the negative cache.
		lifetime := maxMissLifetime
		if c.cacheTTL > 0 {
			lifetime = min(lifetime, c.cacheTTL)
		}
		if c.feedInterval > 0 {
			lifetime = min(lifetime, c.feedMaxStale)
		}
		m.misses = newMissCache(lifetime)
	}
	m.created = m.now()
	m.limits = newLimitEngine(m, c.limits)
	if c.feedInterval > 0 {
		if err := m.startFeed(c); err != nil {
			return nil, err
		}
	}
	if c.flushInterval > 0 {
		m.stopFlush = make(chan struct{})
		m.flushDone = make(chan struct{})
		go m.flushLoop(c.flushInterval)
	}
	return m, nil
}

// now returns the current time in UTC, truncated to the microsecond
// precision that every Store keeps.
func (m *Manager) now() time.Time {
	return m.clock().UTC().Truncate(time.Microsecond)
}

// IssueRequest describes a key to issue.
type IssueRequest struct {
	// Name labels the key for administrators. Required; see ValidateName.
	Name string

	// Groups are the permission groups the key holds; at least one is
	// required. Duplicates are dropped and the groups are sorted.
	Groups []string

	// CreatedBy names the administrator issuing the key. It is ignored when
	// the context carries an Actor (see [NewActorContext]), whose name is recorded
	// instead; otherwise it is required.
	CreatedBy string

	// ExpiresAt, if not zero, is when the key stops working: after now and
	// no later than [MaxExpiry] (see [ValidateExpiry]), and within the
	// owner's expiry policy (see [WithExpiryPolicy]). Zero gives the key
	// the policy's default lifetime, or no expiry if the policy has none.
	ExpiresAt time.Time

	// Owner is the owner of the key (see [ValidateOwner]). With an actor in
	// the context it must be empty or the actor's own owner, which the key
	// then gets; trusted code (no actor) that leaves it empty issues the
	// key to DefaultOwner.
	Owner string

	// Metadata is the application's own data about the key, stored and
	// returned verbatim (see [ValidateMetadata]); optional.
	Metadata map[string]string

	// Limits are the key's own usage limits (see [Limits]); optional. A
	// Store that cannot keep them (see [LimitStore]) refuses the key with
	// an error wrapping errors.ErrUnsupported.
	Limits *Limits
}

// Issue creates a key and returns its record and its plaintext. The
// plaintext is returned only after the record is stored, exactly once: only
// its hash is kept, so a lost key cannot be recovered, only replaced. Show it
// to the administrator and forget it.
//
// Errors wrap ErrInvalidName, ErrInvalidGroup, ErrUnknownGroup,
// ErrInvalidOwner, ErrInvalidMetadata, ErrEscalation, ErrInvalidExpiry,
// ErrExpiryPolicy, ErrQuotaExceeded or ErrStoreFailure. A refused value is a
// [*ValidationError] that names the field, and a refused escalation an
// [*EscalationError] that names the groups.
func (m *Manager) Issue(ctx context.Context, req IssueRequest) (*Key, string, error) {
	if m.closed.Load() {
		return nil, "", ErrClosed
	}
	if err := ValidateName(req.Name); err != nil {
		return nil, "", err
	}
	groups, err := m.checkGroups(ctx, req.Groups)
	if err != nil {
		return nil, "", err
	}
	owner := req.Owner
	createdBy := req.CreatedBy
	if actor, ok := ActorFromContext(ctx); ok {
		createdBy = actor.Name
		if scope := actor.scope(); scope != "" {
			if owner != "" && owner != scope {
				return nil, "", fmt.Errorf("%w: an administrator issues keys only to their own owner", ErrEscalation)
			}
			owner = scope
		}
	}
	if owner == "" {
		owner = DefaultOwner
	}
	if err := ValidateOwner(owner); err != nil {
		return nil, "", err
	}
	if err := ValidateMetadata(req.Metadata); err != nil {
		return nil, "", err
	}
	if err := m.checkIssueLimits(ctx, req.Limits); err != nil {
		return nil, "", err
	}
	if err := ValidateName(createdBy); err != nil {
		var v *ValidationError
		if errors.As(err, &v) {
			v.Field = "CreatedBy"
		}
		return nil, "", err
	}
	change := m.change(ctx)
	now := change.At
	expiresAt, err := m.resolveExpiry(expiryRequest{owner: owner, requested: req.ExpiresAt, useDefault: true, createdAt: now, now: now})
	if err != nil {
		return nil, "", err
	}
	// A lookup ID collision (72 random bits) is all but impossible, but a
	// duplicate must never be silently overwritten: draw again.
	for attempt := 0; ; attempt++ {
		k, plaintext, err := m.newSecret()
		if err != nil {
			return nil, "", err
		}
		k.Owner = owner
		k.Name = req.Name
		k.Groups = groups
		k.Active = true
		k.CreatedAt, k.UpdatedAt = now, now
		k.CreatedBy = createdBy
		k.ExpiresAt = expiresAt
		k.Metadata = maps.Clone(req.Metadata)
		k.Limits = req.Limits.Clone()
		err = m.store.Create(ctx, change, k, m.ownerQuota)
		if errors.Is(err, ErrDuplicate) && attempt < 2 {
			continue
		}
		if err != nil {
			return nil, "", m.storeError("create", err)
		}
		m.misses.forget(k.LookupID)
		return k, plaintext, nil
	}
}

// storeError counts a failed Store call and wraps its error in
// ErrStoreFailure, unless it is one of the sentinels a Store is documented
// to return.
func (m *Manager) storeError(op string, err error) error {
	m.counters.countStoreError(err)
	return wrapStoreError(op, err)
}

// wrapStoreError is storeError for an error already counted.
func wrapStoreError(op string, err error) error {
	if isStoreSentinel(err) {
		return err
	}
	return fmt.Errorf("apikey: %s: %w: %w", op, ErrStoreFailure, err)
}

// checkGroups normalizes groups and checks them against the registry and the
// actor in ctx.
func (m *Manager) checkGroups(ctx context.Context, groups []string) ([]string, error) {
	groups, err := normalizeGroups(groups)
	if err != nil {
		return nil, err
	}
	if m.groups != nil {
		for _, g := range groups {
			if _, ok := m.groups[g]; !ok {
				return nil, &ValidationError{Field: "Groups", Reason: strconv.Quote(g) + " is not a registered group", Err: ErrUnknownGroup}
			}
		}
	}
	if actor, ok := ActorFromContext(ctx); ok {
		if missing := actor.lacks(groups); missing != nil {
			return nil, &EscalationError{Missing: missing, Granting: true}
		}
	}
	return groups, nil
}

// Verify checks a plaintext key and returns its record. The error wraps
// exactly one of:
//
//   - ErrInvalidKey: malformed, wrong prefix or checksum, unknown, or a wrong
//     secret;
//   - ErrInactive or ErrExpired: the key is genuine but may not be used;
//     the error is a *KeyError that names the key;
//   - ErrStoreFailure, ErrUnsupportedHash or ErrClosed: nothing could be
//     decided, and the caller must fail closed (an HTTP server answers 503,
//     not 401). A Store that has not answered within the verification
//     deadline ([WithVerifyDeadline], by default 3 seconds) is
//     a Store failure: the error wraps ErrStoreFailure and
//     context.DeadlineExceeded.
//
// A string that is not well formed is refused before any store call or
// hashing. Concurrent verifications of keys with the same lookup ID share
// one Store call, and its failure; a failure is never cached. A successful
// verification records the use in memory (see [WithLastUsedFlushInterval])
// and, if the key's hash was made by another Hasher than the current one,
// re-hashes it. Each call counts in [Manager.Stats].
//
// The returned *Key (also the one in a [*KeyError]) is read-only: it may be
// shared with other verifications of the same key, with the verification
// cache and with the Store (see the Store contract, GetByLookupID), so that
// a verification allocates nothing. Do not modify it, its Groups, its
// times or its Metadata; [Key.Clone] it to get a copy of your own. The
// library never modifies it, and a change to the key (Rename, Deactivate,
// a flush of last-used times) makes a new record rather than changing the
// one returned: what a request was given never changes under it.
func (m *Manager) Verify(ctx context.Context, plaintext string) (*Key, error) {
	// The shard of the counters and the recorder of uses this verification
	// writes: random, so that concurrent verifications rarely share one.
	return m.verifyParsed(ctx, plaintext, "")
}

// verifyParsed is Verify, for a plaintext whose lookup ID the caller found
// with lookupIDOf (the middleware), or "" to parse it here.
func (m *Manager) verifyParsed(ctx context.Context, plaintext, lookupID string) (*Key, error) {
	shard := rand.Uint32()
	k, err := m.verify(ctx, plaintext, lookupID, shard)
	m.counters.countVerification(shard, err)
	return k, err
}

func (m *Manager) verify(ctx context.Context, plaintext, lookupID string, shard uint32) (*Key, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	if lookupID == "" {
		var err error
		if lookupID, err = m.parse(plaintext); err != nil {
			return nil, err
		}
	}
	now := m.now()
	var generation uint64
	if m.cache != nil {
		switch {
		case !m.cacheUsable(now):
			m.counters.staleCacheBypasses.Add(1)
		default:
			if k, err, ok := m.cache.get(lookupID, plaintext, now); ok {
				m.counters.hot[shard%usageShards].cacheHits.Add(1)
				if err == nil {
					m.uses.record(shard, k, now)
				} else {
					m.meterRefusal(shard, err, now)
				}
				return k, err
			}
			m.counters.cacheMisses.Add(1)
		}
		generation = m.cache.generationNow()
	}
	k, err := m.lookup(ctx, lookupID, now, shard)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, errUnknownKey
		}
		return nil, wrapStoreError("verify", err) // counted by lookup
	}
	hasherIndex, ok, err := m.verifyHash(plaintext, k.Hash)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errSecretMismatch
	}
	if !k.Active {
		if m.uses.metering {
			m.uses.note(shard, k, now, false, outcomeInactive, -1)
		}
		return nil, &KeyError{Key: k, Err: ErrInactive}
	}
	if k.Expired(now) {
		if m.uses.metering {
			m.uses.note(shard, k, now, false, outcomeExpired, -1)
		}
		return nil, &KeyError{Key: k, Err: ErrExpired}
	}
	if hasherIndex != 0 || m.hasher.NeedsRehash(k.Hash) {
		m.rehash(ctx, k, plaintext)
	}
	if m.cache != nil {
		m.cache.put(k, plaintext, now, generation)
	}
	m.uses.record(shard, k, now)
	return k, nil
}

// The refusals of a well-formed key, made once: a refusal allocates
// nothing.
var (
	errUnknownKey     = fmt.Errorf("%w: unknown key", ErrInvalidKey)
	errSecretMismatch = fmt.Errorf("%w: secret mismatch", ErrInvalidKey)
	errWrongPrefix    = fmt.Errorf("%w: wrong prefix", ErrInvalidKey)
)

// parse checks the format of plaintext and that it carries this Manager's
// prefix, and returns its lookup ID.
func (m *Manager) parse(plaintext string) (string, error) {
	if lookupID, ok := lookupIDOf(plaintext, m.prefixSep); ok {
		return lookupID, nil
	}
	parts, err := ParseKey(plaintext)
	if err != nil {
		return "", err
	}
	if parts.Prefix != m.prefix {
		return "", errWrongPrefix
	}
	return parts.LookupID, nil
}

// verifyHash finds the Hasher that reads encoded and checks plaintext with
// it, and returns its index in m.verifyHashers (0 is the current Hasher;
// Hashers are user types, not necessarily comparable). A hash no Hasher
// reads (a pepper that was removed from the configuration) is an error, not
// an invalid key: the key may be genuine.
func (m *Manager) verifyHash(plaintext, encoded string) (int, bool, error) {
	for i, h := range m.verifyHashers {
		ok, err := h.Verify(plaintext, encoded)
		if errors.Is(err, ErrUnsupportedHash) {
			continue
		}
		if err != nil {
			return 0, false, fmt.Errorf("apikey: verify hash: %w", err)
		}
		return i, ok, nil
	}
	return 0, false, fmt.Errorf("apikey: verify: %w: no configured Hasher reads the stored hash", ErrUnsupportedHash)
}

// rehash replaces the stored hash of k with one from the current Hasher.
// Failure is logged and not returned: the key was verified, and the upgrade
// is tried again on the next use. k itself is left as it is: it may be
// shared (see Verify), and its Hash is not what verification returns it
// for.
func (m *Manager) rehash(ctx context.Context, k *Key, plaintext string) {
	hash, err := m.hasher.Hash(plaintext)
	if err == nil {
		sctx, cancel := m.withVerifyDeadline(ctx)
		err = m.store.SetHash(sctx, k.ID, hash)
		cancel()
		if err != nil {
			m.counters.countStoreError(err)
		}
	}
	if err != nil {
		m.logger.LogAttrs(ctx, slog.LevelWarn, "apikey: re-hash failed", slog.String("key_id", k.ID.String()), slog.Any("error", err))
	}
}

// Get returns the key with the given ID. A key of another owner than the
// acting administrator's is ErrNotFound, as a missing key. The error wraps
// ErrNotFound or ErrStoreFailure.
func (m *Manager) Get(ctx context.Context, id uuid.UUID) (*Key, error) {
	k, err := m.store.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, m.storeError("get", err)
	}
	if scope := ownerScope(ctx); scope != "" && k.Owner != scope {
		return nil, notFound(id)
	}
	return k, nil
}

// notFound is the one error of every operation on a key that does not
// exist for the caller, whether no key has the ID or it is another owner's:
// not even its text tells them apart.
func notFound(id uuid.UUID) error {
	return fmt.Errorf("apikey: key %s: %w", id, ErrNotFound)
}

// ownerScope returns the owner whose keys the actor in ctx may see, or ""
// for every owner (no actor: trusted code; or an actor with AllOwners).
func ownerScope(ctx context.Context) string {
	if actor, ok := ActorFromContext(ctx); ok {
		return actor.scope()
	}
	return ""
}

// defaultListLimit is the page size of [Manager.List] when none is given.
const defaultListLimit = 50

// MaxListLimit is the largest page size [Manager.List] accepts.
const MaxListLimit = 500

// ListOptions selects a page of keys.
type ListOptions struct {
	// Owner, if not empty, lists only the keys of this owner. An actor
	// limited to one owner sees only that owner's keys whatever Owner says
	// (another owner's list is empty).
	Owner string

	// Status filters by status; StatusAny (the zero value) lists all keys.
	// StatusActive lists the keys that work now (see [Key.Works]): active,
	// not expired, not rolled past their grace period; it needs a
	// [SortedLister]. StatusInactive lists the deactivated keys.
	Status Status

	// Group, if not empty, lists only keys holding exactly this group.
	Group string

	// Name, if not empty, lists only keys whose name contains it, ASCII
	// letters regardless of case, "%" and "_" literally (see
	// [ListQuery.Name]). It must be a valid name (see [ValidateName]).
	Name string

	// Sort is the order; the zero value lists the oldest key first. Any
	// other order needs a [SortedLister].
	Sort ListSort

	// ExpiringBefore, if not zero, lists only the keys that expire before
	// it, the soonest first: Sort must be SortCreated (the zero value) or
	// SortExpiry, and the list is in SortExpiry. It needs a
	// [SortedLister].
	ExpiringBefore time.Time

	// Preview, if not empty, lists only the keys with this preview (see
	// [Key.Preview]), as a leak report gives it: "ak_3Fq9…x7Ab", or with
	// "..." for the ellipsis. It needs a [SortedLister].
	Preview string

	// Cursor continues after the last key of a previous page: pass the
	// previous Page.Next, with the same Sort. Empty starts at the first key.
	Cursor string

	// Limit is the page size: 50 if zero, at most
	// MaxListLimit.
	Limit int
}

// Page is one page of keys in the order asked for.
type Page struct {
	Keys []*Key

	// Next is the cursor of the next page, empty on the last page. It is
	// opaque: it names its order, and is valid only with the same order.
	Next string
}

// List returns a page of keys in the order opts.Sort. Paging is stable while
// keys are created and deleted: no key that exists throughout is skipped or
// returned twice. The error wraps ErrInvalidCursor, ErrInvalidSort,
// ErrInvalidGroup, ErrStoreFailure, or errors.ErrUnsupported for an order or
// filter the Store cannot serve (see [SortedLister]).
func (m *Manager) List(ctx context.Context, opts ListOptions) (Page, error) {
	limit := opts.Limit
	switch {
	case limit == 0:
		limit = defaultListLimit
	case limit < 0 || limit > MaxListLimit:
		return Page{}, fmt.Errorf("apikey: list limit must be 1 to %d", MaxListLimit)
	}
	q, none, err := m.query(ctx, opts)
	if err != nil || none {
		return Page{Keys: []*Key{}}, err
	}
	q.Limit = limit + 1
	var keys []*Key
	if q.needsSortedLister() {
		sl, ok := m.store.(SortedLister)
		if !ok {
			return Page{}, fmt.Errorf("apikey: the Store cannot list in order %s with these filters: %w", q.Sort, errors.ErrUnsupported)
		}
		keys, err = sl.ListSorted(ctx, q)
	} else {
		keys, err = m.store.List(ctx, q)
	}
	if err != nil {
		return Page{}, m.storeError("list", err)
	}
	var page Page
	if len(keys) > limit {
		keys = keys[:limit]
		page.Next = encodeCursor(q.Sort, cursorAfter(keys[limit-1], q.Sort))
	}
	page.Keys = keys
	return page, nil
}

// Count returns how many keys List pages through with opts (Cursor and
// Limit aside), within the owner of the actor in ctx, as List does. Its
// cost grows with the keys counted: the admin tab counts one owner's. The
// error wraps errors.ErrUnsupported if the Store is not a [CountStore] or
// cannot filter as asked (see [SortedLister]), or the errors of List.
func (m *Manager) Count(ctx context.Context, opts ListOptions) (int, error) {
	counter, ok := m.store.(CountStore)
	if !ok {
		return 0, fmt.Errorf("apikey: the Store (%T) is not a CountStore: %w", m.store, errors.ErrUnsupported)
	}
	opts.Cursor = ""
	q, none, err := m.query(ctx, opts)
	if err != nil || none {
		return 0, err
	}
	if _, sorted := m.store.(SortedLister); q.needsSortedLister() && !sorted {
		return 0, fmt.Errorf("apikey: the Store cannot count with these filters: %w", errors.ErrUnsupported)
	}
	n, err := counter.Count(ctx, q)
	if err != nil {
		return 0, m.storeError("count", err)
	}
	return n, nil
}

// query checks opts and returns the Store query for them, scoped to the
// owner of the actor in ctx; none reports that the actor may see no key
// (they asked for another owner's).
func (m *Manager) query(ctx context.Context, opts ListOptions) (q ListQuery, none bool, err error) {
	if opts.Status < StatusAny || opts.Status > StatusInactive {
		return q, false, fmt.Errorf("apikey: invalid status filter %d", opts.Status)
	}
	if opts.Sort < SortCreated || opts.Sort > SortExpiry {
		return q, false, fmt.Errorf("apikey: sort %d: %w", opts.Sort, ErrInvalidSort)
	}
	if opts.Group != "" {
		if err := ValidateGroup(opts.Group); err != nil {
			return q, false, err
		}
	}
	if opts.Owner != "" {
		if err := ValidateOwner(opts.Owner); err != nil {
			return q, false, err
		}
	}
	if opts.Name != "" {
		if err := ValidateName(opts.Name); err != nil {
			return q, false, err
		}
	}
	sort := opts.Sort
	if !opts.ExpiringBefore.IsZero() {
		if sort != SortCreated && sort != SortExpiry {
			return q, false, fmt.Errorf("apikey: expiring_before lists in expiry order, not %s: %w", sort, ErrInvalidSort)
		}
		sort = SortExpiry
	}
	preview, err := normalizePreview(opts.Preview)
	if err != nil {
		return q, false, err
	}
	after, err := decodeCursor(sort, opts.Cursor)
	if err != nil {
		return q, false, err
	}
	owner := opts.Owner
	if scope := ownerScope(ctx); scope != "" {
		if owner != "" && owner != scope {
			return q, true, nil
		}
		owner = scope
	}
	q = ListQuery{Owner: owner, Status: opts.Status, Group: opts.Group, Name: opts.Name, Sort: sort, Preview: preview, After: after}
	if !opts.ExpiringBefore.IsZero() {
		q.ExpiringBefore = opts.ExpiringBefore.UTC().Truncate(time.Microsecond)
	}
	if opts.Status == StatusActive {
		q.WorkingAt = m.now()
	}
	return q, false, nil
}

// normalizePreview returns a preview search as keys store it: "..." is the
// ellipsis "…". The error wraps ErrInvalidKey for text no preview can be.
func normalizePreview(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	p = strings.Replace(strings.TrimSpace(p), "...", "…", 1)
	if len(p) > 64 || !utf8.ValidString(p) || strings.Count(p, "…") != 1 {
		return "", fmt.Errorf("apikey: not a key preview: %w", ErrInvalidKey)
	}
	return p, nil
}

// Cursor tags: the first byte of a cursor names its order, so that an
// order added later brings its own shape. A cursor of 24 bytes without a
// tag is the creation order's from before tags.
const (
	cursorTagCreatedDesc = 1 + byte(SortCreatedDesc)
	cursorTagName        = 1 + byte(SortName)
	cursorTagExpiry      = 1 + byte(SortExpiry)
)

// encodeCursor writes c as a position in order s, in URL-safe base64:
// opaque to clients, safe in a query string. SortCreated keeps its 24 bytes
// (Unix microseconds, ID); the others start with their tag.
func encodeCursor(s ListSort, c Cursor) string {
	var b []byte
	switch s {
	case SortCreatedDesc:
		b = append(binary.BigEndian.AppendUint64([]byte{cursorTagCreatedDesc}, uint64(c.CreatedAt.UnixMicro())), c.ID[:]...)
	case SortName:
		b = append(append([]byte{cursorTagName}, c.ID[:]...), c.Name...)
	case SortExpiry:
		b = append(binary.BigEndian.AppendUint64([]byte{cursorTagExpiry}, uint64(c.ExpiresAt.UnixMicro())), c.ID[:]...)
	default:
		b = append(binary.BigEndian.AppendUint64(nil, uint64(c.CreatedAt.UnixMicro())), c.ID[:]...)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// maxCursorMicros is 9999-12-31T23:59:59.999999Z in Unix microseconds.
var maxCursorMicros = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC).UnixMicro()

// decodeCursor reads a cursor of order s; a cursor of another order, or not
// produced by List, is ErrInvalidCursor.
func decodeCursor(s ListSort, text string) (Cursor, error) {
	if text == "" {
		return Cursor{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil {
		return Cursor{}, ErrInvalidCursor
	}
	// timeAndID reads 8 bytes of Unix microseconds and an ID. Every store
	// can represent 1970 to 9999; a time outside that range was not
	// produced by List, and would make some databases fail.
	timeAndID := func(b []byte) (time.Time, uuid.UUID, error) {
		if len(b) != 24 {
			return time.Time{}, uuid.Nil, ErrInvalidCursor
		}
		micros := int64(binary.BigEndian.Uint64(b[:8]))
		if micros < 0 || micros > maxCursorMicros {
			return time.Time{}, uuid.Nil, ErrInvalidCursor
		}
		id, _ := uuid.FromBytes(b[8:])
		return time.UnixMicro(micros).UTC(), id, nil
	}
	switch s {
	case SortCreated:
		t, id, err := timeAndID(b)
		return Cursor{CreatedAt: t, ID: id}, err
	case SortCreatedDesc, SortExpiry:
		if len(b) == 0 || b[0] != 1+byte(s) {
			return Cursor{}, ErrInvalidCursor
		}
		t, id, err := timeAndID(b[1:])
		if err != nil {
			return Cursor{}, err
		}
		if s == SortExpiry {
			return Cursor{ExpiresAt: t, ID: id}, nil
		}
		return Cursor{CreatedAt: t, ID: id}, nil
	case SortName:
		if len(b) < 18 || len(b) > 17+4*maxNameLength || b[0] != cursorTagName || !utf8.Valid(b[17:]) {
			return Cursor{}, ErrInvalidCursor
		}
		id, _ := uuid.FromBytes(b[1:17])
		return Cursor{Name: string(b[17:]), ID: id}, nil
	}
	return Cursor{}, ErrInvalidCursor
}

// Groups returns the registered permission groups sorted by name, or nil if
// none were registered with [WithGroups].
func (m *Manager) Groups() []Group {
	if m.groups == nil {
		return nil
	}
	out := make([]Group, 0, len(m.groups))
	for _, g := range m.groups {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b Group) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// authorizeChange loads the key with the given ID and, if ctx carries an
// actor, refuses a key of another owner with ErrNotFound (as if it did not
// exist) and, with ErrEscalation, a key holding groups the actor does not
// hold. It returns what it authorized, for the Store to check again
// atomically with the change, or nil when there is no actor to check.
func (m *Manager) authorizeChange(ctx context.Context, id uuid.UUID) (*Guard, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	actor, ok := ActorFromContext(ctx)
	if !ok {
		return nil, nil
	}
	k, err := m.store.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, m.storeError("get", err)
	}
	scope := actor.scope()
	if scope != "" && k.Owner != scope {
		return nil, notFound(id)
	}
	if missing := actor.lacks(k.Groups); missing != nil {
		return nil, &EscalationError{Missing: missing}
	}
	g := &Guard{Owner: scope, Groups: k.Groups}
	if g.Groups == nil {
		g.Groups = []string{} // a guard, even on a key without groups
	}
	return g, nil
}

// Rename changes the name of a key. The error wraps ErrInvalidName,
// ErrNotFound, ErrEscalation, ErrConflict or ErrStoreFailure.
func (m *Manager) Rename(ctx context.Context, id uuid.UUID, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	return m.update(ctx, id, "rename", func(c Change, guard *Guard) error {
		return m.store.SetName(ctx, c, id, name, guard)
	})
}

// SetGroups replaces the groups of a key. The error wraps ErrInvalidGroup,
// ErrUnknownGroup, ErrNotFound, ErrEscalation, ErrConflict or
// ErrStoreFailure.
func (m *Manager) SetGroups(ctx context.Context, id uuid.UUID, groups []string) error {
	groups, err := m.checkGroups(ctx, groups)
	if err != nil {
		return err
	}
	return m.update(ctx, id, "set groups", func(c Change, guard *Guard) error {
		return m.store.SetGroups(ctx, c, id, groups, guard)
	})
}

// Activate lets a deactivated key authenticate requests again. The error
// wraps ErrNotFound, ErrEscalation, ErrConflict or ErrStoreFailure.
func (m *Manager) Activate(ctx context.Context, id uuid.UUID) error {
	return m.update(ctx, id, "activate", func(c Change, guard *Guard) error {
		return m.store.SetActive(ctx, c, id, true, guard)
	})
}

// Deactivate stops a key from authenticating requests: once it returns, no
// verification by this Manager that starts later succeeds. Another Manager
// (another instance, the command line) learns it from its Store: with a
// verification cache within its TTL, and without one at its next lookup; a
// verification there that joins a lookup already in flight (see Verify)
// shares what that lookup read, so the lag is at most that lookup's time,
// which the verification deadline bounds. The error wraps ErrNotFound,
// ErrEscalation, ErrConflict or ErrStoreFailure.
func (m *Manager) Deactivate(ctx context.Context, id uuid.UUID) error {
	return m.update(ctx, id, "deactivate", func(c Change, guard *Guard) error {
		return m.store.SetActive(ctx, c, id, false, guard)
	})
}

// Delete removes a key for good. The error wraps ErrNotFound, ErrEscalation,
// ErrConflict or ErrStoreFailure.
func (m *Manager) Delete(ctx context.Context, id uuid.UUID) error {
	return m.update(ctx, id, "delete", func(c Change, guard *Guard) error {
		return m.store.Delete(ctx, c, id, guard)
	})
}

// maxConflictRetries bounds how often update re-authorizes a change whose
// key changed between the check and the write.
const maxConflictRetries = 3

// update authorizes and applies a change to one key, and drops the key from
// the verification cache both before and after the change, so that no
// verification can keep using the old record once update returns. Each
// attempt is one [Change], with one clock read.
//
// With an actor, the Store makes the change only if the key still belongs
// to the actor's owner and holds the groups that were authorized; if another change came in between, the
// change is authorized again against the new groups.
func (m *Manager) update(ctx context.Context, id uuid.UUID, op string, apply func(c Change, guard *Guard) error) error {
	for attempt := 0; ; attempt++ {
		guard, err := m.authorizeChange(ctx, id)
		if err != nil {
			return err
		}
		m.invalidate(id)
		err = apply(m.change(ctx), guard)
		m.invalidate(id)
		if errors.Is(err, ErrConflict) && attempt < maxConflictRetries {
			continue
		}
		if errors.Is(err, ErrNotFound) {
			return notFound(id)
		}
		if err != nil {
			return m.storeError(op, err)
		}
		return nil
	}
}

func (m *Manager) invalidate(id uuid.UUID) {
	if m.cache != nil {
		m.cache.invalidate(id)
	}
	// A lookup in flight may have read the key before the change: no
	// verification that starts from now on may share it.
	m.lookups.forget()
}

// Close stops the change feed (see [VerifyCache.FollowChanges]) and the background flush, cancelling a flush in progress, and
// writes the last-used times still in memory. It returns within the close
// timeout ([WithCloseTimeout], by default 5 seconds) plus a few
// milliseconds, whatever the Store does: a write that fails is retried until
// the timeout, and the uses that remain unwritten then are logged at error
// level, counted in [Stats.UsesLost] and [Stats.KeysLost], and reported in
// the error, which wraps ErrStoreFailure. Later calls to Verify, Issue or
// any change return ErrClosed. Close is safe to call more than once; every
// call returns the result of the first.
func (m *Manager) Close() error {
	m.closeOnce.Do(func() {
		m.closed.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), m.closeTimeout)
		defer cancel()
		m.stopFeed(ctx)
		m.cancelFlush()
		if m.stopFlush != nil {
			close(m.stopFlush)
			select {
			case <-m.flushDone:
			case <-ctx.Done(): // a Store that ignores its context
			}
		}
		m.closeErr = m.flushForClose(ctx)
	})
	return m.closeErr
}
