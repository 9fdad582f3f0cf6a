package apikey

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
)

// usageRecorder coalesces the uses of keys in memory, so that any number of
// requests on one key cost one store write per flush. It also knows the
// batches being written, so that Close can report them if their write
// does not return in time.
//
// Recording is the one write every verification makes, so it takes no lock
// shared by all of them: uses go to one of usageShards shards, each with its
// own lock and map. The shard is one of usageSpread chosen by the key's ID,
// picked at random per use (runtime-local randomness, no lock): different
// keys spread over every shard, and concurrent verifications of one hot key
// over usageSpread locks and cache lines, while a key is pending in at most
// usageSpread shards (take merges them), so memory stays bounded by the keys
// in use.
type usageRecorder struct {
	shards [usageShards]usageShard

	mu      sync.Mutex            // guards writing and nextID
	writing map[uint64]usageBatch // taken, neither written nor put back
	nextID  uint64
}

// usageShards is the number of shards of the recorder and of the hot
// counters: a power of two, several times the cores of a typical server.
const usageShards = 32

// usageSpread is the number of shards one key's uses may go to.
const usageSpread = 4

// usageShard is one shard of the recorder, padded to its own cache lines.
type usageShard struct {
	mu      sync.Mutex
	pending map[uuid.UUID]*usage // one allocation per key per flush
	_       [128 - 16]byte
}

// usage is what the recorder knows of one key: its latest use, and how many
// uses it stands for (reported if they are lost).
type usage struct {
	at   time.Time
	uses uint64
}

// usageBatch is the uses taken from the recorder for one write.
type usageBatch struct {
	id     uint64
	times  map[uuid.UUID]time.Time // for Store.RecordLastUsed
	counts map[uuid.UUID]uint64
}

// record notes one use of the key id at at; random is the verification's
// random number, which picks one of the key's shards.
func (u *usageRecorder) record(random uint32, id uuid.UUID, at time.Time) {
	// The last bytes of a UUID v7 are random.
	sh := &u.shards[(uint32(id[15])+random%usageSpread)%usageShards]
	sh.mu.Lock()
	if p := sh.pending[id]; p != nil {
		// The usual case, a key used again before the flush: one map
		// lookup, no assignment.
		p.uses++
		if at.After(p.at) {
			p.at = at
		}
	} else {
		if sh.pending == nil {
			sh.pending = make(map[uuid.UUID]*usage)
		}
		sh.pending[id] = &usage{at: at, uses: 1}
	}
	sh.mu.Unlock()
}

// addUse merges n uses at at into pending.
func addUse(pending map[uuid.UUID]usage, id uuid.UUID, at time.Time, n uint64) {
	prev := pending[id]
	prev.uses += n
	if at.After(prev.at) {
		prev.at = at
	}
	pending[id] = prev
}

// take returns the pending uses of every shard, empties them and notes the
// batch as being written; ok is false if there are none. The shards' maps
// keep their buckets: the first use of a key after a flush costs one small
// allocation (its entry), later ones none.
func (u *usageRecorder) take() (b usageBatch, ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	var merged map[uuid.UUID]usage
	for i := range u.shards {
		sh := &u.shards[i]
		sh.mu.Lock()
		if len(sh.pending) > 0 {
			if merged == nil {
				merged = make(map[uuid.UUID]usage, len(sh.pending))
			}
			for id, use := range sh.pending {
				addUse(merged, id, use.at, use.uses)
			}
			clear(sh.pending)
		}
		sh.mu.Unlock()
	}
	if len(merged) == 0 {
		return usageBatch{}, false
	}
	u.nextID++
	b = usageBatch{
		id:     u.nextID,
		times:  make(map[uuid.UUID]time.Time, len(merged)),
		counts: make(map[uuid.UUID]uint64, len(merged)),
	}
	for id, use := range merged {
		b.times[id] = use.at
		b.counts[id] = use.uses
	}
	if u.writing == nil {
		u.writing = make(map[uint64]usageBatch)
	}
	u.writing[b.id] = b
	return b, true
}

// finish ends the write of b; if it failed, the uses are put back (in the
// first shard), keeping the later time of any use recorded since.
func (u *usageRecorder) finish(b usageBatch, written bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.writing, b.id)
	if written {
		return
	}
	sh := &u.shards[0]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.pending == nil {
		sh.pending = make(map[uuid.UUID]*usage)
	}
	for id, at := range b.times {
		if p := sh.pending[id]; p != nil {
			p.uses += b.counts[id]
			if at.After(p.at) {
				p.at = at
			}
		} else {
			sh.pending[id] = &usage{at: at, uses: b.counts[id]}
		}
	}
}

// drain empties the recorder, batches being written included, and returns
// how many uses of how many keys it held.
func (u *usageRecorder) drain() (uses uint64, keys int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	ids := make(map[uuid.UUID]struct{})
	for i := range u.shards {
		sh := &u.shards[i]
		sh.mu.Lock()
		for id, use := range sh.pending {
			ids[id] = struct{}{}
			uses += use.uses
		}
		clear(sh.pending)
		sh.mu.Unlock()
	}
	for _, b := range u.writing {
		for id, n := range b.counts {
			ids[id] = struct{}{}
			uses += n
		}
	}
	clear(u.writing)
	return uses, len(ids)
}

// LastUsedFlushInterval returns how often the Manager writes last-used
// times in the background (see [WithLastUsedFlushInterval]): a
// [Key.LastUsedAt] may be up to this late. Zero means no background flush:
// uses are written only by [Manager.Flush] and [Manager.Close].
func (m *Manager) LastUsedFlushInterval() time.Duration { return m.flushEvery }

// Flush writes the uses recorded since the last flush to the Store, in one
// RecordLastUsed call. If the Store fails, the uses are kept for the next
// flush and the error is returned.
func (m *Manager) Flush(ctx context.Context) error {
	b, ok := m.uses.take()
	if !ok {
		return nil
	}
	return m.write(ctx, b)
}

// write writes a batch taken from the recorder, and puts it back if the
// Store fails.
func (m *Manager) write(ctx context.Context, b usageBatch) error {
	err := m.store.RecordLastUsed(ctx, b.times)
	m.uses.finish(b, err == nil)
	if err != nil {
		m.counters.failedFlushes.Add(1)
		return m.storeError("record last used", err)
	}
	m.counters.flushes.Add(1)
	return nil
}

func (m *Manager) flushLoop(interval time.Duration) {
	defer close(m.flushDone)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-m.stopFlush:
			return
		case <-ticker.C:
			// A flush may take as long as the interval, but never less than
			// a few seconds: a short interval must not make a slow database
			// fail every flush. Close cuts it short.
			ctx, cancel := context.WithTimeout(m.flushCtx, max(interval, 5*time.Second))
			if err := m.Flush(ctx); err != nil && m.flushCtx.Err() == nil {
				m.logger.LogAttrs(ctx, slog.LevelError, "apikey: last-used flush failed; retrying at the next flush", slog.Any("error", err))
			}
			cancel()
		}
	}
}

// flushForClose writes the uses still in memory, retrying until ctx is
// done, and reports those it could not write. It returns when ctx is done
// even if the Store does not: the write then runs on in its own goroutine
// until the Store returns (it was given ctx, so a Store that keeps its
// contract returns at once), and its uses are reported as lost.
func (m *Manager) flushForClose(ctx context.Context) error {
	var lastErr error
	delay := 20 * time.Millisecond
	for ctx.Err() == nil {
		b, ok := m.uses.take()
		if !ok {
			break
		}
		result := make(chan error, 1)
		go func() { result <- m.write(ctx, b) }()
		select {
		case err := <-result:
			if err == nil {
				continue // uses recorded since, if any
			}
			lastErr = err
		case <-ctx.Done():
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		delay = min(2*delay, time.Second)
	}
	uses, keys := m.uses.drain()
	if uses == 0 {
		return nil
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("apikey: record last used: %w: %w", ErrStoreFailure, context.Cause(ctx))
	}
	m.counters.usesLost.Add(uses)
	m.counters.keysLost.Add(uint64(keys))
	m.logger.LogAttrs(ctx, slog.LevelError, "apikey: Close could not write last-used times; they are lost",
		slog.Uint64("uses_lost", uses), slog.Int("keys_lost", keys), slog.Any("error", lastErr))
	return fmt.Errorf("apikey: close: %d uses of %d keys not recorded: %w", uses, keys, lastErr)
}
