package cluster

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/drover-io/drover/transport"
)

// overlayNet is a set of Overlays on real loopback muxes whose peer lists
// the test controls.
type overlayNet struct {
	t     *testing.T
	mu    sync.Mutex
	addrs map[string]string
	ovs   map[string]*Overlay
	muxes map[string]*transport.Mux
}

func newOverlayNet(t *testing.T, ids ...string) *overlayNet {
	t.Helper()
	on := &overlayNet{t: t, addrs: map[string]string{}, ovs: map[string]*Overlay{}, muxes: map[string]*transport.Mux{}}
	for _, id := range ids {
		on.start(id)
	}
	t.Cleanup(func() {
		on.mu.Lock()
		ids := make([]string, 0, len(on.ovs))
		for id := range on.ovs {
			ids = append(ids, id)
		}
		on.mu.Unlock()
		for _, id := range ids {
			on.stop(id)
		}
	})
	return on
}

// start (re)starts node id on a fresh port.
func (on *overlayNet) start(id string) *Overlay {
	on.t.Helper()
	mux, err := transport.Listen(transport.Config{Bind: "127.0.0.1:0"})
	if err != nil {
		on.t.Fatal(err)
	}
	o := newOverlay(overlayConfig{Self: id, Mux: mux, Peers: func() map[string]string { return on.peers(id) }})
	on.mu.Lock()
	on.addrs[id], on.ovs[id], on.muxes[id] = mux.Addr(), o, mux
	on.mu.Unlock()
	return o
}

func (on *overlayNet) stop(id string) {
	on.mu.Lock()
	o, mux := on.ovs[id], on.muxes[id]
	delete(on.ovs, id)
	delete(on.muxes, id)
	delete(on.addrs, id)
	on.mu.Unlock()
	if o != nil {
		o.close()
		mux.Close()
	}
}

func (on *overlayNet) peers(self string) map[string]string {
	on.mu.Lock()
	defer on.mu.Unlock()
	out := map[string]string{}
	for id, a := range on.addrs {
		if id != self {
			out[id] = a
		}
	}
	return out
}

func (on *overlayNet) get(id string) *Overlay {
	on.mu.Lock()
	defer on.mu.Unlock()
	return on.ovs[id]
}

func report(id uint64, curLoad float64) *fsm.LoadReport {
	return &fsm.LoadReport{WorkerID: id, Version: "1.1.0", LoadTime: 3, CurLoad: curLoad, MaxPerf: 100,
		NewLoad: 1, CurPerf: 1, URL: fmt.Sprintf("http://10.0.0.%d:8000", id)}
}

func TestOverlayReportVisibleOnAllNodes(t *testing.T) {
	on := newOverlayNet(t, "a", "b", "c")
	start := time.Now()
	if dup := on.get("a").Report(report(7, 42)); dup {
		t.Fatal("Report(first) = dup, want counted")
	}
	for _, id := range []string{"b", "c"} {
		waitFor(t, 3*time.Second, "worker 7 on "+id, func() bool {
			w := on.get(id).Load(7)
			return w != nil && w.CurLoad == 42 && w.Node == "a" && w.URL == "http://10.0.0.7:8000"
		})
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("report visible everywhere after %s, want about 1 s at most", d)
	}
	waitFor(t, 3*time.Second, "freshness of a on b", func() bool {
		age, ok := on.get("b").Freshness()["a"]
		return ok && age < 2*time.Second
	})
}

func TestOverlayGaugesLastWriterWins(t *testing.T) {
	rec := func(node string, arrived int64, seq uint64, curLoad float64) reportRec {
		return reportRec{WorkerID: 1, St: stamp{arrived, node, seq}, Key: dedupKey{BySeq: true, Val: uint64(arrived) + seq},
			CurLoad: curLoad, MaxPerf: 10, LoadTime: 1}
	}
	tests := []struct {
		name string
		recs []reportRec
		want float64
	}{
		{"in order", []reportRec{rec("a", 100, 1, 1), rec("b", 200, 1, 2)}, 2},
		{"late older delta ignored", []reportRec{rec("b", 200, 1, 2), rec("a", 100, 1, 1)}, 2},
		{"same time: node breaks the tie", []reportRec{rec("b", 100, 1, 2), rec("a", 100, 9, 1)}, 2},
		{"same time and node: seq breaks the tie", []reportRec{rec("a", 100, 2, 2), rec("a", 100, 1, 1)}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOverlay(overlayConfig{Self: "x"})
			defer o.close()
			o.mu.Lock()
			for i := range tt.recs {
				o.mergeReportLocked(&tt.recs[i], 1000)
			}
			o.mu.Unlock()
			if got := o.Load(1); got == nil || got.CurLoad != tt.want {
				t.Errorf("Load(1) = %+v, want cur_load %v", got, tt.want)
			}
		})
	}
}

// fakeClock is a settable clock for merge tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestOverlaySumsBecomeRates(t *testing.T) {
	tests := []struct {
		name     string
		gaps     []time.Duration // before each report
		newLoads []float64
		want     float64 // new_load rate after the last report
	}{
		{"first report assumes one second", []time.Duration{0}, []float64{3}, 3},
		{"steady one per second", []time.Duration{0, time.Second, time.Second}, []float64{2, 2, 2}, 2},
		{"one report after failed posts covers the whole gap", []time.Duration{0, time.Second, 5 * time.Second}, []float64{2, 2, 10}, 14.0 / 7},
		{"idle reports bring the rate down", []time.Duration{0, time.Second, 10 * time.Second}, []float64{4, 4, 0}, 4.0 / 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Unix(1000, 0)}
			o := newOverlay(overlayConfig{Self: "x", Now: clk.Now})
			defer o.close()
			for i, g := range tt.gaps {
				clk.Add(g)
				r := report(1, 0)
				r.NewLoad, r.ReportSeq = tt.newLoads[i], uint64(i+1)
				o.Report(r)
			}
			if got := o.Load(1).NewLoadRate; math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("NewLoadRate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOverlaySameReportCountedOnce(t *testing.T) {
	tests := []struct {
		name string
		mut  func(r *fsm.LoadReport)
	}{
		{"pyworker (hash of fields)", func(r *fsm.LoadReport) {}},
		{"drover worker (report seq)", func(r *fsm.LoadReport) { r.ReportSeq = 77 }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			on := newOverlayNet(t, "a", "b")
			id := uint64(10 + i)
			r1, r2 := report(id, 5), report(id, 5)
			r1.NewLoad, r2.NewLoad = 8, 8
			tt.mut(r1)
			tt.mut(r2)
			if on.get("a").Report(r1) {
				t.Fatal("first Report = dup")
			}
			waitFor(t, 3*time.Second, "report on b", func() bool { return on.get("b").Load(id) != nil })
			if !on.get("b").Report(r2) {
				t.Errorf("Report of the same report on b = counted, want dup")
			}
			// A marker report after it: once it is visible on a, b's stream
			// has been applied, and the duplicate must not have added to the sums.
			m := report(id+100, 1)
			on.get("b").Report(m)
			waitFor(t, 3*time.Second, "marker on a", func() bool { return on.get("a").Load(id+100) != nil })
			for _, n := range []string{"a", "b"} {
				if got := on.get(n).Load(id).NewLoadRate; got != 8 {
					t.Errorf("%s: NewLoadRate = %v, want 8 (one report of 8 over the assumed 1 s)", n, got)
				}
			}
		})
	}
}

func TestOverlayDistinctReportsNotDeduped(t *testing.T) {
	o := newOverlay(overlayConfig{Self: "x"})
	defer o.close()
	r1, r2 := report(1, 1), report(1, 2)
	if o.Report(r1) || o.Report(r2) {
		t.Fatal("distinct reports deduplicated")
	}
	r3 := report(1, 2)
	if !o.Report(r3) {
		t.Error("Report(same fields again) = counted, want dup within the window")
	}
	s1, s2 := report(2, 1), report(2, 1)
	s1.ReportSeq, s2.ReportSeq = 1, 2
	if o.Report(s1) || o.Report(s2) {
		t.Error("same fields with different drover_seq deduplicated")
	}
}

func TestOverlayQueueAcrossNodes(t *testing.T) {
	on := newOverlayNet(t, "a", "b", "c")
	a, b := on.get("a"), on.get("b")
	now := time.Now().UnixNano()
	first, _ := a.Enqueue(fsm.QueueEntry{EndpointID: 1, RequestIdx: 100, Cost: 1, Enqueued: now, Expires: now + int64(time.Minute)})
	a.Enqueue(fsm.QueueEntry{EndpointID: 1, RequestIdx: 101, Cost: 1, Enqueued: now + 1, Expires: now + int64(time.Minute)})
	waitFor(t, 3*time.Second, "both entries on b", func() bool { return len(b.Queue(1)) == 2 })
	// The client polls request 101 through b: it keeps its place.
	got, _ := b.Enqueue(fsm.QueueEntry{EndpointID: 1, RequestIdx: 101, Cost: 2, Enqueued: now + 5, Expires: now + 2*int64(time.Minute)})
	if got.Enqueued != now+1 || got.Node != "a" || got.Expires != now+2*int64(time.Minute) {
		t.Errorf("Enqueue(poll on b) = %+v, want the first Enqueued/Node and the later Expires", got)
	}
	for _, n := range []string{"a", "b", "c"} {
		waitFor(t, 3*time.Second, "positions on "+n, func() bool {
			p0, ok0 := on.get(n).QueuePosition(1, 100)
			p1, ok1 := on.get(n).QueuePosition(1, 101)
			return ok0 && ok1 && p0 == 0 && p1 == 1
		})
	}
	if first.RequestIdx != 100 || first.Node != "a" {
		t.Errorf("Enqueue = %+v", first)
	}
	b.Dequeue(1, 100)
	for _, n := range []string{"a", "b", "c"} {
		waitFor(t, 3*time.Second, "dequeue on "+n, func() bool {
			q := on.get(n).Queue(1)
			return len(q) == 1 && q[0].RequestIdx == 101
		})
	}
	// Expired entries are dropped everywhere.
	c := on.get("c")
	c.Enqueue(fsm.QueueEntry{EndpointID: 2, RequestIdx: 5, Expires: time.Now().Add(400 * time.Millisecond).UnixNano()})
	waitFor(t, 3*time.Second, "entry on a", func() bool { return len(a.Queue(2)) == 1 })
	for _, n := range []string{"a", "b", "c"} {
		waitFor(t, 3*time.Second, "expiry on "+n, func() bool {
			_, ok := on.get(n).QueuePosition(2, 5)
			return len(on.get(n).Queue(2)) == 0 && !ok
		})
	}
}

func TestOverlayRequeueAfterDequeue(t *testing.T) {
	o := newOverlay(overlayConfig{Self: "x"})
	defer o.close()
	stored, _ := o.Enqueue(fsm.QueueEntry{EndpointID: 1, RequestIdx: 9})
	touched := o.epQueueOf(1).items[9].touched
	o.Dequeue(1, 9)
	// A late delta of the old entry stays dead.
	o.mergeQueue(queueRec{E: stored, Touched: touched}, time.Now().UnixNano())
	if len(o.Queue(1)) != 0 {
		t.Fatalf("late delta of a dequeued entry revived it: %+v", o.Queue(1))
	}
	// A new poll (after a 429) queues it again.
	o.Enqueue(fsm.QueueEntry{EndpointID: 1, RequestIdx: 9})
	if q := o.Queue(1); len(q) != 1 {
		t.Fatalf("Queue after re-enqueue = %+v, want the entry", q)
	}
}

func TestOverlayRestartedPeerGetsFullPush(t *testing.T) {
	on := newOverlayNet(t, "a", "b")
	a := on.get("a")
	a.Report(report(1, 3))
	a.Enqueue(fsm.QueueEntry{EndpointID: 4, RequestIdx: 44, Expires: time.Now().Add(time.Minute).UnixNano()})
	waitFor(t, 3*time.Second, "worker 1 on b", func() bool { return on.get("b").Load(1) != nil })
	on.stop("b")
	a.Report(report(2, 6)) // while b is down
	b := on.start("b")     // empty, on a new port
	waitFor(t, 5*time.Second, "full push to the restarted b", func() bool {
		w1, w2 := b.Load(1), b.Load(2)
		_, queued := b.QueuePosition(4, 44)
		return w1 != nil && w1.CurLoad == 3 && w2 != nil && w2.CurLoad == 6 && w2.NewLoadRate > 0 && queued
	})
}

func TestOverlayWireRoundTrip(t *testing.T) {
	rep := reportRec{WorkerID: 3, St: stamp{-5, "n1", 9}, Key: dedupKey{true, 1 << 60}, LoadTime: 1.5, NewLoad: 2,
		CurLoad: 3, RejLoad: 4, MaxPerf: 5, CurPerf: 6, NumRequestsWorking: -7, ErrorMsg: "oom", URL: "http://x"}
	st := fsm.WorkerLoad{WorkerID: 4, CurLoad: 1, MaxPerf: 2, NumRequestsWorking: 3, LoadTime: 4, ErrorMsg: "e", URL: "u",
		NewLoadRate: 5, CurPerfRate: 6, RejLoadRate: 7, LastReport: 8, Node: "n2", Seq: 9}
	q := queueRec{E: fsm.QueueEntry{EndpointID: 1, RequestIdx: 2, Cost: 3.5, Enqueued: 4, Expires: 5, Node: "n3"}, Touched: 6}
	tb := tombRec{Endpoint: 7, Idx: 8, At: 9, Until: 10}
	var b []byte
	b = appendReportRec(b, &rep)
	b = appendStateRec(b, &st)
	b = appendQueueRec(b, &q)
	b = appendTombRec(b, &tb)
	for len(b) < 2*compressOver { // force the s2 path too
		b = appendTombRec(b, &tb)
	}
	var buf bytesReader
	buf.b = encodeFrame(b)
	got, err := readFrame(&buf)
	if err != nil {
		t.Fatalf("readFrame = %v", err)
	}
	r := recReader{b: got}
	if r.byte() != recReport || r.report() != rep {
		t.Errorf("report round trip mismatch")
	}
	if r.byte() != recState || r.state() != st {
		t.Errorf("state round trip mismatch")
	}
	if r.byte() != recQueue || r.queue() != q {
		t.Errorf("queue round trip mismatch")
	}
	if r.byte() != recTomb || r.tomb() != tb || r.err != nil {
		t.Errorf("tombstone round trip mismatch: %v", r.err)
	}
	for _, bad := range [][]byte{{recReport, 1}, {'Z'}, {recQueue}} {
		o := newOverlay(overlayConfig{Self: "x"})
		if err := o.applyRecords("p", bad); err == nil {
			t.Errorf("applyRecords(%q) = nil, want an error", bad)
		}
		o.close()
	}
}

type bytesReader struct{ b []byte }

func (r *bytesReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, fmt.Errorf("eof")
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func BenchmarkOverlayLoad(b *testing.B) {
	o := newOverlay(overlayConfig{Self: "x"})
	defer o.close()
	for i := uint64(0); i < 1000; i++ {
		o.Report(report(i, float64(i)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	var sink float64
	for i := 0; i < b.N; i++ {
		if w := o.Load(uint64(i) % 1000); w != nil {
			sink += w.CurLoad
		}
	}
	_ = sink
}

func BenchmarkOverlayReport(b *testing.B) {
	mux, err := transport.Listen(transport.Config{Bind: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer mux.Close()
	o := newOverlay(overlayConfig{Self: "x", Mux: mux})
	defer o.close()
	r := report(0, 1)
	for i := 0; i < 5000; i++ { // every worker known: measure the steady state
		r.WorkerID, r.ReportSeq = uint64(i), uint64(i+1)
		o.Report(r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.WorkerID = uint64(i % 5000)
		r.ReportSeq = uint64(5000 + i + 1)
		o.Report(r)
	}
}

// TestOverlaySyncPeersAfterClose: a peer sync that runs after close (the
// peer loop can be past its stop check when close runs) starts no link,
// so nothing outlives close. It once left a link's goroutine that made the
// next Shutdown wait forever.
func TestOverlaySyncPeersAfterClose(t *testing.T) {
	o := newOverlay(overlayConfig{Self: "n1"})
	o.close()
	o.syncPeers(map[string]string{"n2": "127.0.0.1:1"})
	o.mu.Lock()
	n := len(o.links)
	o.mu.Unlock()
	if n != 0 {
		t.Fatalf("syncPeers after close started %d links, want 0", n)
	}
}
