package cluster

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/fsm"
)

// With nothing queued anywhere, Queue and QueueAhead (called on every
// /route/) take no lock and allocate nothing.
func TestOverlayEmptyQueueIsFree(t *testing.T) {
	o := newOverlay(overlayConfig{Self: "n1"})
	defer o.close()
	if n := testing.AllocsPerRun(100, func() { o.Queue(1); o.QueueAhead(1, 5) }); n != 0 {
		t.Fatalf("Queue on an empty overlay allocates %v times", n)
	}
	o.Enqueue(fsm.QueueEntry{EndpointID: 1, RequestIdx: 7, Expires: time.Now().Add(time.Minute).UnixNano()})
	if q := o.Queue(1); len(q) != 1 {
		t.Fatalf("Queue after Enqueue = %v, want one entry", q)
	}
	o.Dequeue(1, 7)
	if q := o.Queue(1); len(q) != 0 || o.epQueueOf(1).n.Load() != 0 {
		t.Fatalf("after Dequeue: Queue = %v, want none", q)
	}
	if n := testing.AllocsPerRun(100, func() { o.QueueAhead(1, 5) }); n != 0 {
		t.Fatalf("QueueAhead on an emptied queue allocates %v times", n)
	}
}

// QueueAhead agrees with a count over the sorted queue through random
// inserts, refreshes that move entries, and removals.
func TestOverlayQueueAheadMatchesOrder(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	o := newOverlay(overlayConfig{Self: "n1", Now: clock.Now})
	defer o.close()
	r := rand.New(rand.NewPCG(1, 2))
	base := clock.Now().UnixNano()
	for i := range 3000 {
		idx := uint64(r.IntN(500) + 1)
		switch r.IntN(4) {
		case 0:
			o.Dequeue(1, idx)
		default:
			o.mergeQueue(queueRec{E: fsm.QueueEntry{EndpointID: 1, RequestIdx: idx, Cost: float64(r.IntN(300)),
				Enqueued: base + int64(r.IntN(1000)), Expires: base + int64(time.Hour),
				Node: []string{"n1", "n2", "n3"}[r.IntN(3)]}, Touched: base + int64(i)}, base)
		}
		if i%100 != 0 {
			continue
		}
		q := o.Queue(1)
		if !slices.IsSortedFunc(q, func(a, b fsm.QueueEntry) int {
			if queueLess(&a, &b) {
				return -1
			}
			return 1
		}) {
			t.Fatalf("Queue is not in queue order")
		}
		var cost float64
		for k, e := range q {
			held, n, c := o.QueueAhead(1, e.RequestIdx)
			if !held || n != k || c != cost {
				t.Fatalf("QueueAhead(%d) = %v %d %v, want true %d %v", e.RequestIdx, held, n, c, k, cost)
			}
			cost += e.Cost
		}
		if held, n, c := o.QueueAhead(1, 99999); held || n != len(q) || c != cost {
			t.Fatalf("QueueAhead(not held) = %v %d %v, want false %d %v", held, n, c, len(q), cost)
		}
	}
}

// A new entry past the cap is refused; a held one is still refreshed.
// Entries not polled for QueueAbandon leave, and so make room.
func TestOverlayQueueCapAndAbandon(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	o := newOverlay(overlayConfig{Self: "n1", Now: clock.Now, QueueCap: 3})
	defer o.close()
	exp := clock.Now().Add(time.Hour).UnixNano()
	for idx := uint64(1); idx <= 3; idx++ {
		if _, ok := o.Enqueue(fsm.QueueEntry{EndpointID: 1, RequestIdx: idx, Cost: 100, Expires: exp}); !ok {
			t.Fatalf("Enqueue(%d) refused under the cap", idx)
		}
		clock.Add(time.Second)
	}
	if _, ok := o.Enqueue(fsm.QueueEntry{EndpointID: 1, RequestIdx: 4, Expires: exp}); ok {
		t.Fatal("Enqueue past the cap accepted")
	}
	if _, ok := o.Enqueue(fsm.QueueEntry{EndpointID: 2, RequestIdx: 4, Expires: exp}); !ok {
		t.Fatal("the cap of one endpoint refused another's request")
	}
	// Requests 2 and 3 keep polling; request 1's client gave up.
	for range 3 {
		clock.Add(4 * time.Second)
		for idx := uint64(2); idx <= 3; idx++ {
			if _, ok := o.Enqueue(fsm.QueueEntry{EndpointID: 1, RequestIdx: idx, Cost: 100, Expires: exp}); !ok {
				t.Fatalf("poll of held request %d refused", idx)
			}
		}
	}
	if held, n, c := o.QueueAhead(1, 3); !held || n != 1 || c != 100 {
		t.Fatalf("QueueAhead(3) after 1 was abandoned = %v %d %v, want true 1 100", held, n, c)
	}
	if _, ok := o.Enqueue(fsm.QueueEntry{EndpointID: 1, RequestIdx: 4, Expires: exp}); !ok {
		t.Fatal("Enqueue refused although an abandoned entry left")
	}
	if got := idxsOf(o.Queue(1)); !slices.Equal(got, []uint64{2, 3, 4}) {
		t.Fatalf("Queue = %v, want [2 3 4]", got)
	}
}

// A flood of 200k new requests on one endpoint holds at most the cap, in
// bounded memory, and the tombstones of dequeued ones are bounded too.
func TestOverlayQueueFloodBounded(t *testing.T) {
	o := newOverlay(overlayConfig{Self: "n1"})
	defer o.close()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	exp := time.Now().Add(time.Minute).UnixNano()
	refused := 0
	for idx := uint64(1); idx <= 200_000; idx++ {
		if _, ok := o.Enqueue(fsm.QueueEntry{EndpointID: 1, RequestIdx: idx, Cost: 100, Expires: exp}); !ok {
			refused++
			o.Dequeue(1, idx) // e.g. a worker's delete of an index it was given anyway
		}
	}
	q := o.epQueueOf(1)
	q.mu.Lock()
	items, tombs, tree := len(q.items), len(q.tombs), q.tree.len()
	q.mu.Unlock()
	if items != DefaultQueueCap || tree != items || refused != 200_000-DefaultQueueCap {
		t.Fatalf("after the flood: %d held (%d in the tree), %d refused; want %d held", items, tree, refused, DefaultQueueCap)
	}
	if tombs > tombsPerCap*DefaultQueueCap {
		t.Fatalf("%d tombstones, want at most %d", tombs, tombsPerCap*DefaultQueueCap)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 64<<20 {
		t.Fatalf("heap grew by %d MiB under the flood, want < 64", grew>>20)
	}
}

func idxsOf(q []fsm.QueueEntry) []uint64 {
	var out []uint64
	for _, e := range q {
		out = append(out, e.RequestIdx)
	}
	return out
}

// BenchmarkQueueAheadHeld100k measures what a /route/ poll costs with 100k
// requests held on its endpoint (QueueAhead, then the poll's refresh), and,
// in parallel, what QueueAhead costs for another endpoint.
func BenchmarkQueueAheadHeld100k(b *testing.B) {
	o := newOverlay(overlayConfig{Self: "n1", QueueCap: 200_000})
	defer o.close()
	exp := time.Now().Add(time.Hour).UnixNano()
	for idx := uint64(1); idx <= 100_000; idx++ {
		o.Enqueue(fsm.QueueEntry{EndpointID: 1, RequestIdx: idx, Cost: 100, Expires: exp})
	}
	o.Enqueue(fsm.QueueEntry{EndpointID: 2, RequestIdx: 1, Cost: 100, Expires: exp})
	b.Run("held-endpoint", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			idx := uint64(i%100_000) + 1
			o.QueueAhead(1, idx)
			o.Enqueue(fsm.QueueEntry{EndpointID: 1, RequestIdx: idx, Cost: 100, Expires: exp})
		}
	})
	b.Run("other-endpoint-while-held-one-polls", func(b *testing.B) {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				idx := uint64(i%100_000) + 1
				o.QueueAhead(1, idx)
				o.Enqueue(fsm.QueueEntry{EndpointID: 1, RequestIdx: idx, Cost: 100, Expires: exp})
			}
		}()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			o.QueueAhead(2, 1)
		}
		b.StopTimer()
		close(stop)
		<-done
	})
}

// Concurrent enqueues, polls, dequeues and sweeps (which drop emptied
// endpoint queues) on two streaming nodes converge to the same queue, with
// the race detector watching the per-endpoint locks.
func TestOverlayQueueConcurrent(t *testing.T) {
	on := newOverlayNet(t, "a", "b")
	a, b := on.get("a"), on.get("b")
	exp := time.Now().Add(time.Minute).UnixNano()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := []*Overlay{a, b}[g%2]
			for i := range 500 {
				ep, idx := uint64(1+i%3), uint64(g*1000+i)
				o.Enqueue(fsm.QueueEntry{EndpointID: ep, RequestIdx: idx, Cost: 1, Expires: exp})
				o.QueueAhead(ep, idx)
				if i%2 == 0 {
					o.Dequeue(ep, idx)
				}
				if i%50 == 0 {
					o.sweepQueues(time.Now().UnixNano())
				}
			}
		}()
	}
	wg.Wait()
	for ep := uint64(1); ep <= 3; ep++ {
		waitFor(t, 5*time.Second, fmt.Sprintf("endpoint %d converged", ep), func() bool {
			qa, qb := idxsOf(a.Queue(ep)), idxsOf(b.Queue(ep))
			return len(qa) > 0 && slices.Equal(qa, qb)
		})
		for _, idx := range idxsOf(a.Queue(ep)) {
			if idx%2 == 0 {
				t.Fatalf("endpoint %d holds dequeued request %d", ep, idx)
			}
		}
	}
	total := 0
	for ep := uint64(1); ep <= 3; ep++ {
		total += len(a.Queue(ep))
	}
	if total != 4*250 {
		t.Fatalf("%d held after the run, want %d (every odd request)", total, 4*250)
	}
}
