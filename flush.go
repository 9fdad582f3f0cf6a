package apikey

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// LastUsedFlushInterval returns how often the Manager writes last-used
// times in the background (see [WithLastUsedFlushInterval]): a
// [Key.LastUsedAt] may be up to this late. Zero means no background flush:
// uses are written only by [Manager.Flush] and [Manager.Close].
func (m *Manager) LastUsedFlushInterval() time.Duration { return m.flushEvery }

// Flush writes the uses recorded since the last flush to the Store, in one
// RecordLastUsed call, and, when metering (see [Manager.Usage]), their
// counts in one RecordUsage call (and one for each earlier batch whose
// write failed, retried first). If the Store fails, the uses are kept for
// the next flush and the error is returned.
func (m *Manager) Flush(ctx context.Context) error {
	b, ok := m.uses.take(m.now())
	if !ok {
		return nil
	}
	return m.write(ctx, b)
}

// write writes a batch taken from the recorder, and puts back what the
// Store failed to write.
func (m *Manager) write(ctx context.Context, b usageBatch) error {
	var err error
	if len(b.times) > 0 {
		err = m.store.RecordLastUsed(ctx, b.times)
		if err != nil {
			m.counters.failedFlushes.Add(1)
			err = m.storeError("record last used", err)
		} else {
			m.counters.flushes.Add(1)
		}
	}
	written := err == nil
	var unwritten []UsageBatch
	for i, ub := range b.metered {
		if uerr := m.usageStore.RecordUsage(ctx, ub); uerr != nil {
			unwritten = b.metered[i:]
			m.counters.failedUsageFlushes.Add(1)
			if err == nil {
				err = m.storeError("record usage", uerr)
			}
			break
		}
		m.counters.usageFlushes.Add(1)
		m.counters.usageRows.Add(uint64(len(ub.Rows)))
	}
	m.uses.finish(b, written, unwritten)
	return err
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
		b, ok := m.uses.take(m.now())
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
	uses, keys, metered := m.uses.drain()
	if uses == 0 && metered == 0 {
		return nil
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("apikey: record last used: %w: %w", ErrStoreFailure, context.Cause(ctx))
	}
	m.counters.usesLost.Add(uses)
	m.counters.keysLost.Add(uint64(keys))
	m.counters.usageLost.Add(metered)
	m.logger.LogAttrs(ctx, slog.LevelError, "apikey: Close could not write last-used times or usage counts; they are lost",
		slog.Uint64("uses_lost", uses), slog.Int("keys_lost", keys), slog.Uint64("metered_uses_lost", metered), slog.Any("error", lastErr))
	if metered > 0 {
		return fmt.Errorf("apikey: close: %d uses of %d keys not recorded, %d metered uses not counted: %w", uses, keys, metered, lastErr)
	}
	return fmt.Errorf("apikey: close: %d uses of %d keys not recorded: %w", uses, keys, lastErr)
}
