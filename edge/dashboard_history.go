package edge

import (
	"sync"
	"time"

	"github.com/drover-io/drover/fsm"
	dto "github.com/prometheus/client_model/go"
)

// The dashboard's history: every historyEvery this node samples each
// endpoint's demand, ready capacity and held queue into a ring of
// historyLen samples (historyEvery × historyLen = one hour), in memory
// only: a restarted node starts with an empty history.
const (
	historyEvery = 2 * time.Second
	historyLen   = 1800
)

// sample is one endpoint's figures at one time.
type sample struct {
	T        int64   `json:"t"`        // unix milliseconds
	Demand   float64 `json:"demand"`   // load/s arriving at its workers (their reports' new_load)
	Served   float64 `json:"served"`   // load/s its workers served (cur_perf)
	Capacity float64 `json:"capacity"` // load/s its ready workers can serve (max_perf)
	Ready    int     `json:"ready"`    // ready workers
	Queued   int     `json:"queued"`   // held /route/ requests
	InFlight float64 `json:"in_flight"`
}

// routeSample is this node's /route/ answers at one time, cumulative.
type routeSample struct {
	T     int64  `json:"t"`
	Total uint64 `json:"total"`
	Ready uint64 `json:"ready"`
}

// history is the bounded ring of samples, per endpoint and for /route/.
type history struct {
	mu     sync.Mutex
	eps    map[uint64][]sample
	routes []routeSample
	stop   chan struct{}
	once   sync.Once
}

func newHistory() *history {
	return &history{eps: map[uint64][]sample{}, stop: make(chan struct{})}
}

// run samples until close.
func (h *history) run(s *Server) {
	t := time.NewTicker(historyEvery)
	defer t.Stop()
	h.take(s, s.dp.Now())
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.take(s, s.dp.Now())
		}
	}
}

func (h *history) close() { h.once.Do(func() { close(h.stop) }) }

// take records one sample of every endpoint (dropping deleted ones).
func (h *history) take(s *Server, now time.Time) {
	v := s.replica.View()
	ms := now.UnixMilli()
	cur := map[uint64]sample{}
	for _, ep := range v.SortedEndpoints() {
		cur[ep.ID] = s.endpointSample(v, ep.ID, ms)
	}
	total, ready := s.routeCounts()
	h.mu.Lock()
	defer h.mu.Unlock()
	for id := range h.eps {
		if _, ok := cur[id]; !ok {
			delete(h.eps, id)
		}
	}
	for id, smp := range cur {
		h.eps[id] = appendRing(h.eps[id], smp)
	}
	h.routes = appendRing(h.routes, routeSample{T: ms, Total: total, Ready: ready})
}

func appendRing[T any](ring []T, x T) []T {
	if len(ring) >= historyLen {
		ring = append(ring[:0:0], ring[len(ring)-historyLen+1:]...)
	}
	return append(ring, x)
}

// endpointSample sums an endpoint's worker reports from the overlay.
func (s *Server) endpointSample(v *fsm.View, id uint64, ms int64) sample {
	smp := sample{T: ms, Queued: len(s.dp.Overlay.Queue(id))}
	for _, g := range v.GroupsOf(id) {
		for _, w := range v.WorkersOf(g.ID) {
			wl := s.dp.Overlay.Load(w.ID)
			perf := w.MaxPerf
			if wl != nil {
				smp.Demand += wl.NewLoadRate
				smp.Served += wl.CurPerfRate
				smp.InFlight += wl.CurLoad
				if wl.MaxPerf > 0 {
					perf = wl.MaxPerf
				}
			}
			if w.State == fsm.WorkerReady {
				smp.Ready++
				smp.Capacity += perf
			}
		}
	}
	return smp
}

// routeCounts reads this node's /route/ counters: all answers, and the
// ones that named a worker.
func (s *Server) routeCounts() (total, ready uint64) {
	for i, c := range s.metrics.routes {
		var m dto.Metric
		if c.Write(&m) != nil || m.Counter == nil {
			continue
		}
		n := uint64(m.Counter.GetValue())
		total += n
		if routeOutcome(i) == outReady {
			ready += n
		}
	}
	return total, ready
}

// snapshot copies the ring for one answer.
func (h *history) snapshot() (map[uint64][]sample, []routeSample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	eps := make(map[uint64][]sample, len(h.eps))
	for id, r := range h.eps {
		eps[id] = append([]sample(nil), r...)
	}
	return eps, append([]routeSample(nil), h.routes...)
}

// latencySnapshot reads the /route/ latency histogram.
func (m *metrics) latencySnapshot() *dto.Histogram {
	var out dto.Metric
	if m.latency.Write(&out) != nil {
		return nil
	}
	return out.Histogram
}
