package affinity

import (
	"math/bits"
	"sync/atomic"
)

// Index bounds.
const (
	probeWindow = 4       // slots a block may live in
	minSlots    = 1 << 10 // smallest table
	// MaxSlots caps one endpoint's table: 2^22 slots of 24 bytes, 96 MiB.
	MaxSlots  = 1 << 22
	SlotBytes = 24 // memory per slot; a table has 2 × Σ kv_blocks slots, a power of two
)

// Holder is one worker's side of the index: its block clock (one tick per
// block recorded for it) and its capacity in blocks. An entry of the worker
// is live while fewer than Capacity blocks were recorded for the worker
// after it (LRU by recording) and it was recorded after the last Forget.
// Holders outlive index rebuilds; safe for concurrent use.
type Holder struct {
	clock atomic.Uint64
	floor atomic.Uint64
	cap   atomic.Uint64
}

// SetCapacity sets the worker's capacity in blocks (the group's kv_blocks).
func (h *Holder) SetCapacity(blocks int) {
	if blocks < 0 {
		blocks = 0
	}
	h.cap.Store(uint64(blocks))
}

// Forget drops every entry of the worker (it died, restarted or left).
func (h *Holder) Forget() { h.floor.Store(h.clock.Load()) }

// live reports whether an entry stamped at stamp is still held.
func (h *Holder) live(stamp uint64) bool {
	return stamp > h.floor.Load() && h.clock.Load()-stamp < h.cap.Load()
}

// Live counts the worker's live entries' upper bound: min(recorded since
// the last Forget, capacity).
func (h *Holder) Live() int {
	return int(min(h.clock.Load()-h.floor.Load(), h.cap.Load()))
}

// slot is one entry: block id, the worker it was last sent to and that
// worker's clock at the time (0: empty).
type slot struct {
	key, worker, stamp atomic.Uint64
}

// Index is one endpoint's approximate prefix index: block id → the worker
// the block was last sent to. Lock-free; reads allocate nothing.
type Index struct {
	slots   []slot
	mask    uint64
	holders atomic.Pointer[map[uint64]*Holder]
}

// SlotsFor is the table size for a total capacity of blocks: a power of two
// at least twice it, within [1024, MaxSlots].
func SlotsFor(blocks int) int {
	n := max(2*blocks, minSlots)
	if n >= MaxSlots {
		return MaxSlots
	}
	return 1 << bits.Len(uint(n-1))
}

// NewIndex returns an empty index sized for a total capacity of blocks
// (the sum of its workers' kv_blocks).
func NewIndex(blocks int) *Index {
	n := SlotsFor(blocks)
	ix := &Index{slots: make([]slot, n), mask: uint64(n - 1)}
	ix.SetHolders(nil)
	return ix
}

// Slots is the table's size.
func (ix *Index) Slots() int { return len(ix.slots) }

// SetHolders replaces the workers the index knows (worker id → Holder);
// entries of other workers are ignored from then on. The map must not be
// changed after the call.
func (ix *Index) SetHolders(h map[uint64]*Holder) {
	if h == nil {
		h = map[uint64]*Holder{}
	}
	ix.holders.Store(&h)
}

// Resized returns ix when it is big enough for blocks, else a bigger index
// with ix's entries and holders.
func (ix *Index) Resized(blocks int) *Index {
	if ix != nil && len(ix.slots) >= SlotsFor(blocks) {
		return ix
	}
	nx := NewIndex(blocks)
	if ix == nil {
		return nx
	}
	nx.holders.Store(ix.holders.Load())
	for i := range ix.slots {
		s := &ix.slots[i]
		if st := s.stamp.Load(); st != 0 {
			nx.put(s.key.Load(), s.worker.Load(), st)
		}
	}
	return nx
}

// mix spreads a block id over the table.
func mix(b uint64) uint64 {
	b ^= b >> 33
	b *= 0xff51afd7ed558ccd
	b ^= b >> 33
	b *= 0xc4ceb9fe1a85ec53
	return b ^ b>>33
}

// find returns the worker and stamp of block b, ok false when absent.
func (ix *Index) find(b uint64) (worker, stamp uint64, ok bool) {
	pos := mix(b)
	for k := range uint64(probeWindow) {
		s := &ix.slots[(pos+k)&ix.mask]
		if s.key.Load() != b {
			continue
		}
		w, st := s.worker.Load(), s.stamp.Load()
		if st != 0 && s.key.Load() == b {
			return w, st, true
		}
	}
	return 0, 0, false
}

// put stores block b for worker at stamp: in b's slot, else an empty or
// dead one of its window, else one picked by b's hash.
func (ix *Index) put(b, worker, stamp uint64) {
	hs := *ix.holders.Load()
	pos := mix(b)
	var victim *slot
	for k := range uint64(probeWindow) {
		s := &ix.slots[(pos+k)&ix.mask]
		st := s.stamp.Load()
		if st != 0 && s.key.Load() == b {
			victim = s
			break
		}
		if victim == nil {
			if h := hs[s.worker.Load()]; st == 0 || h == nil || !h.live(st) {
				victim = s
			}
		}
	}
	if victim == nil {
		victim = &ix.slots[(pos+(pos>>62))&ix.mask]
	}
	victim.stamp.Store(0)
	victim.key.Store(b)
	victim.worker.Store(worker)
	victim.stamp.Store(stamp)
}

// Record notes that the hint's blocks were sent to worker. A block new to
// the worker takes the next tick of its clock (it may evict one); a block
// the worker already holds is refreshed at the current tick (a cache hit
// evicts nothing). Unknown workers are ignored.
func (ix *Index) Record(h *Hint, worker uint64) {
	hd := (*ix.holders.Load())[worker]
	if hd == nil {
		return
	}
	for i := range h.Len() {
		b := h.at(i)
		stamp := hd.clock.Load()
		if w, st, ok := ix.find(b); !ok || w != worker || !hd.live(st) {
			stamp = hd.clock.Add(1)
		}
		ix.put(b, worker, stamp)
	}
}

// Lookup tallies, for the hint's leading blocks, the live worker each was
// last sent to, stopping at the first block no worker holds (nothing after
// it can be cached: a block's KV depends on its whole prefix). No
// allocation.
func (ix *Index) Lookup(h *Hint, t *Tally) {
	t.Reset()
	hs := *ix.holders.Load()
	for i := range h.Len() {
		w, st, ok := ix.find(h.at(i))
		if !ok {
			return
		}
		hd := hs[w]
		if hd == nil || !hd.live(st) {
			return
		}
		t.add(w)
	}
}

// tallyWorkers is the most distinct workers a Tally counts.
const tallyWorkers = 16

// Tally counts hint blocks per worker (at most 16 distinct workers; blocks
// of others are not counted).
type Tally struct {
	n      int
	ids    [tallyWorkers]uint64
	counts [tallyWorkers]int
}

// Reset empties the tally.
func (t *Tally) Reset() { t.n = 0 }

func (t *Tally) add(w uint64) {
	for i := range t.n {
		if t.ids[i] == w {
			t.counts[i]++
			return
		}
	}
	if t.n < tallyWorkers {
		t.ids[t.n], t.counts[t.n] = w, 1
		t.n++
	}
}

// Matched is the number of the hint's blocks the worker is expected to hold.
func (t *Tally) Matched(worker uint64) int {
	for i := range t.n {
		if t.ids[i] == worker {
			return t.counts[i]
		}
	}
	return 0
}

// Any reports whether some worker is expected to hold a block.
func (t *Tally) Any() bool { return t.n > 0 }
