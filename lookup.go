package apikey

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// lookups lets concurrent verifications of keys with the same lookup ID
// share one Store call (single flight): the first starts the call, those
// that arrive while it runs wait for its result. A result, success or
// failure, is shared only with those already waiting, never kept: the next
// verification after it asks the Store again. A change of any key through
// the Manager forgets every call in flight (forget), so that a verification
// that starts after the change never shares a read made before it.
type lookups struct {
	mu      sync.Mutex
	flights map[string]*flight // by lookup ID
}

// forget makes every call in flight unavailable to later verifications;
// those already waiting still get its result.
func (l *lookups) forget() {
	l.mu.Lock()
	clear(l.flights)
	l.mu.Unlock()
}

// flight is one Store call in progress, shared by its waiters.
type flight struct {
	// done is made by the first waiter, and closed by the leader when key
	// and err are set; a call that nobody waits for makes no channel.
	done    chan struct{} // guarded by lookups.mu until closed
	waiters int           // guarded by lookups.mu

	// Set before done is closed, read-only afterwards.
	key *Key // shared by the leader and the waiters: never modified
	err error
	// abandoned reports that the call failed because the context of the
	// verification that made it was done (its client went away, or its
	// own deadline came first): a failure of that caller, not of the
	// Store, so waiters try again rather than share it.
	abandoned bool
}

// lookup returns the key with lookupID from the Store, within the
// verification deadline, sharing the call with concurrent lookups of the
// same ID, and refusing from memory a lookup ID the Store just reported
// unknown (the negative cache). now is the verification's time, from which
// the latency of a Store outside memory is counted. Errors are the Store's,
// unwrapped, or the context's of a waiter that gave up; the caller wraps
// them.
func (m *Manager) lookup(ctx context.Context, lookupID string, now time.Time, shard uint32) (*Key, error) {
	if m.inMemory {
		// Nothing to share and nothing to bound: the call does no I/O, and
		// a timer could not interrupt it anyway.
		m.counters.hot[shard%usageShards].storeLookups.Add(1)
		k, err := m.store.GetByLookupID(ctx, lookupID)
		if err != nil {
			m.counters.countStoreError(err)
		}
		return k, err
	}
	miss, generation := m.misses.has(lookupID, now)
	if miss {
		m.counters.negativeHits.Add(1)
		return nil, ErrNotFound
	}
	k, err := m.sharedLookup(ctx, lookupID, shard)
	m.counters.countLatency(m.clock().Sub(now))
	if errors.Is(err, ErrNotFound) {
		m.misses.add(lookupID, now, generation)
	}
	return k, err
}

// sharedLookup makes the Store call for lookupID, or waits for the one in
// progress.
func (m *Manager) sharedLookup(ctx context.Context, lookupID string, shard uint32) (*Key, error) {
	for {
		m.lookups.mu.Lock()
		if f, ok := m.lookups.flights[lookupID]; ok {
			f.waiters++
			if f.done == nil {
				f.done = make(chan struct{})
			}
			m.lookups.mu.Unlock()
			m.counters.sharedLookups.Add(1)
			select {
			case <-f.done:
				if f.abandoned {
					continue // counted again: the wait was a lookup of its own
				}
				if f.err != nil {
					return nil, f.err
				}
				return f.key, nil
			case <-ctx.Done():
				return nil, fmt.Errorf("waiting for a lookup in progress: %w", context.Cause(ctx))
			}
		}
		f := &flight{}
		if m.lookups.flights == nil {
			m.lookups.flights = make(map[string]*flight)
		}
		m.lookups.flights[lookupID] = f
		m.lookups.mu.Unlock()

		m.counters.hot[shard%usageShards].storeLookups.Add(1)
		return m.lead(ctx, f, lookupID)
	}
}

// lead makes the Store call of flight f and hands its result to the
// waiters. If the Store panics, the panic goes on up the leader's stack
// (the middleware recovers it) and the waiters get an error.
func (m *Manager) lead(ctx context.Context, f *flight, lookupID string) (k *Key, err error) {
	finished := false
	defer func() {
		m.lookups.mu.Lock()
		if m.lookups.flights[lookupID] == f { // not forgotten and replaced
			delete(m.lookups.flights, lookupID)
		}
		if f.waiters > 0 {
			switch {
			case !finished:
				f.err = errStorePanicked
			case err != nil:
				f.err = err
				f.abandoned = ctx.Err() != nil
			default:
				f.key = k // read-only, as every key Verify returns
			}
		}
		if f.done != nil {
			close(f.done)
		}
		m.lookups.mu.Unlock()
	}()
	k, err = m.callStore(ctx, lookupID)
	finished = true
	return k, err
}

// errStorePanicked is what waiters get from a lookup that panicked.
var errStorePanicked = errors.New("the Store panicked during a lookup shared with this verification")

// callStore calls GetByLookupID under the verification deadline, and
// counts a failure.
func (m *Manager) callStore(ctx context.Context, lookupID string) (*Key, error) {
	ctx, cancel := m.withVerifyDeadline(ctx)
	defer cancel()
	k, err := m.store.GetByLookupID(ctx, lookupID)
	if err != nil {
		m.counters.countStoreError(err)
		return nil, err
	}
	return k, nil
}

// withVerifyDeadline returns ctx bounded by the verification deadline, if
// one is set. A context whose own deadline comes no later is returned as it
// is: a timer would never fire first, and costs a clock read, a timer and
// four allocations.
func (m *Manager) withVerifyDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if m.verifyDeadline < 0 {
		return ctx, noCancel
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= m.verifyDeadline {
		return ctx, noCancel
	}
	return context.WithTimeout(ctx, m.verifyDeadline)
}

// noCancel is the CancelFunc of a context withVerifyDeadline left alone.
func noCancel() {}

// inMemory reports whether s is a [MemoryStore] that answers from memory.
func inMemory(s Store) bool {
	m, ok := s.(MemoryStore)
	return ok && m.InMemory()
}
