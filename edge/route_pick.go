package edge

import (
	"math"
	"math/rand/v2"
)

// unknownPerfScale ranks workers whose perf is unknown by their load alone,
// small enough that they are never skipped for max_queue_time.
const unknownPerfScale = 1e-12

// pick chooses a worker of the endpoint: a group by weight, then a worker
// of it by power-of-two choices on estimated queue time, skipping workers
// past max_queue_time (then trying the other groups). freshSince, when not
// zero, also skips workers with no report arriving at or after it (unix
// nanos): a node that lost its leader cannot learn of removals, so it
// routes only to workers it sees alive (see Server.freshSince). Nil: no
// worker can take the request. No lock, no allocation.
func (er *endpointRoute) pick(o Overlay, freshSince int64) *workerRoute {
	n := len(er.groups)
	if n == 0 {
		return nil
	}
	first := er.pickGroup(rand.Float64() * er.total)
	limit := er.ep.MaxQueueTime
	if w := er.groups[first].pickWorker(o, limit, freshSince); w != nil {
		return w
	}
	for i := 1; i < n; i++ {
		if w := er.groups[(first+i)%n].best(o, limit, 0, freshSince); w != nil {
			return w
		}
	}
	return nil
}

// pickGroup returns the index of the group whose weight range holds r.
func (er *endpointRoute) pickGroup(r float64) int {
	for i := range er.groups {
		if r < er.groups[i].upper {
			return i
		}
	}
	return len(er.groups) - 1
}

// pickWorker compares two distinct random workers and returns the one with
// the shorter estimated queue time that is within limit; when neither is,
// the best of the whole group (nil when none is within limit).
func (g *groupRoute) pickWorker(o Overlay, limit float64, freshSince int64) *workerRoute {
	n := len(g.workers)
	if n == 1 || freshSince != 0 {
		return g.best(o, limit, rand.IntN(n), freshSince)
	}
	i := rand.IntN(n)
	j := rand.IntN(n - 1)
	if j >= i {
		j++
	}
	a, b := g.workers[i], g.workers[j]
	qa, okA := a.queueTime(o)
	qb, okB := b.queueTime(o)
	okA = okA || qa <= limit
	okB = okB || qb <= limit
	switch {
	case okA && (!okB || qa <= qb):
		return a
	case okB:
		return b
	}
	return g.best(o, limit, rand.IntN(n), 0)
}

// best scans the group from start and returns the worker with the shortest
// estimated queue time within limit, or nil.
func (g *groupRoute) best(o Overlay, limit float64, start int, freshSince int64) *workerRoute {
	var found *workerRoute
	min := math.Inf(1)
	n := len(g.workers)
	for k := range n {
		w := g.workers[(start+k)%n]
		if freshSince != 0 && !w.reportedSince(o, freshSince) {
			continue
		}
		q, unjudged := w.queueTime(o)
		if (unjudged || q <= limit) && q < min {
			found, min = w, q
		}
	}
	return found
}

// reportedSince reports whether a report of the worker arrived at or after
// since (unix nanos), according to the overlay.
func (w *workerRoute) reportedSince(o Overlay, since int64) bool {
	if o == nil {
		return false
	}
	wl := o.Load(w.w.ID)
	return wl != nil && wl.LastReport >= since
}

// queueTime estimates how long the worker needs for the work it has (see
// backlog); unjudged: no report or no perf is known, so max_queue_time
// cannot be applied.
func (w *workerRoute) queueTime(o Overlay) (q float64, unjudged bool) {
	load, perf, judged := w.backlog(o)
	if !(perf > 0) {
		return load * unknownPerfScale, true
	}
	return load / perf, !judged
}

// backlog is the worker's load (reported cur_load + load this node routed
// since that report) and perf (the reported max_perf, else the registered
// one); judged: a report and a perf are known.
func (w *workerRoute) backlog(o Overlay) (load, perf float64, judged bool) {
	st := w.st
	perf = w.w.MaxPerf
	wl := o.Load(w.w.ID)
	if wl != nil {
		if last := wl.LastReport; st.lastReport.Load() != last {
			// A newer report covers what was routed before it.
			st.lastReport.Store(last)
			st.routed.Store(0)
		}
		load = wl.CurLoad
		if wl.MaxPerf > 0 {
			perf = wl.MaxPerf
		}
	}
	load += math.Float64frombits(st.routed.Load())
	return load, perf, wl != nil && perf > 0
}

// roomExceeds reports whether the load the endpoint's ready workers can
// still take within max_queue_time (the sum over them of max_queue_time ×
// perf − backlog, none below zero; unbounded when one of them cannot be
// judged) is more than load. It stops summing as soon as it is. freshSince
// skips workers as pick does. No lock, no allocation.
func (er *endpointRoute) roomExceeds(o Overlay, freshSince int64, load float64) bool {
	limit := er.ep.MaxQueueTime
	var room float64
	for gi := range er.groups {
		for _, w := range er.groups[gi].workers {
			if freshSince != 0 && !w.reportedSince(o, freshSince) {
				continue
			}
			backlog, perf, judged := w.backlog(o)
			if !judged {
				return true
			}
			if r := limit*perf - backlog; r > 0 {
				if room += r; room > load {
					return true
				}
			}
		}
	}
	return false
}
