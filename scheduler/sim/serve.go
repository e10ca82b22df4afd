package sim

import "math"

// server is the serving model: one FIFO queue per endpoint (the workload's
// requests in arrival order) and workers that each serve one request at a
// time at perf load/s, taking the queue's head as soon as they are free.
type server struct {
	perf    float64
	reqs    []Request
	next    int       // first request that has not arrived yet
	head    int       // first request not yet started: the queue is reqs[head:next]
	waits   []float64 // per request; NaN until it starts
	queued  float64   // load of the queue
	hist    []float64 // load arrived per second
	workers []*srvWorker
}

// srvWorker is one serving worker.
type srvWorker struct {
	freeAt float64 // when its current request ends (or when it became ready)
	active bool    // takes new requests
}

func newServer(reqs []Request, perf, end float64) *server {
	s := &server{perf: perf, reqs: reqs, waits: make([]float64, len(reqs)),
		hist: make([]float64, int(math.Ceil(end))+2)}
	for i := range s.waits {
		s.waits[i] = math.NaN()
	}
	return s
}

// add returns a new active worker free from t.
func (s *server) add(t float64) *srvWorker {
	w := &srvWorker{freeAt: t, active: true}
	s.workers = append(s.workers, w)
	return w
}

// serveUntil admits the requests that arrive before t1 and starts every
// request that some active worker can start before t1, in FIFO order, each
// on the worker that frees up first.
func (s *server) serveUntil(t1 float64) {
	for s.next < len(s.reqs) && s.reqs[s.next].At < t1 {
		r := s.reqs[s.next]
		s.hist[int(r.At)] += r.Load
		s.queued += r.Load
		s.next++
	}
	for s.head < s.next {
		w := s.earliest()
		if w == nil {
			return
		}
		r := s.reqs[s.head]
		start := math.Max(r.At, w.freeAt)
		if start >= t1 {
			return
		}
		s.waits[s.head] = start - r.At
		w.freeAt = start + r.Load/s.perf
		s.queued -= r.Load
		s.head++
	}
	if s.head == s.next {
		s.queued = 0 // no float drift when empty
	}
}

// earliest is the active worker that frees up first (lowest index on ties).
func (s *server) earliest() *srvWorker {
	var best *srvWorker
	for _, w := range s.workers {
		if w.active && (best == nil || w.freeAt < best.freeAt) {
			best = w
		}
	}
	return best
}

// inFlight is the load still being served at t.
func (s *server) inFlight(t float64) (load float64, busy int) {
	for _, w := range s.workers {
		if w.freeAt > t {
			load += (w.freeAt - t) * s.perf
			busy++
		}
	}
	return load, busy
}

// removeInactiveIdle drops inactive workers whose work is done.
func (s *server) removeInactiveIdle(t float64) {
	out := s.workers[:0]
	for _, w := range s.workers {
		if w.active || w.freeAt > t {
			out = append(out, w)
		}
	}
	s.workers = out
}
