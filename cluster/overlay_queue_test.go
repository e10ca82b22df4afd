package cluster

import (
	"testing"
	"time"

	"github.com/drover-io/drover/fsm"
)

// With nothing queued anywhere, Queue (called on every /route/) takes no
// lock and allocates nothing.
func TestOverlayEmptyQueueIsFree(t *testing.T) {
	o := newOverlay(overlayConfig{Self: "n1"})
	if n := testing.AllocsPerRun(100, func() { o.Queue(1) }); n != 0 {
		t.Fatalf("Queue on an empty overlay allocates %v times", n)
	}
	o.Enqueue(fsm.QueueEntry{EndpointID: 1, RequestIdx: 7, Expires: time.Now().Add(time.Minute).UnixNano()})
	if q := o.Queue(1); len(q) != 1 {
		t.Fatalf("Queue after Enqueue = %v, want one entry", q)
	}
	o.Dequeue(1, 7)
	if q := o.Queue(1); len(q) != 0 || o.queued.Load() != 0 {
		t.Fatalf("after Dequeue: Queue = %v, queued = %d, want none", q, o.queued.Load())
	}
}
