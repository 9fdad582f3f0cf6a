package apikey

import (
	"slices"
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

	// metering is set by New if the Store is a UsageStore: uses are then
	// counted per key, hour and outcome too (see meter.go).
	metering bool

	mu      sync.Mutex            // guards writing, nextID and unsent
	writing map[uint64]usageBatch // taken, neither written nor put back
	nextID  uint64

	// unsent are the usage batches whose write failed, oldest first. They
	// are retried as they are, with their IDs, never merged with later
	// counts: a write that committed but whose reply was lost is then a
	// no-op the second time (see UsageStore.RecordUsage).
	unsent []UsageBatch
}

// usageShards is the number of shards of the recorder and of the hot
// counters: a power of two, several times the cores of a typical server.
const usageShards = 32

// usageSpread is the number of shards one key's uses may go to.
const usageSpread = 4

// usageShard is one shard of the recorder, padded to its own cache lines.
type usageShard struct {
	mu      sync.Mutex
	pending map[uuid.UUID]usage

	// spill holds the metered counts of hours other than the one a key's
	// entry in pending counts (a key used across the turn of an hour
	// between two flushes): rare, so a map of its own.
	spill map[usageBucket]spilled
	_     [128 - 24]byte
}

// usage is what the recorder knows of one key: its latest use, and how many
// uses it stands for (reported if they are lost); and, when metering, the
// counts of one hour by outcome.
type usage struct {
	at   time.Time
	uses uint64

	metered bool   // hour, owner and counts are set
	hour    int64  // the Unix time of the start of the hour of counts
	owner   string // the key's owner
	counts  [numOutcomes]int64
}

// usageBucket identifies one count of the meter: a key, an hour (Unix
// time of its start) and an outcome (index in usageOutcomes).
type usageBucket struct {
	id      uuid.UUID
	hour    int64
	outcome int
}

// spilled is a count of the meter kept outside a key's entry.
type spilled struct {
	owner string
	n     int64
}

// usageBatch is the uses taken from the recorder for one write.
type usageBatch struct {
	id     uint64
	times  map[uuid.UUID]time.Time // for Store.RecordLastUsed
	counts map[uuid.UUID]uint64

	// metered are the usage batches to write, failed ones first (for
	// UsageStore.RecordUsage).
	metered []UsageBatch
}

// record notes one use of the key id at at, in shard (any number: it is
// reduced to a shard index).
func (u *usageRecorder) record(shard uint32, k *Key, at time.Time) {
	u.note(shard, k, at, true, outcomeVerified, -1)
}

// note notes one use of k at at in shard: a use that sets the last-used
// time if used; counted, when metering, as outcome o, and taken from the
// count of outcome from if from is not negative (a verified use that a
// later check refused).
func (u *usageRecorder) note(shard uint32, k *Key, at time.Time, used bool, o, from int) {
	// The last bytes of a UUID v7 are random.
	sh := &u.shards[(uint32(k.ID[15])+shard%usageSpread)%usageShards]
	sh.mu.Lock()
	if sh.pending == nil {
		sh.pending = make(map[uuid.UUID]usage)
	}
	prev := sh.pending[k.ID]
	if used {
		prev.uses++
		if at.After(prev.at) {
			prev.at = at
		}
	}
	if u.metering {
		hour := hourOf(at)
		switch {
		case !prev.metered:
			prev.metered, prev.hour, prev.owner = true, hour, k.Owner
		case hour > prev.hour:
			sh.spillCounts(k.ID, &prev)
			prev.hour = hour
		case hour < prev.hour:
			// A use late to record: its hour has passed.
			sh.spillOne(usageBucket{k.ID, hour, o}, k.Owner, 1)
			if from >= 0 {
				sh.spillOne(usageBucket{k.ID, hour, from}, k.Owner, -1)
			}
			o = -1
		}
		if o >= 0 {
			prev.counts[o]++
			if from >= 0 {
				prev.counts[from]--
			}
		}
	}
	sh.pending[k.ID] = prev
	sh.mu.Unlock()
}

// hourOf returns the Unix time of the start of the hour of t.
func hourOf(t time.Time) int64 {
	s := t.Unix()
	return s - ((s%3600)+3600)%3600
}

// spillCounts moves the counts of a key's entry to the shard's spill.
func (sh *usageShard) spillCounts(id uuid.UUID, use *usage) {
	for o, n := range use.counts {
		if n != 0 {
			sh.spillOne(usageBucket{id, use.hour, o}, use.owner, n)
		}
	}
	use.counts = [numOutcomes]int64{}
}

func (sh *usageShard) spillOne(b usageBucket, owner string, n int64) {
	if sh.spill == nil {
		sh.spill = make(map[usageBucket]spilled)
	}
	s := sh.spill[b]
	s.owner = owner
	s.n += n
	sh.spill[b] = s
}

// add merges n uses at at into pending.
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
// keep their buckets, so recording after a flush does not allocate. now
// dates a new usage batch.
func (u *usageRecorder) take(now time.Time) (b usageBatch, ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	var (
		merged map[uuid.UUID]usage
		meter  map[usageBucket]spilled
	)
	for i := range u.shards {
		sh := &u.shards[i]
		sh.mu.Lock()
		if len(sh.pending) > 0 {
			if merged == nil {
				merged = make(map[uuid.UUID]usage, len(sh.pending))
			}
			for id, use := range sh.pending {
				if use.uses > 0 {
					addUse(merged, id, use.at, use.uses)
				}
				if use.metered {
					if meter == nil {
						meter = make(map[usageBucket]spilled, len(sh.pending))
					}
					for o, n := range use.counts {
						if n != 0 {
							addCount(meter, usageBucket{id, use.hour, o}, use.owner, n)
						}
					}
				}
			}
			clear(sh.pending)
		}
		if len(sh.spill) > 0 {
			if meter == nil {
				meter = make(map[usageBucket]spilled, len(sh.spill))
			}
			for bucket, s := range sh.spill {
				addCount(meter, bucket, s.owner, s.n)
			}
			clear(sh.spill)
		}
		sh.mu.Unlock()
	}
	b.metered = u.unsent
	u.unsent = nil
	if rows := usageRows(meter); len(rows) > 0 {
		b.metered = append(b.metered, UsageBatch{ID: uuid.New(), AppliedAt: now, Rows: rows})
	}
	if len(merged) == 0 && len(b.metered) == 0 {
		return usageBatch{}, false
	}
	u.nextID++
	b.id = u.nextID
	b.times = make(map[uuid.UUID]time.Time, len(merged))
	b.counts = make(map[uuid.UUID]uint64, len(merged))
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

// finish ends the write of b; if the last-used times were not written,
// they are put back (in the first shard), keeping the later time of any use
// recorded since; the usage batches not written are kept, as they are, for
// the next flush.
func (u *usageRecorder) finish(b usageBatch, written bool, unwritten []UsageBatch) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.writing, b.id)
	if len(unwritten) > 0 {
		u.unsent = append(slices.Clip(unwritten), u.unsent...)
	}
	if written {
		return
	}
	sh := &u.shards[0]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.pending == nil {
		sh.pending = make(map[uuid.UUID]usage)
	}
	for id, at := range b.times {
		addUse(sh.pending, id, at, b.counts[id])
	}
}

// drain empties the recorder, batches being written included, and returns
// how many uses of how many keys it held, and how many metered uses (the
// positive counts of the meter).
func (u *usageRecorder) drain() (uses uint64, keys int, metered uint64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	ids := make(map[uuid.UUID]struct{})
	for i := range u.shards {
		sh := &u.shards[i]
		sh.mu.Lock()
		for id, use := range sh.pending {
			if use.uses > 0 {
				ids[id] = struct{}{}
				uses += use.uses
			}
			for _, n := range use.counts {
				metered += uint64(max(n, 0))
			}
		}
		for _, s := range sh.spill {
			metered += uint64(max(s.n, 0))
		}
		clear(sh.pending)
		clear(sh.spill)
		sh.mu.Unlock()
	}
	for _, b := range u.writing {
		for id, n := range b.counts {
			ids[id] = struct{}{}
			uses += n
		}
		metered += meteredUses(b.metered)
	}
	metered += meteredUses(u.unsent)
	clear(u.writing)
	u.unsent = nil
	return uses, len(ids), metered
}
