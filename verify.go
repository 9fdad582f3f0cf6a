package apikey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
)

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
