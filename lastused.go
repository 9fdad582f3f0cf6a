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
type usageRecorder struct {
	mu      sync.Mutex
	pending map[uuid.UUID]usage
	writing map[uint64]usageBatch // taken, neither written nor put back
	nextID  uint64
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

func (u *usageRecorder) record(id uuid.UUID, at time.Time) {
	u.mu.Lock()
	prev := u.pending[id]
	prev.uses++
	if at.After(prev.at) {
		prev.at = at
	}
	u.pending[id] = prev
	u.mu.Unlock()
}

// take returns the pending uses, empties the recorder and notes the batch
// as being written; ok is false if there are none. The pending map keeps
// its buckets, so recording after a flush does not allocate.
func (u *usageRecorder) take() (b usageBatch, ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.pending) == 0 {
		return usageBatch{}, false
	}
	u.nextID++
	b = usageBatch{
		id:     u.nextID,
		times:  make(map[uuid.UUID]time.Time, len(u.pending)),
		counts: make(map[uuid.UUID]uint64, len(u.pending)),
	}
	for id, use := range u.pending {
		b.times[id] = use.at
		b.counts[id] = use.uses
	}
	clear(u.pending)
	if u.writing == nil {
		u.writing = make(map[uint64]usageBatch)
	}
	u.writing[b.id] = b
	return b, true
}

// finish ends the write of b; if it failed, the uses are put back, keeping
// the later time of any use recorded since.
func (u *usageRecorder) finish(b usageBatch, written bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.writing, b.id)
	if written {
		return
	}
	for id, at := range b.times {
		prev := u.pending[id]
		prev.uses += b.counts[id]
		if at.After(prev.at) {
			prev.at = at
		}
		u.pending[id] = prev
	}
}

// drain empties the recorder, batches being written included, and returns
// how many uses of how many keys it held.
func (u *usageRecorder) drain() (uses uint64, keys int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	ids := make(map[uuid.UUID]struct{}, len(u.pending))
	for id, use := range u.pending {
		ids[id] = struct{}{}
		uses += use.uses
	}
	for _, b := range u.writing {
		for id, n := range b.counts {
			ids[id] = struct{}{}
			uses += n
		}
	}
	clear(u.pending)
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
