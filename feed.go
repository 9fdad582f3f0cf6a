package apikey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults of [VerifyCache.FeedInterval] and [VerifyCache.FeedMaxStale].
const (
	DefaultFeedInterval = 200 * time.Millisecond
	DefaultFeedMaxStale = 2 * time.Second
)

// feedPage is how many events one query of the feed reads.
const feedPage = 1000

// feed is the state of the change feed; its fields are set by New and read
// by the feed's goroutine only, except the atomic counters.
type feed struct {
	store    EventStore
	interval time.Duration
	maxStale time.Duration
	position int64
	started  bool // position was read from the Store
	failing  bool // the last poll failed (for logging transitions)
	stop     chan struct{}
	done     chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
}

// startFeed checks the Store and starts the feed's goroutine. The stop
// channel is made before the goroutine starts.
func (m *Manager) startFeed(c config) error {
	es, ok := m.store.(EventStore)
	if !ok {
		return fmt.Errorf("apikey: WithVerifyCache: FollowChanges: the Store (%T) is not an EventStore: %w", m.store, errors.ErrUnsupported)
	}
	f := &feed{store: es, interval: c.feedInterval, maxStale: c.feedMaxStale,
		stop: make(chan struct{}), done: make(chan struct{})}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	m.feed = f
	go m.followLoop()
	return nil
}

// followLoop polls at once, then every interval, until stop is closed.
func (m *Manager) followLoop() {
	f := m.feed
	defer close(f.done)
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for {
		m.poll()
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
	}
}

// poll reads the events after the feed's position and invalidates every
// key they name. The time it started is the time of its success: every
// change committed before it is seen.
func (m *Manager) poll() {
	f := m.feed
	started := m.now()
	ctx, cancel := context.WithTimeout(f.ctx, f.maxStale)
	defer cancel()
	err := m.readFeed(ctx)
	if err != nil && f.ctx.Err() != nil {
		// Close cancelled the poll: its own doing, not a failure of the
		// Store, so neither counted nor logged.
		return
	}
	if err != nil {
		m.counters.feedFailures.Add(1)
		m.counters.countStoreError(err)
		if !f.failing {
			m.logger.LogAttrs(ctx, slog.LevelWarn, "apikey: change feed: poll failed; cached verifications stop being served after the staleness bound",
				slog.Duration("max_stale", f.maxStale), slog.Any("error", err))
		}
		f.failing = true
		return
	}
	if f.failing {
		m.logger.LogAttrs(ctx, slog.LevelInfo, "apikey: change feed: polling again")
	}
	f.failing = false
	m.counters.feedSuccesses.Add(1)
	m.feedSuccess.Store(started.UnixNano())
}

// readFeed reads the events after the feed's position, page by page.
func (m *Manager) readFeed(ctx context.Context) error {
	f := m.feed
	if !f.started {
		// The feed starts at the latest event. Whatever was cached before
		// (verifications made while no poll had succeeded are still put in
		// the cache) may predate a change that no later event names: drop
		// it all, and every put of a verification that started before.
		p, err := f.store.LastPosition(ctx)
		if err != nil {
			return fmt.Errorf("apikey: change feed: last position: %w", err)
		}
		if m.cache != nil {
			m.cache.clear()
		}
		m.misses.clear()
		m.lookups.forget()
		f.position, f.started = p, true
		return nil
	}
	for {
		events, err := f.store.Events(ctx, EventQuery{After: f.position, Limit: feedPage})
		if err != nil {
			return fmt.Errorf("apikey: change feed: events after %d: %w", f.position, err)
		}
		for _, e := range events {
			m.invalidate(e.KeyID)
			if e.Kind == EventIssued {
				// Issued elsewhere: its lookup ID may be a recent miss
				// here (events do not carry lookup IDs).
				m.misses.clear()
			}
			f.position = e.Position
		}
		m.counters.feedEvents.Add(uint64(len(events)))
		if len(events) < feedPage {
			return nil
		}
	}
}

// cacheUsable reports whether the verification cache may serve entries at
// now: always without a feed, and with one only within maxStale of the
// start of its last successful poll.
func (m *Manager) cacheUsable(now time.Time) bool {
	if m.feed == nil {
		return true
	}
	last := m.feedSuccess.Load()
	return last != 0 && now.UnixNano()-last <= int64(m.feed.maxStale)
}

// stopFeed stops the feed's goroutine and waits for it, or for ctx.
func (m *Manager) stopFeed(ctx context.Context) {
	if m.feed == nil {
		return
	}
	m.feed.cancel()
	close(m.feed.stop)
	select {
	case <-m.feed.done:
	case <-ctx.Done():
	}
}

// feedLag returns how long ago the last successful poll started, or the
// time since New if none has; zero without a feed.
func (m *Manager) feedLag() time.Duration {
	if m.feed == nil {
		return 0
	}
	last := m.feedSuccess.Load()
	if last == 0 {
		last = m.created.UnixNano()
	}
	return time.Duration(m.now().UnixNano() - last)
}
