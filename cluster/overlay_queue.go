package cluster

import (
	"sort"

	"github.com/drover-io/drover/fsm"
)

// queueKey identifies a held request cluster-wide.
type queueKey struct{ endpoint, idx uint64 }

// queueItem is a stored queue entry. touched is the newest local or remote
// Enqueue time (unix nanos) that refreshed it: a tombstone kills only
// entries touched at or before it, so a request re-queued after being
// served (Vast's client retries the same request_idx after a 429) lives.
type queueItem struct {
	e       fsm.QueueEntry
	touched int64
}

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

// Enqueue inserts or refreshes the entry (EndpointID, RequestIdx) and
// returns the stored one: the first Enqueued (and its Node) is kept so a
// request polled through another node keeps its place; Expires is the later
// of the two; Cost is the newest. A zero Enqueued means now, a zero Expires
// means 30 s after Enqueued, an empty Node means this node.
func (o *Overlay) Enqueue(e fsm.QueueEntry) fsm.QueueEntry {
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
	o.mu.Lock()
	defer o.mu.Unlock()
	it := o.mergeQueueLocked(queueRec{E: e, Touched: now}, now)
	if it == nil {
		return e
	}
	if o.mux != nil {
		o.out = appendQueueRec(o.out, &queueRec{E: it.e, Touched: it.touched})
		o.flushIfLargeLocked()
	}
	return it.e
}

// mergeQueueLocked merges one entry; nil when a tombstone or its expiry
// kills it.
func (o *Overlay) mergeQueueLocked(r queueRec, now int64) *queueItem {
	k := queueKey{r.E.EndpointID, r.E.RequestIdx}
	if t, ok := o.tombs[k]; ok && r.Touched <= t.at {
		return nil
	}
	if r.E.Expires < now {
		return nil
	}
	q := o.queue[k.endpoint]
	if q == nil {
		q = map[uint64]*queueItem{}
		o.queue[k.endpoint] = q
		o.queued.Store(int64(len(o.queue)))
	}
	it := q[k.idx]
	if it == nil || it.e.Expires < now {
		it = &queueItem{e: r.E, touched: r.Touched}
		q[k.idx] = it
		return it
	}
	if queueLess(&r.E, &it.e) {
		it.e.Enqueued, it.e.Node = r.E.Enqueued, r.E.Node
	}
	if r.Touched >= it.touched {
		it.e.Cost = r.E.Cost
		it.touched = r.Touched
	}
	it.e.Expires = max(it.e.Expires, r.E.Expires)
	return it
}

// Dequeue removes a served or cancelled request everywhere: the tombstone
// is streamed to the peers.
func (o *Overlay) Dequeue(endpointID, requestIdx uint64) {
	now := o.now().UnixNano()
	o.mu.Lock()
	defer o.mu.Unlock()
	until := now
	if it := o.queue[endpointID][requestIdx]; it != nil {
		until = max(until, it.e.Expires)
	}
	r := tombRec{Endpoint: endpointID, Idx: requestIdx, At: now, Until: until + int64(tombstoneKeep)}
	o.mergeTombLocked(r)
	if o.mux != nil {
		o.out = appendTombRec(o.out, &r)
		o.flushIfLargeLocked()
	}
}

// mergeTombLocked records a tombstone and removes the entry it kills.
func (o *Overlay) mergeTombLocked(r tombRec) {
	k := queueKey{r.Endpoint, r.Idx}
	t := o.tombs[k]
	t.at, t.until = max(t.at, r.At), max(t.until, r.Until)
	o.tombs[k] = t
	q := o.queue[r.Endpoint]
	if it := q[r.Idx]; it != nil && it.touched <= t.at {
		delete(q, r.Idx)
		if len(q) == 0 {
			delete(o.queue, r.Endpoint)
			o.queued.Store(int64(len(o.queue)))
		}
	}
}

// Queue returns the endpoint's live entries sorted by Enqueued, then Node,
// then RequestIdx: the same order on every node.
func (o *Overlay) Queue(endpointID uint64) []fsm.QueueEntry {
	if o.queued.Load() == 0 {
		return nil // no lock, no allocation: the common case on /route/
	}
	now := o.now().UnixNano()
	o.mu.Lock()
	q := o.queue[endpointID]
	out := make([]fsm.QueueEntry, 0, len(q))
	for _, it := range q {
		if it.e.Expires >= now {
			out = append(out, it.e)
		}
	}
	o.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return queueLess(&out[i], &out[j]) })
	return out
}

// QueuePosition is the 0-based index of the request in Queue(endpointID);
// ok is false when it is not queued (or expired).
func (o *Overlay) QueuePosition(endpointID, requestIdx uint64) (pos int, ok bool) {
	now := o.now().UnixNano()
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.queue[endpointID]
	me := q[requestIdx]
	if me == nil || me.e.Expires < now {
		return 0, false
	}
	for _, it := range q {
		if it != me && it.e.Expires >= now && queueLess(&it.e, &me.e) {
			pos++
		}
	}
	return pos, true
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

// sweepQueueLocked drops expired entries and tombstones.
func (o *Overlay) sweepQueueLocked(now int64) {
	for ep, q := range o.queue {
		for idx, it := range q {
			if it.e.Expires < now {
				delete(q, idx)
			}
		}
		if len(q) == 0 {
			delete(o.queue, ep)
		}
	}
	o.queued.Store(int64(len(o.queue)))
	for k, t := range o.tombs {
		if t.until < now {
			delete(o.tombs, k)
		}
	}
}
