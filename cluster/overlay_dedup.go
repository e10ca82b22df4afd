package cluster

import (
	"math"

	"github.com/drover-io/drover/fsm"
)

// dedupKey identifies one report across nodes: the worker's own sequence
// when it sends one (drover worker), else a hash of the report's fields.
// Every node computes the same key for the same report.
type dedupKey struct {
	BySeq bool
	Val   uint64
}

// reportKey is the dedup key of a report.
func reportKey(r *fsm.LoadReport) dedupKey {
	if r.ReportSeq != 0 {
		return dedupKey{BySeq: true, Val: r.ReportSeq}
	}
	return dedupKey{Val: reportHash(r)}
}

// reportHash is FNV-1a 64 over every field of the report except the mtoken
// and the stamp. Fixed, so all nodes agree; no allocation.
func reportHash(r *fsm.LoadReport) uint64 {
	h := fnv64{h: 14695981039346656037}
	h.u64(r.WorkerID)
	h.str(r.Version)
	for _, f := range [...]float64{r.LoadTime, r.NewLoad, r.CurLoad, r.RejLoad, r.MaxPerf, r.CurPerf, r.AdditionalDiskUsage} {
		h.u64(math.Float64bits(f))
	}
	h.str(r.ErrorMsg)
	h.u64(uint64(r.NumRequestsWorking))
	h.u64(uint64(r.NumRequestsReceived))
	h.u64(uint64(len(r.WorkingRequestIdxs)))
	for _, x := range r.WorkingRequestIdxs {
		h.u64(x)
	}
	h.str(r.URL)
	return h.h
}

type fnv64 struct{ h uint64 }

func (f *fnv64) byte(b byte) {
	f.h ^= uint64(b)
	f.h *= 1099511628211
}

func (f *fnv64) u64(x uint64) {
	for i := 0; i < 8; i++ {
		f.byte(byte(x >> (8 * i)))
	}
}

func (f *fnv64) str(s string) {
	f.u64(uint64(len(s)))
	for i := 0; i < len(s); i++ {
		f.byte(s[i])
	}
}

// dedupTable remembers the reports counted in the last dedupWindow, in
// arrival order for cheap expiry.
type dedupTable struct {
	seen map[dedupEntryKey]int64 // key → expiry (local unix nanos)
	fifo []dedupEntry
	head int
}

type dedupEntryKey struct {
	worker uint64
	key    dedupKey
}

type dedupEntry struct {
	k   dedupEntryKey
	exp int64
}

func newDedupTable() dedupTable { return dedupTable{seen: map[dedupEntryKey]int64{}} }

// add records a report; false means it was seen within the window.
func (d *dedupTable) add(worker uint64, key dedupKey, now int64) bool {
	k := dedupEntryKey{worker, key}
	if exp, ok := d.seen[k]; ok && exp >= now {
		return false
	}
	exp := now + int64(dedupWindow)
	d.seen[k] = exp
	d.fifo = append(d.fifo, dedupEntry{k, exp})
	return true
}

// expire forgets keys older than the window.
func (d *dedupTable) expire(now int64) {
	for d.head < len(d.fifo) && d.fifo[d.head].exp < now {
		e := d.fifo[d.head]
		if d.seen[e.k] == e.exp {
			delete(d.seen, e.k)
		}
		d.head++
	}
	if d.head > 1024 && d.head > len(d.fifo)/2 {
		d.fifo = append(d.fifo[:0:0], d.fifo[d.head:]...)
		d.head = 0
	}
}

// live lists the keys still inside the window.
func (d *dedupTable) live(now int64) []dedupEntryKey {
	out := make([]dedupEntryKey, 0, len(d.seen))
	for k, exp := range d.seen {
		if exp >= now {
			out = append(out, k)
		}
	}
	return out
}
