package apikey

import (
	"context"
)

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
