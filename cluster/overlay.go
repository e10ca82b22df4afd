package cluster

import (
	"log/slog"
	"math"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/drover-io/drover/transport"
)

// Overlay is this node's soft-state load overlay: the merged, current load
// of every worker and the queue of held /route/ requests, fed by the reports
// this node receives and by the deltas every peer streams to it. Nothing in
// it goes through Raft; it is rebuilt from peers after a restart.
//
// Load is lock-free and does not allocate. Everything else takes one mutex
// for a short time. All methods are safe for concurrent use.
type Overlay struct {
	self string
	log  *slog.Logger
	mux  *transport.Mux                         // nil: no streaming (merge-only tests)
	peer func() map[string]string               // id → cluster address, self excluded
	now  func() time.Time                       // the clock; time.Now
	wrk  atomic.Pointer[map[uint64]*workerSlot] // copy-on-write; replaced under mu

	// The held queue: one epQueue per endpoint, each with its own lock
	// (overlay_queue.go); the map is copy-on-write, replaced under qmu.
	// Lock order: mu, then qmu, then an epQueue's.
	queues   atomic.Pointer[map[uint64]*epQueue]
	qmu      sync.Mutex
	queueCap int           // held requests per endpoint
	kick     chan struct{} // asks the flush loop for an early flush

	mu      sync.Mutex
	seq     uint64                // last stamp sequence of this node
	dedup   dedupTable            // reports already counted
	out     []byte                // encoded records not yet flushed to peers
	links   map[string]*peerLink  // outgoing streams by peer id
	fresh   map[string]int64      // peer id → local unix nanos of its last frame
	inbound map[net.Conn]struct{} // accepted streams, closed on shutdown
	started int64

	stop     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// Overlay tuning. The flush interval is the batching delay of deltas; the
// heartbeat keeps idle streams (and Freshness) alive and finds dead peers.
const (
	overlayFlushInterval = 200 * time.Millisecond
	overlayHeartbeat     = time.Second
	overlayReadTimeout   = 5 * overlayHeartbeat
	overlayWriteTimeout  = 10 * time.Second
	overlayPeerRefresh   = time.Second
	overlayDialTimeout   = 5 * time.Second
	overlayMaxBackoff    = 5 * time.Second
	overlayLinkBuffer    = 64 // frames queued per peer before it is reset (full push on reconnect)

	dedupWindow      = 5 * time.Second  // a report seen again within it is not counted again
	rateWindow       = 10 * time.Second // interval sums are averaged over about this long
	maxRateSamples   = 32
	minRateSpan      = 100 * time.Millisecond
	firstInterval    = time.Second      // assumed interval of a worker's first report (busy cadence)
	defaultQueueHold = 30 * time.Second // Expires of a queue entry that has none
	tombstoneKeep    = 30 * time.Second // how long a tombstone outlives its entry
	idleSlotDrop     = 30 * time.Minute // a worker silent this long leaves the overlay
)

// overlayConfig wires an Overlay.
type overlayConfig struct {
	Self   string
	Mux    *transport.Mux           // nil: no streams
	Peers  func() map[string]string // id → cluster address of every other node; nil: none
	Logger *slog.Logger
	Now    func() time.Time // nil: time.Now
	// QueueCap bounds the held requests of one endpoint; 0: DefaultQueueCap.
	QueueCap int
}

// newOverlay builds an Overlay and, with a Mux, starts its streams.
func newOverlay(cfg overlayConfig) *Overlay {
	o := &Overlay{
		self:     cfg.Self,
		log:      cfg.Logger,
		mux:      cfg.Mux,
		peer:     cfg.Peers,
		now:      cfg.Now,
		dedup:    newDedupTable(),
		queueCap: cfg.QueueCap,
		kick:     make(chan struct{}, 1),
		links:    map[string]*peerLink{},
		fresh:    map[string]int64{},
		inbound:  map[net.Conn]struct{}{},
		stop:     make(chan struct{}),
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.peer == nil {
		o.peer = func() map[string]string { return nil }
	}
	if o.queueCap <= 0 {
		o.queueCap = DefaultQueueCap
	}
	empty := map[uint64]*workerSlot{}
	o.wrk.Store(&empty)
	noQueues := map[uint64]*epQueue{}
	o.queues.Store(&noQueues)
	o.started = o.now().UnixNano()
	o.goLoop(o.sweepLoop)
	if o.mux != nil {
		ln := o.mux.Listener(transport.KindOverlay)
		o.goLoop(func() { o.acceptLoop(ln) })
		o.goLoop(o.flushLoop)
		o.goLoop(o.peerLoop)
	}
	return o
}

// flushIfLargeLocked flushes early when a burst would otherwise make the
// next frame larger than a peer reads.
func (o *Overlay) flushIfLargeLocked() {
	if len(o.out) >= maxPendingOut {
		o.flushLocked()
	}
}

func (o *Overlay) goLoop(f func()) {
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		f()
	}()
}

// close stops the streams and waits for the Overlay's goroutines.
func (o *Overlay) close() {
	o.stopOnce.Do(func() {
		close(o.stop)
		if o.mux != nil {
			o.mux.Listener(transport.KindOverlay).Close()
		}
		o.mu.Lock()
		for c := range o.inbound {
			c.Close()
		}
		for _, l := range o.links {
			l.close()
		}
		o.mu.Unlock()
		o.wg.Wait()
	})
}

// stamp orders reports: arrival time, then receiving node, then its
// sequence.
type stamp struct {
	arrived int64
	node    string
	seq     uint64
}

func (a stamp) less(b stamp) bool {
	if a.arrived != b.arrived {
		return a.arrived < b.arrived
	}
	if a.node != b.node {
		return a.node < b.node
	}
	return a.seq < b.seq
}

func loadStamp(w *fsm.WorkerLoad) stamp { return stamp{w.LastReport, w.Node, w.Seq} }

// workerSlot holds one worker's merged load. load is read lock-free; the
// rest is guarded by Overlay.mu (heard is atomic for the lifecycle loop).
type workerSlot struct {
	load  atomic.Pointer[fsm.WorkerLoad]
	heard atomic.Int64 // local unix nanos when this node last learned of a new report

	samples []rateSample // counted reports in the rate window, by arrival
	anchor  int64        // start of samples[0]'s interval (arrival of the report before it)
	seed    stamp        // rates adopted from a peer's full push cover reports up to here
	seeded  bool
}

// rateSample is one counted report's interval sums.
type rateSample struct {
	arrived                   int64
	newLoad, curPerf, rejLoad float64
}

// Report stamps r (node id, arrival time, sequence: written into r), merges
// it and queues it for the peers. dup reports that the same report already
// arrived, here or at a peer whose delta came first, and was not counted
// again. r.MToken is never stored or streamed.
func (o *Overlay) Report(r *fsm.LoadReport) (dup bool) {
	now := o.now().UnixNano()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seq++
	r.Node, r.Arrived, r.Seq = o.self, now, o.seq
	rec := recordOf(r)
	if o.mergeReportLocked(&rec, now) {
		return true
	}
	if o.mux != nil {
		o.out = appendReportRec(o.out, &rec)
		o.flushIfLargeLocked()
	}
	return false
}

// Load returns the merged load of a worker, nil if it never reported. It
// takes no lock and does not allocate; the result is immutable.
func (o *Overlay) Load(workerID uint64) *fsm.WorkerLoad {
	s := (*o.wrk.Load())[workerID]
	if s == nil {
		return nil
	}
	return s.load.Load()
}

// Loads returns a copy of every worker's merged load, sorted by worker id.
func (o *Overlay) Loads() []fsm.WorkerLoad {
	m := *o.wrk.Load()
	out := make([]fsm.WorkerLoad, 0, len(m))
	for _, s := range m {
		if w := s.load.Load(); w != nil {
			out = append(out, *w)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].WorkerID < out[j].WorkerID })
	return out
}

// lastHeard is the local unix nanos when this node last learned of a new
// report of the worker (0: never).
func (o *Overlay) lastHeard(workerID uint64) int64 {
	s := (*o.wrk.Load())[workerID]
	if s == nil {
		return 0
	}
	return s.heard.Load()
}

// slotLocked returns the worker's slot, adding it (copy-on-write) if new.
func (o *Overlay) slotLocked(id uint64) *workerSlot {
	old := *o.wrk.Load()
	if s := old[id]; s != nil {
		return s
	}
	m := make(map[uint64]*workerSlot, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	s := &workerSlot{}
	m[id] = s
	o.wrk.Store(&m)
	return s
}

// mergeReportLocked counts one report (local or from a peer) unless it was
// counted already; it reports whether it was a duplicate.
func (o *Overlay) mergeReportLocked(r *reportRec, now int64) bool {
	if !o.dedup.add(r.WorkerID, r.Key, now) {
		return true
	}
	s := o.slotLocked(r.WorkerID)
	wl := fsm.WorkerLoad{WorkerID: r.WorkerID}
	cur := s.load.Load()
	if cur != nil {
		wl = *cur
	}
	if cur == nil || loadStamp(cur).less(r.St) {
		wl.CurLoad, wl.MaxPerf, wl.NumRequestsWorking = r.CurLoad, r.MaxPerf, r.NumRequestsWorking
		wl.LoadTime, wl.ErrorMsg, wl.URL = r.LoadTime, r.ErrorMsg, r.URL
		wl.LastReport, wl.Node, wl.Seq = r.St.arrived, r.St.node, r.St.seq
	}
	if !s.seeded || s.seed.less(r.St) {
		s.addSample(rateSample{r.St.arrived, r.NewLoad, r.CurPerf, r.RejLoad})
	}
	wl.NewLoadRate, wl.CurPerfRate, wl.RejLoadRate = s.rates()
	s.heard.Store(now)
	s.load.Store(&wl)
	return false
}

// mergeStateLocked merges a worker's state from a peer's full push: taken
// when its stamp is newer. Its rates are adopted only while this node has
// no rate history of its own for the worker.
func (o *Overlay) mergeStateLocked(w *fsm.WorkerLoad, now int64) {
	s := o.slotLocked(w.WorkerID)
	cur := s.load.Load()
	if cur != nil && !loadStamp(cur).less(loadStamp(w)) {
		return
	}
	wl := *w
	if len(s.samples) > 0 {
		wl.NewLoadRate, wl.CurPerfRate, wl.RejLoadRate = s.rates()
	} else {
		s.seed, s.seeded = loadStamp(w), true
	}
	if h := min(w.LastReport, now); h > s.heard.Load() {
		s.heard.Store(h)
	}
	s.load.Store(&wl)
}

// addSample inserts a counted report by arrival and trims the window.
func (s *workerSlot) addSample(x rateSample) {
	if len(s.samples) == 0 {
		s.anchor = x.arrived - int64(firstInterval)
		if s.seeded && s.seed.arrived < x.arrived {
			s.anchor = s.seed.arrived
		}
	} else if x.arrived < s.anchor {
		return // older than the window: its interval is already gone
	}
	i := sort.Search(len(s.samples), func(i int) bool { return s.samples[i].arrived > x.arrived })
	s.samples = append(s.samples, rateSample{})
	copy(s.samples[i+1:], s.samples[i:])
	s.samples[i] = x
	last := s.samples[len(s.samples)-1].arrived
	for len(s.samples) > 1 && (len(s.samples) > maxRateSamples || s.samples[0].arrived < last-int64(rateWindow)) {
		s.anchor = s.samples[0].arrived
		s.samples = s.samples[1:]
	}
}

// rates turns the window's interval sums into per-second rates over the
// arrival intervals they cover (anchor to the newest arrival).
func (s *workerSlot) rates() (newLoad, curPerf, rejLoad float64) {
	if len(s.samples) == 0 {
		if w := s.load.Load(); w != nil {
			return w.NewLoadRate, w.CurPerfRate, w.RejLoadRate
		}
		return 0, 0, 0
	}
	span := max(s.samples[len(s.samples)-1].arrived-s.anchor, int64(minRateSpan))
	for _, x := range s.samples {
		newLoad += x.newLoad
		curPerf += x.curPerf
		rejLoad += x.rejLoad
	}
	sec := float64(span) / float64(time.Second)
	return finite(newLoad / sec), finite(curPerf / sec), finite(rejLoad / sec)
}

func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

// sweepLoop drops expired queue entries, tombstones, dedup keys and idle
// workers once a second.
func (o *Overlay) sweepLoop() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-t.C:
			o.sweep(o.now().UnixNano())
		}
	}
}

func (o *Overlay) sweep(now int64) {
	o.sweepQueues(now)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dedup.expire(now)
	old := *o.wrk.Load()
	var drop []uint64
	for id, s := range old {
		if h := s.heard.Load(); h != 0 && h < now-int64(idleSlotDrop) {
			drop = append(drop, id)
		}
	}
	if len(drop) == 0 {
		return
	}
	m := make(map[uint64]*workerSlot, len(old))
	for k, v := range old {
		m[k] = v
	}
	for _, id := range drop {
		delete(m, id)
	}
	o.wrk.Store(&m)
}
