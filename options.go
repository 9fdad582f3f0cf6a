package apikey

import (
	"fmt"
	"log/slog"
	"time"
)

// Option configures a Manager. Options that are given invalid values make
// [New] return an error, as [Manager.Authenticator] does for an invalid
// [AuthConfig]. A numeric option given zero means its default, and a
// negative value turns its feature off, or is an error where the feature
// cannot be off (see "Options" in the package doc).
type Option func(*config) error

type config struct {
	prefix         string
	secretBits     int
	hasher         Hasher
	verifyHashers  []Hasher
	groups         []Group
	clock          func() time.Time
	logger         *slog.Logger
	flushInterval  time.Duration
	cacheTTL       time.Duration
	cacheSize      int
	ownerQuota     int
	verifyDeadline time.Duration // negative: none
	closeTimeout   time.Duration
	expiryPolicy   func(owner string) ExpiryPolicy // nil: none
	feedInterval   time.Duration                   // 0: no change feed
	feedMaxStale   time.Duration
	limits         limitConfig
}

// defaultFlushInterval is how often a Manager writes last-used times to its
// Store unless [WithLastUsedFlushInterval] says otherwise.
const defaultFlushInterval = 30 * time.Second

func defaultConfig() config {
	return config{
		prefix:         DefaultPrefix,
		secretBits:     defaultSecretBits,
		hasher:         SHA256Hasher{},
		clock:          time.Now,
		logger:         slog.Default(),
		flushInterval:  defaultFlushInterval,
		cacheSize:      DefaultCacheSize,
		verifyDeadline: defaultVerifyDeadline,
		closeTimeout:   defaultCloseTimeout,
	}
}

// WithPrefix sets the prefix of issued keys, such as "acme" or "acme_live": 1 to 16
// characters of [a-z0-9_], not starting or ending with '_'. Verify accepts
// only keys with this prefix. Default: [DefaultPrefix].
func WithPrefix(prefix string) Option {
	return func(c *config) error {
		if err := validatePrefix(prefix); err != nil {
			return fmt.Errorf("apikey: WithPrefix: %w", err)
		}
		c.prefix = prefix
		return nil
	}
}

// WithSecretBits sets the entropy of the secret part of issued keys, at
// least 128; the preview reveals none of it. Zero means the default: 160
// bits.
func WithSecretBits(bits int) Option {
	return func(c *config) error {
		if bits == 0 {
			bits = defaultSecretBits
		}
		if bits < minSecretBits || bits > maxSecretBits {
			return fmt.Errorf("apikey: WithSecretBits: %d is outside %d to 512", bits, minSecretBits)
		}
		c.secretBits = bits
		return nil
	}
}

// WithHasher sets the Hasher of new keys. Keys hashed otherwise are still
// verified (by the built-in hashers or those given to [WithVerifyHashers])
// and are re-hashed with h on their next successful verification. Default:
// [SHA256Hasher].
func WithHasher(h Hasher) Option {
	return func(c *config) error {
		if h == nil {
			return fmt.Errorf("apikey: WithHasher: nil Hasher")
		}
		c.hasher = h
		return nil
	}
}

// WithVerifyHashers adds hashers that are used only to verify existing
// hashes, such as an [HMACHasher] with a retired pepper. SHA256Hasher,
// Argon2idHasher and BcryptHasher need no configuration to read their hashes
// and are always accepted.
func WithVerifyHashers(hs ...Hasher) Option {
	return func(c *config) error {
		for _, h := range hs {
			if h == nil {
				return fmt.Errorf("apikey: WithVerifyHashers: nil Hasher")
			}
		}
		c.verifyHashers = append(c.verifyHashers, hs...)
		return nil
	}
}

// WithClock sets the source of the current time, for tests. Default:
// time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("apikey: WithClock: nil clock")
		}
		c.clock = now
		return nil
	}
}

// WithLogger sets where the Manager reports errors that no caller sees: a
// failed last-used flush, a failed re-hash. Default: slog.Default() at the
// time New is called.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("apikey: WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// Logger returns where the Manager reports errors that no caller sees (see
// [WithLogger]). Packages built on a Manager (admin, secretscan) log there
// too unless given a logger of their own.
func (m *Manager) Logger() *slog.Logger { return m.logger }

// WithLastUsedFlushInterval sets how often the uses that Verify records in
// memory are written to the Store, in one batch. It is the granularity of
// [Key.LastUsedAt]: a stored time is exact, but may be up to one interval
// late, and a process that dies without Close loses at most one interval of
// uses. A negative interval starts no background flush: uses are written only
// by [Manager.Flush] and [Manager.Close]. Zero means the default: 30
// seconds.
func WithLastUsedFlushInterval(d time.Duration) Option {
	return func(c *config) error {
		if d == 0 {
			d = defaultFlushInterval
		}
		c.flushInterval = d
		return nil
	}
}

// WithOwnerQuota bounds the number of keys one owner may hold: Issue
// refuses one more with ErrQuotaExceeded, checked by the Store atomically
// with the insert, so that concurrent issues never exceed it. Zero means
// the default, no limit; a negative value turns the limit off, which is the
// same (see "Options" in the package doc).
func WithOwnerQuota(maxKeys int) Option {
	return func(c *config) error {
		c.ownerQuota = max(maxKeys, 0)
		return nil
	}
}

// defaultVerifyDeadline is how long [Manager.Verify] waits for its Store
// unless [WithVerifyDeadline] says otherwise.
const defaultVerifyDeadline = 3 * time.Second

// defaultCloseTimeout bounds [Manager.Close] unless [WithCloseTimeout] says
// otherwise.
const defaultCloseTimeout = 5 * time.Second

// WithVerifyDeadline bounds the time [Manager.Verify] waits for its Store:
// a verification that the Store has not answered within d fails closed with
// an error wrapping [ErrStoreFailure] and context.DeadlineExceeded, which
// the [Authenticator] answers with 503 and Retry-After. The deadline runs
// from the start of the Store call, so it covers the wait for a free
// connection of a database pool as well as the query, and a verification
// that waits for another's lookup of the same key (see [Manager.Verify])
// waits no longer than that lookup's deadline. A context deadline that
// comes earlier still applies.
//
// Zero means the default, 3 seconds. A negative d turns the deadline off,
// leaving only the caller's context to bound the Store: do so only if every
// caller passes a context with a deadline. The deadline costs one timer per
// Store call (about 0.7 µs and 4 allocations), nothing on a hit of the
// verification cache.
func WithVerifyDeadline(d time.Duration) Option {
	return func(c *config) error {
		if d == 0 {
			d = defaultVerifyDeadline
		}
		c.verifyDeadline = d
		return nil
	}
}

// WithCloseTimeout bounds [Manager.Close]: it stops the background flush
// (cancelling a flush in progress), then tries to write the uses still in
// memory, again and again, until they are written or d has passed. Zero
// means the default, 5 seconds; a negative d is an error.
func WithCloseTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("apikey: WithCloseTimeout: negative duration %v", d)
		}
		if d == 0 {
			d = defaultCloseTimeout
		}
		c.closeTimeout = d
		return nil
	}
}
