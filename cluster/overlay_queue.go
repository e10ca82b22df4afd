package cluster

import (
	"container/heap"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover-io/drover/fsm"
)

// The held /route/ queue. Each endpoint's held requests live in their own
// epQueue with its own lock: a map by request_idx, a queueTree in queue
// order with count and cost sums (so "what is ahead of me" is O(log n)), a
// heap by deadline, and the tombstones of dequeued requests. No queue
// operation takes the Overlay's lock; records for the peers gather in the
// epQueue and the flush collects them.
//
// An entry leaves the queue when it is dequeued (served or closed by its
// worker), when it expires (Expires, from the request's replay_timeout),
// or when it has not been polled for QueueAbandon: its client gave up, and
// it no longer holds a place ahead of newer requests. A returning client is
// queued again at the back.

// Queue defaults.
const (
	// DefaultQueueCap is the default bound on held requests per endpoint.
	DefaultQueueCap = 10_000
	// QueueAbandon: a held request not polled for this long is dropped.
	// Clients poll at most ~6 s apart (Vast's and drover's back off to 5 s,
	// jittered).
	QueueAbandon = 10 * time.Second
	// peerQueueSlack: entries merged from peers may take an endpoint's queue
	// to this many times the cap (each node admits up to the cap on its
	// own); beyond it they are dropped, so memory stays bounded.
	peerQueueSlack = 2
	// tombsPerCap: tombstones kept per endpoint, as a multiple of the cap;
	// past it the ones that expire first are dropped.
	tombsPerCap = 4
)

// queueItem is a stored queue entry. touched is the newest local or remote
// Enqueue time (unix nanos) that refreshed it: a tombstone kills only
// entries touched at or before it, so a request re-queued after being
// served (Vast's client retries the same request_idx after a 429) lives.
type queueItem struct {
	e       fsm.QueueEntry
	touched int64
	hi      int // index in epQueue.byDeadline
}

// deadline is when the entry leaves the queue unless it is polled again.
func (it *queueItem) deadline() int64 { return min(it.e.Expires, it.touched+int64(QueueAbandon)) }

// tombstone marks a dequeued request until it can no longer come back in a
// late delta.
type tombstone struct{ at, until int64 }

// queueRec is a queue entry as streamed to peers.
type queueRec struct {
	E       fsm.QueueEntry
	Touched int64
}

// tombRec is a tombstone as streamed to peers.
type tombRec struct {
	Endpoint, Idx uint64
	At, Until     int64
}

// epQueue is one endpoint's held requests.
type epQueue struct {
	mu         sync.Mutex
	dead       bool // removed from the Overlay's map; look it up again
	items      map[uint64]*queueItem
	tree       queueTree
	byDeadline deadlineHeap
	tombs      map[uint64]tombstone
	tombOrder  tombHeap // lazy: an entry whose until no longer matches is skipped
	out        []byte   // records for the peers, not yet flushed
	n          atomic.Int64
}

func newEpQueue() *epQueue {
	return &epQueue{items: map[uint64]*queueItem{}, tombs: map[uint64]tombstone{}}
}

// epQueueOf returns the endpoint's queue, nil if it has none. No lock.
func (o *Overlay) epQueueOf(endpointID uint64) *epQueue {
	return (*o.queues.Load())[endpointID]
}

// lockEpQueue returns the endpoint's queue, created if needed, locked.
func (o *Overlay) lockEpQueue(endpointID uint64) *epQueue {
	for {
		q := o.epQueueOf(endpointID)
		if q == nil {
			o.qmu.Lock()
			old := *o.queues.Load()
			if q = old[endpointID]; q == nil {
				m := make(map[uint64]*epQueue, len(old)+1)
				for k, v := range old {
					m[k] = v
				}
				q = newEpQueue()
				m[endpointID] = q
				o.queues.Store(&m)
			}
			o.qmu.Unlock()
		}
		q.mu.Lock()
		if !q.dead {
			return q
		}
		q.mu.Unlock()
	}
}

// Enqueue inserts or refreshes the entry (EndpointID, RequestIdx) and
// returns the stored one: the first Enqueued (and its Node) is kept so a
// request polled through another node keeps its place; Expires is the later
// of the two; Cost is the newest. A zero Enqueued means now, a zero Expires
// means 30 s after Enqueued, an empty Node means this node. ok is false
// when a new entry is refused because the endpoint already holds the
// queue's cap (a held entry is always refreshed).
func (o *Overlay) Enqueue(e fsm.QueueEntry) (stored fsm.QueueEntry, ok bool) {
	now := o.now().UnixNano()
	if e.Enqueued == 0 {
		e.Enqueued = now
	}
	if e.Expires == 0 {
		e.Expires = e.Enqueued + int64(defaultQueueHold)
	}
	if e.Node == "" {
		e.Node = o.self
	}
	q := o.lockEpQueue(e.EndpointID)
	defer q.mu.Unlock()
	q.expireLocked(now)
	if q.items[e.RequestIdx] == nil && len(q.items) >= o.queueCap {
		return e, false
	}
	it := q.mergeLocked(queueRec{E: e, Touched: now}, now)
	if it == nil {
		return e, true
	}
	if o.mux != nil {
		q.out = appendQueueRec(q.out, &queueRec{E: it.e, Touched: it.touched})
		o.kickIfLarge(len(q.out))
	}
	return it.e, true
}

// kickIfLarge asks the flush loop for an early flush when a burst would
// otherwise make the next frame larger than a peer reads.
func (o *Overlay) kickIfLarge(n int) {
	if n >= maxPendingOut {
		select {
		case o.kick <- struct{}{}:
		default:
		}
	}
}

// mergeQueue merges one entry streamed by a peer.
func (o *Overlay) mergeQueue(r queueRec, now int64) {
	q := o.lockEpQueue(r.E.EndpointID)
	defer q.mu.Unlock()
	q.expireLocked(now)
	if q.items[r.E.RequestIdx] == nil && len(q.items) >= peerQueueSlack*o.queueCap {
		return
	}
	q.mergeLocked(r, now)
}

// mergeLocked merges one entry; nil when a tombstone, its expiry or its
// abandonment kills it.
func (q *epQueue) mergeLocked(r queueRec, now int64) *queueItem {
	if t, ok := q.tombs[r.E.RequestIdx]; ok && r.Touched <= t.at {
		return nil
	}
	if r.E.Expires < now || r.Touched+int64(QueueAbandon) < now {
		return nil
	}
	it := q.items[r.E.RequestIdx]
	if it == nil {
		it = &queueItem{e: r.E, touched: r.Touched}
		q.items[r.E.RequestIdx] = it
		q.tree.insert(it)
		heap.Push(&q.byDeadline, it)
		q.n.Store(int64(len(q.items)))
		return it
	}
	moves := queueLess(&r.E, &it.e) || (r.Touched >= it.touched && r.E.Cost != it.e.Cost)
	if moves { // its key or its cost changes: take it out while they do
		q.tree.remove(it)
	}
	if queueLess(&r.E, &it.e) {
		it.e.Enqueued, it.e.Node = r.E.Enqueued, r.E.Node
	}
	if r.Touched >= it.touched {
		it.e.Cost = r.E.Cost
		it.touched = r.Touched
	}
	it.e.Expires = max(it.e.Expires, r.E.Expires)
	if moves {
		q.tree.insert(it)
	}
	heap.Fix(&q.byDeadline, it.hi)
	return it
}

// Dequeue removes a served or cancelled request everywhere: the tombstone
// is streamed to the peers.
func (o *Overlay) Dequeue(endpointID, requestIdx uint64) {
	now := o.now().UnixNano()
	q := o.lockEpQueue(endpointID)
	defer q.mu.Unlock()
	until := now
	if it := q.items[requestIdx]; it != nil {
		until = max(until, it.e.Expires)
	}
	r := tombRec{Endpoint: endpointID, Idx: requestIdx, At: now, Until: until + int64(tombstoneKeep)}
	q.mergeTombLocked(r, o.queueCap)
	if o.mux != nil {
		q.out = appendTombRec(q.out, &r)
		o.kickIfLarge(len(q.out))
	}
}

// mergeTomb merges a tombstone streamed by a peer.
func (o *Overlay) mergeTomb(r tombRec) {
	q := o.lockEpQueue(r.Endpoint)
	defer q.mu.Unlock()
	q.mergeTombLocked(r, o.queueCap)
}

// mergeTombLocked records a tombstone and removes the entry it kills.
func (q *epQueue) mergeTombLocked(r tombRec, queueCap int) {
	t := q.tombs[r.Idx]
	grew := r.Until > t.until
	t.at, t.until = max(t.at, r.At), max(t.until, r.Until)
	q.tombs[r.Idx] = t
	if grew {
		heap.Push(&q.tombOrder, tombAt{idx: r.Idx, until: t.until})
	}
	for len(q.tombs) > tombsPerCap*queueCap && q.tombOrder.Len() > 0 {
		q.popTombLocked()
	}
	if it := q.items[r.Idx]; it != nil && it.touched <= t.at {
		q.removeLocked(it)
	}
}

// popTombLocked drops the tombstone that expires first.
func (q *epQueue) popTombLocked() {
	x := heap.Pop(&q.tombOrder).(tombAt)
	if t, ok := q.tombs[x.idx]; ok && t.until == x.until {
		delete(q.tombs, x.idx)
	}
}

func (q *epQueue) removeLocked(it *queueItem) {
	q.tree.remove(it)
	heap.Remove(&q.byDeadline, it.hi)
	delete(q.items, it.e.RequestIdx)
	q.n.Store(int64(len(q.items)))
}

// expireLocked drops entries past their deadline and expired tombstones.
func (q *epQueue) expireLocked(now int64) {
	for len(q.byDeadline) > 0 && q.byDeadline[0].deadline() < now {
		q.removeLocked(q.byDeadline[0])
	}
	for q.tombOrder.Len() > 0 && q.tombOrder[0].until < now {
		q.popTombLocked()
	}
}

// Queue returns the endpoint's live entries sorted by Enqueued, then Node,
// then RequestIdx: the same order on every node. O(n): for the scheduler
// and /metrics, not for /route/.
func (o *Overlay) Queue(endpointID uint64) []fsm.QueueEntry {
	q := o.epQueueOf(endpointID)
	if q == nil || q.n.Load() == 0 {
		return nil // no lock, no allocation: the common case
	}
	now := o.now().UnixNano()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.expireLocked(now)
	out := make([]fsm.QueueEntry, 0, len(q.items))
	q.tree.each(func(it *queueItem) { out = append(out, it.e) })
	return out
}

// QueueAhead reports whether the request is held for the endpoint, and how
// many held requests, of what summed cost, are ahead of it (every held
// request when it is not held itself). O(log n) under the endpoint's lock;
// no lock and no allocation when nothing is held.
func (o *Overlay) QueueAhead(endpointID, requestIdx uint64) (held bool, n int, cost float64) {
	q := o.epQueueOf(endpointID)
	if q == nil || q.n.Load() == 0 {
		return false, 0, 0
	}
	now := o.now().UnixNano()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.expireLocked(now)
	me := q.items[requestIdx]
	n, cost = q.tree.ahead(me)
	return me != nil, n, cost
}

// QueuePosition is the 0-based index of the request in Queue(endpointID);
// ok is false when it is not queued (or expired).
func (o *Overlay) QueuePosition(endpointID, requestIdx uint64) (pos int, ok bool) {
	held, n, _ := o.QueueAhead(endpointID, requestIdx)
	return n, held
}

func queueLess(a, b *fsm.QueueEntry) bool {
	if a.Enqueued != b.Enqueued {
		return a.Enqueued < b.Enqueued
	}
	if a.Node != b.Node {
		return a.Node < b.Node
	}
	return a.RequestIdx < b.RequestIdx
}

// sweepQueues expires entries and tombstones of every endpoint and drops
// the queues left empty.
func (o *Overlay) sweepQueues(now int64) {
	for id, q := range *o.queues.Load() {
		q.mu.Lock()
		q.expireLocked(now)
		empty := len(q.items) == 0 && len(q.tombs) == 0 && len(q.out) == 0
		q.mu.Unlock()
		if empty {
			o.dropEpQueue(id, q)
		}
	}
}

// dropEpQueue removes an endpoint's queue if it is still empty.
func (o *Overlay) dropEpQueue(id uint64, q *epQueue) {
	o.qmu.Lock()
	defer o.qmu.Unlock()
	q.mu.Lock()
	defer q.mu.Unlock()
	old := *o.queues.Load()
	if old[id] != q || len(q.items) != 0 || len(q.tombs) != 0 || len(q.out) != 0 {
		return
	}
	m := make(map[uint64]*epQueue, len(old))
	for k, v := range old {
		if k != id {
			m[k] = v
		}
	}
	q.dead = true
	o.queues.Store(&m)
}

// takeQueueRecords moves every endpoint's unflushed records to b.
func (o *Overlay) takeQueueRecords(b []byte, emit func([]byte) []byte) []byte {
	for _, q := range *o.queues.Load() {
		q.mu.Lock()
		b = append(b, q.out...)
		q.out = q.out[:0]
		if cap(q.out) > fullPushChunk {
			q.out = nil
		}
		q.mu.Unlock()
		if len(b) >= maxPendingOut {
			b = emit(b)
		}
	}
	return b
}

// appendQueueState appends every endpoint's live entries and tombstones
// (for a full push), cutting frames with cut.
func (o *Overlay) appendQueueState(b []byte, now int64, cut func([]byte) []byte) []byte {
	for id, q := range *o.queues.Load() {
		q.mu.Lock()
		q.expireLocked(now)
		for _, it := range q.items {
			b = cut(appendQueueRec(b, &queueRec{E: it.e, Touched: it.touched}))
		}
		for idx, t := range q.tombs {
			b = cut(appendTombRec(b, &tombRec{Endpoint: id, Idx: idx, At: t.at, Until: t.until}))
		}
		q.mu.Unlock()
	}
	return b
}

// deadlineHeap orders queue items by deadline (a min-heap keeping each
// item's index in hi).
type deadlineHeap []*queueItem

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].deadline() < h[j].deadline() }
func (h deadlineHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hi, h[j].hi = i, j
}
func (h *deadlineHeap) Push(x any) {
	it := x.(*queueItem)
	it.hi = len(*h)
	*h = append(*h, it)
}
func (h *deadlineHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}

// tombAt is a tombstone's expiry in tombHeap.
type tombAt struct {
	idx   uint64
	until int64
}

// tombHeap orders tombstones by expiry (a min-heap).
type tombHeap []tombAt

func (h tombHeap) Len() int           { return len(h) }
func (h tombHeap) Less(i, j int) bool { return h[i].until < h[j].until }
func (h tombHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *tombHeap) Push(x any)        { *h = append(*h, x.(tombAt)) }
func (h *tombHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
