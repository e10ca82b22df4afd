package worker

import (
	"encoding/json"
	"sort"
	"sync"
)

// sums are the interval sums of a report.
type sums struct {
	received, cancelled, rejected, served float64
}

// flight is one request being served.
type flight struct {
	id         uint64
	requestIdx json.Number
	cost       float64
}

// stats is the worker's load accounting. The worker path is not hot enough
// to need anything finer than one mutex.
type stats struct {
	mu          sync.Mutex
	interval    sums
	curLoad     float64
	nextID      uint64
	working     map[uint64]*flight
	numReceived int64
	dirty       bool // something happened since the last report
	loadTime    float64
	maxPerf     float64
	errorMsg    string
}

func newStats() *stats { return &stats{working: make(map[uint64]*flight)} }

// admit starts a request unless in-flight load / max_perf is over
// maxQueue seconds (or the model is not ready: ok false, ready false).
func (s *stats) admit(idx json.Number, cost, maxQueue float64, distinct bool) (f *flight, ready, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.maxPerf <= 0 || s.errorMsg != "" {
		return nil, false, false
	}
	if s.curLoad/s.maxPerf > maxQueue {
		s.interval.rejected += cost
		s.dirty = true
		return nil, true, false
	}
	s.nextID++
	f = &flight{id: s.nextID, requestIdx: idx, cost: cost}
	s.working[f.id] = f
	s.curLoad += cost
	s.interval.received += cost
	if distinct {
		s.numReceived++
	}
	s.dirty = true
	return f, true, true
}

// reject counts load refused before admission (401).
func (s *stats) reject(cost float64) {
	s.mu.Lock()
	s.interval.rejected += cost
	s.dirty = true
	s.mu.Unlock()
}

// finish ends f with its outcome.
func (s *stats) finish(f *flight, o outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.working, f.id)
	s.curLoad -= f.cost
	if len(s.working) == 0 || s.curLoad < 0 {
		s.curLoad = 0 // no float drift once idle
	}
	switch o {
	case outcomeSuccess:
		s.interval.served += f.cost
	case outcomeCancelled:
		s.interval.cancelled += f.cost
	}
	s.dirty = true
}

// countSession counts a /session/create as a distinct reqnum received.
func (s *stats) countSession() {
	s.mu.Lock()
	s.numReceived++
	s.dirty = true
	s.mu.Unlock()
}

func (s *stats) setLoaded(loadTime, maxPerf float64) {
	s.mu.Lock()
	s.loadTime, s.maxPerf = max(loadTime, 0.001), maxPerf
	s.mu.Unlock()
}

// fail sets the sticky error_msg.
func (s *stats) fail(msg string) {
	s.mu.Lock()
	if s.errorMsg == "" {
		s.errorMsg = msg
	}
	s.mu.Unlock()
}

func (s *stats) ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxPerf > 0 && s.errorMsg == ""
}

// due reports whether the next busy tick should report.
func (s *stats) due() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dirty || len(s.working) > 0
}

func (s *stats) markDirty() {
	s.mu.Lock()
	s.dirty = true
	s.mu.Unlock()
}

// snapshot returns the report's load fields and the sums it covers.
func (s *stats) snapshot() (statusReport, sums) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dirty = false
	iv := s.interval
	r := statusReport{
		LoadTime:            pyFloat(s.loadTime),
		NewLoad:             pyFloat(max(iv.received-iv.cancelled, 0)),
		CurLoad:             pyFloat(s.curLoad),
		RejLoad:             pyFloat(iv.rejected),
		MaxPerf:             pyFloat(s.maxPerf),
		CurPerf:             pyFloat(iv.served),
		ErrorMsg:            s.errorMsg,
		NumRequestsWorking:  int64(len(s.working)),
		NumRequestsRecieved: s.numReceived,
		WorkingRequestIdxs:  make([]json.Number, 0, len(s.working)),
	}
	ids := make([]uint64, 0, len(s.working))
	for id := range s.working {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		r.WorkingRequestIdxs = append(r.WorkingRequestIdxs, s.working[id].requestIdx)
	}
	return r, iv
}

// reported subtracts the sums a successful report carried.
func (s *stats) reported(done sums) {
	s.mu.Lock()
	s.interval.received -= done.received
	s.interval.cancelled -= done.cancelled
	s.interval.rejected -= done.rejected
	s.interval.served -= done.served
	s.mu.Unlock()
}
