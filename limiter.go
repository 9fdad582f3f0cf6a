package apikey

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Limiter counts rate limits: the counter backend of a Manager (see
// [WithLimiter]). The default is in process, exact within one process;
// package redislimit is exact across instances.
//
// Contract:
//   - Take checks every counter for cost, all or nothing, atomically with
//     respect to every other Take and Give on the same counters: either
//     each counter is charged cost and Allowed is true, or none is charged
//     and Allowed is false with Refused the index of the first counter
//     (in the order given) that could not pay. Of N concurrent Takes on a
//     counter with room for k, exactly k succeed.
//   - Status has one entry per counter, in order, after the Take.
//   - Give returns cost to each counter, undoing a successful Take (the
//     Manager calls it when the request's credits refuse it); a counter
//     never holds more than its burst.
//   - An error means nothing is known: the Manager fails closed on it
//     (or falls back, see [WithLimiterFallback]). Errors wrap the cause.
//   - Safe for concurrent use.
type Limiter interface {
	Take(ctx context.Context, cost int64, counters []RateCounter) (LimitResult, error)
	Give(ctx context.Context, cost int64, counters []RateCounter) error
}

// RateCounter names one counter of a rate limit: the limit, and whose it
// is (the key's ID for ScopeKey, the owner for ScopeOwner; the other is
// left zero).
type RateCounter struct {
	Limit RateLimit
	Owner string
	KeyID uuid.UUID
}

// ID returns the counter's identity as a string, for a backend that needs
// one: "k/<key ID>/<name>" or "o/<owner>/<name>". Names hold no '/'.
func (c RateCounter) ID() string {
	if c.Limit.Scope == ScopeOwner {
		return "o/" + c.Owner + "/" + c.Limit.Name
	}
	return "k/" + c.KeyID.String() + "/" + c.Limit.Name
}

// LimitResult is the outcome of [Limiter.Take].
type LimitResult struct {
	// Allowed is true if every counter was charged.
	Allowed bool

	// Refused is the index of the first counter that refused, -1 when
	// Allowed.
	Refused int

	// RetryAfter is how long until the refusing counter could pay the
	// cost; zero when Allowed.
	RetryAfter time.Duration

	// Status is the state of each counter after the Take.
	Status []LimitStatus
}

// LimitStatus is the state of one rate limit: what the RateLimit and
// RateLimit-Policy headers report.
type LimitStatus struct {
	// Limit is the rate limit.
	Limit RateLimit

	// Remaining is how many requests of cost 1 could be made now.
	Remaining int64

	// Reset is how long until the counter is full again (its whole burst
	// available).
	Reset time.Duration
}

// gcra computes one counter's decision: tat is the counter's theoretical
// arrival time (Unix ns, 0 for a new counter), now the current time. It
// returns the new tat if allowed, and the status. The arithmetic is in
// integer nanoseconds, exact.
func gcra(r RateLimit, tat, now, cost int64) (newTAT int64, ok bool, retry time.Duration, st LimitStatus) {
	t := int64(r.interval())
	capacity := t * r.burst()
	if tat < now {
		tat = now
	}
	next := tat + cost*t
	st.Limit = r
	if next-now <= capacity {
		ok, tat = true, next
	} else {
		retry = time.Duration(next - now - capacity)
	}
	st.Remaining = (capacity - (tat - now)) / t
	st.Reset = time.Duration(tat - now)
	return tat, ok, retry, st
}

// memoryLimiter is the in-process Limiter: counters in sharded maps, each
// shard under its own lock, so that requests of different keys rarely
// contend. Counters whose time has passed are swept as shards grow.
type memoryLimiter struct {
	clock  func() time.Time
	shards [limiterShards]limiterShard
}

const (
	limiterShards = 64
	sweepEvery    = 4096 // operations on a shard between sweeps
)

type counterID struct {
	owner string
	key   uuid.UUID
	name  string
}

type limiterShard struct {
	mu  sync.Mutex
	tat map[counterID]*int64 // a counter's theoretical arrival time, in Unix ns
	ops int
	_   [40]byte // keep shards on separate cache lines
}

func newMemoryLimiter(clock func() time.Time) *memoryLimiter {
	l := &memoryLimiter{clock: clock}
	for i := range l.shards {
		l.shards[i].tat = make(map[counterID]*int64)
	}
	return l
}

func (c RateCounter) counterID() counterID {
	if c.Limit.Scope == ScopeOwner {
		return counterID{owner: c.Owner, name: c.Limit.Name}
	}
	return counterID{key: c.KeyID, name: c.Limit.Name}
}

// shard picks a counter's shard: for a key's counter the last byte of the
// key's ID (random in UUID v7 and v4), for an owner's an FNV-1a hash of the
// owner. The counters of one key share a shard, and so one lock.
func (id counterID) shard() int {
	if id.owner == "" {
		return int(id.key[15]) % limiterShards
	}
	h := uint32(2166136261)
	for i := 0; i < len(id.owner); i++ {
		h = (h ^ uint32(id.owner[i])) * 16777619
	}
	return int(h % limiterShards)
}

// slot is a counter of a request and its shard.
type slot struct {
	id    counterID
	shard int
}

// lockAll locks the shards of slots in ascending order (no deadlock between
// two requests locking overlapping sets) and returns them for unlockAll.
func (l *memoryLimiter) lockAll(slots []slot, shards []int) []int {
	for _, sl := range slots {
		if !slices.Contains(shards, sl.shard) {
			shards = append(shards, sl.shard)
		}
	}
	if len(shards) > 1 {
		slices.Sort(shards)
	}
	for _, s := range shards {
		l.shards[s].mu.Lock()
	}
	return shards
}

func (l *memoryLimiter) unlockAll(shards []int) {
	for _, s := range shards {
		l.shards[s].mu.Unlock()
	}
}

// slots returns the counters with their shards, in buf when it has room.
func slotsOf(counters []RateCounter, buf []slot) []slot {
	for _, c := range counters {
		id := c.counterID()
		buf = append(buf, slot{id: id, shard: id.shard()})
	}
	return buf
}

// Take implements Limiter.
func (l *memoryLimiter) Take(_ context.Context, cost int64, counters []RateCounter) (LimitResult, error) {
	return l.take(cost, counters, make([]LimitStatus, len(counters))), nil
}

// take is Take writing the states into status (one per counter): the
// Manager's own path passes a buffer on its stack. Each counter is found
// in its map once: its time is kept behind a pointer, updated in place.
// No defer: nothing between the locks and the unlocks can panic.
func (l *memoryLimiter) take(cost int64, counters []RateCounter, status []LimitStatus) LimitResult {
	res := LimitResult{Refused: -1, Status: status[:len(counters)]}
	var slotBuf [4]slot
	var tatBuf [4]int64
	var ptrBuf [4]*int64
	var shardBuf [4]int
	slots := slotsOf(counters, slotBuf[:0])
	tats, ptrs := tatBuf[:0], ptrBuf[:0]
	shards := l.lockAll(slots, shardBuf[:0])
	now := l.clock().UnixNano()
	for i, c := range counters {
		p := l.shards[slots[i].shard].tat[slots[i].id]
		var old int64
		if p != nil {
			old = *p
		}
		tat, ok, retry, st := gcra(c.Limit, old, now, cost)
		res.Status[i] = st
		tats, ptrs = append(tats, tat), append(ptrs, p)
		if !ok && res.Refused < 0 {
			res.Refused, res.RetryAfter = i, retry
		}
	}
	if res.Refused >= 0 {
		for i, c := range counters { // nothing charged: report the state as it is
			var old int64
			if ptrs[i] != nil {
				old = *ptrs[i]
			}
			_, _, _, res.Status[i] = gcra(c.Limit, old, now, 0)
		}
		l.unlockAll(shards)
		return res
	}
	res.Allowed = true
	for i := range counters {
		sh := &l.shards[slots[i].shard]
		if p := ptrs[i]; p != nil {
			*p = tats[i]
		} else {
			t := tats[i]
			sh.tat[slots[i].id] = &t
		}
	}
	for i := range counters { // after every write: a sweep must not drop a counter still to be written
		sh := &l.shards[slots[i].shard]
		sh.ops++
		if sh.ops >= sweepEvery {
			sh.ops = 0
			for id, t := range sh.tat {
				if *t <= now {
					delete(sh.tat, id)
				}
			}
		}
	}
	l.unlockAll(shards)
	return res
}

// Give implements Limiter.
func (l *memoryLimiter) Give(_ context.Context, cost int64, counters []RateCounter) error {
	var slotBuf [4]slot
	var shardBuf [4]int
	slots := slotsOf(counters, slotBuf[:0])
	shards := l.lockAll(slots, shardBuf[:0])
	now := l.clock().UnixNano()
	for i, c := range counters {
		sh := &l.shards[slots[i].shard]
		p := sh.tat[slots[i].id]
		if p == nil {
			continue
		}
		*p -= cost * int64(c.Limit.interval())
		if *p <= now {
			delete(sh.tat, slots[i].id)
		}
	}
	l.unlockAll(shards)
	return nil
}
