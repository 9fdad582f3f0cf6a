package apikey

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/google/uuid"
)

// usageRecorder coalesces the uses of keys in memory, so that any number of
// requests on one key cost one store write per flush.
type usageRecorder struct {
	mu      sync.Mutex
	pending map[uuid.UUID]time.Time
}

func (u *usageRecorder) record(id uuid.UUID, at time.Time) {
	u.mu.Lock()
	if prev, ok := u.pending[id]; !ok || at.After(prev) {
		u.pending[id] = at
	}
	u.mu.Unlock()
}

// take returns the pending uses and empties the recorder. The pending map
// keeps its buckets, so recording after a flush does not allocate.
func (u *usageRecorder) take() map[uuid.UUID]time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.pending) == 0 {
		return nil
	}
	batch := maps.Clone(u.pending)
	clear(u.pending)
	return batch
}

// restore puts back uses whose flush failed, keeping the later time of any
// use recorded since.
func (u *usageRecorder) restore(batch map[uuid.UUID]time.Time) {
	for id, at := range batch {
		u.record(id, at)
	}
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
	batch := m.uses.take()
	if batch == nil {
		return nil
	}
	if err := m.store.RecordLastUsed(ctx, batch); err != nil {
		m.uses.restore(batch)
		return m.storeError("record last used", err)
	}
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
			// fail every flush.
			ctx, cancel := context.WithTimeout(context.Background(), max(interval, 5*time.Second))
			if err := m.Flush(ctx); err != nil {
				m.logger.LogAttrs(ctx, slog.LevelError, "apikey: last-used flush failed; retrying at the next flush", slog.Any("error", err))
			}
			cancel()
		}
	}
}
