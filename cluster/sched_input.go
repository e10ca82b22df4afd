package cluster

import (
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/drover-io/drover/scheduler"
)

// historyKeep is how many load samples per endpoint the loop keeps (the
// longest look-back of any policy, in ticks of one second).
const historyKeep = 3600

// loadHist is an endpoint's per-tick arrival load and concurrency.
type loadHist struct {
	load, conc []float64
}

func (h *loadHist) add(load, conc float64) {
	h.load = appendCapped(h.load, load)
	h.conc = appendCapped(h.conc, conc)
}

func appendCapped(s []float64, x float64) []float64 {
	if len(s) >= historyKeep {
		copy(s, s[len(s)-historyKeep+1:])
		s = s[:historyKeep-1]
	}
	return append(s, x)
}

// observe records one tick of load per endpoint (the sum of its workers'
// new-load rates from the overlay) and each worker's state changes, which
// measure the groups' create and start times.
func (l *schedLoop) observe(v *fsm.View, now time.Time) {
	load, conc := map[uint64]float64{}, map[uint64]float64{}
	for _, ld := range l.host.loads() {
		w := v.Workers[ld.WorkerID]
		if w == nil || (w.State != fsm.WorkerReady && w.State != fsm.WorkerDraining && w.State != fsm.WorkerLoading) {
			continue
		}
		load[w.EndpointID] += ld.NewLoadRate
		conc[w.EndpointID] += float64(ld.NumRequestsWorking)
	}
	for id := range v.Endpoints {
		h := l.hist[id]
		if h == nil {
			h = &loadHist{}
			l.hist[id] = h
		}
		h.add(load[id], conc[id]+float64(len(l.host.queue(id))))
	}
	for id := range l.hist {
		if v.Endpoints[id] == nil {
			delete(l.hist, id)
		}
	}
	l.observeWorkers(v, now)
}

// observeWorkers tracks when each worker entered its state and measures
// create (registered → ready) and start (start issued → ready) times.
func (l *schedLoop) observeWorkers(v *fsm.View, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, w := range v.Workers {
		prev, ok := l.seen[id]
		if ok && prev.state == w.State {
			continue
		}
		l.seen[id] = seenState{state: w.State, since: now}
		if !ok || w.State != fsm.WorkerReady {
			continue
		}
		acc := l.timing[w.GroupID]
		if acc == nil {
			acc = &timingAcc{}
			l.timing[w.GroupID] = acc
		}
		if t, started := l.startedAt[id]; started {
			acc.startSum += now.Sub(t).Seconds()
			acc.startN++
			delete(l.startedAt, id)
		} else if (prev.state == fsm.WorkerCreating || prev.state == fsm.WorkerLoading) && w.IntentKey != "" {
			acc.createSum += now.Sub(unixSeconds(w.RegisteredAt)).Seconds()
			acc.createN++
		}
	}
	for id := range l.seen {
		if v.Workers[id] == nil {
			delete(l.seen, id)
			delete(l.startedAt, id)
		}
	}
}

func unixSeconds(s float64) time.Time {
	return time.Unix(0, int64(s*float64(time.Second)))
}

// input builds the policy's input from the view and the overlay. Groups
// with no provider on this node are shown as static (never scaled); an
// endpoint's max_workers is lowered by the live instances the provider
// still holds with no registered worker (orphans being destroyed), so
// they count until the provider confirms them gone.
func (l *schedLoop) input(v *fsm.View, now time.Time) *scheduler.Input {
	in := &scheduler.Input{Now: now}
	pending := pendingCreates(v)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ep := range v.SortedEndpoints() {
		ei := scheduler.EndpointInput{Endpoint: *ep}
		ei.Endpoint.MaxWorkers = max(0, ep.MaxWorkers-int64(l.orphanCount(ep.ID)))
		for _, g := range v.GroupsOf(ep.ID) {
			gi := scheduler.GroupInput{Group: *g, Timing: l.timing[g.ID].get(), Pending: pending[g.ID]}
			if _, ok := l.cfg.Providers[g.Provider]; !ok {
				gi.Group.Provider = "static"
			}
			for _, w := range v.WorkersOf(g.ID) {
				gi.Workers = append(gi.Workers, l.workerInput(w, now))
			}
			ei.Groups = append(ei.Groups, gi)
		}
		ei.Load = l.load(v, ep.ID, now)
		in.Endpoints = append(in.Endpoints, ei)
	}
	return in
}

// pendingCreates lists, per group, the pending create intents no worker
// has registered for (a create whose registration has not committed).
func pendingCreates(v *fsm.View) map[uint64][]fsm.Intent {
	byKey := map[string]bool{}
	for _, w := range v.Workers {
		if w.IntentKey != "" {
			byKey[w.IntentKey] = true
		}
	}
	out := map[uint64][]fsm.Intent{}
	for _, in := range v.Intents {
		if in.Kind == fsm.IntentCreate && in.State == fsm.IntentPending && !byKey[in.Key] {
			out[in.GroupID] = append(out[in.GroupID], *in)
		}
	}
	return out
}

// workerInput is one worker as the policy sees it. A worker whose start
// was issued and that has not reported ready yet is "starting" since the
// start; a created one is loading since its registration.
func (l *schedLoop) workerInput(w *fsm.Worker, now time.Time) scheduler.WorkerInput {
	wi := scheduler.WorkerInput{Worker: *w, Since: now}
	if s, ok := l.seen[w.ID]; ok {
		wi.Since = s.since
	}
	if t, ok := l.startedAt[w.ID]; ok && (w.State == fsm.WorkerCreating || w.State == fsm.WorkerLoading || w.State == fsm.WorkerStopped) {
		wi.State, wi.Since = scheduler.StateStarting, t
	} else if w.State == fsm.WorkerCreating && w.RegisteredAt > 0 {
		wi.Since = unixSeconds(w.RegisteredAt)
	}
	if ld := l.loadOf(w.ID); ld != nil {
		wi.InFlight = ld.CurLoad
	}
	return wi
}

// loadOf is a worker's merged load, nil if unknown.
func (l *schedLoop) loadOf(id uint64) *fsm.WorkerLoad {
	if n, ok := l.host.(nodeHost); ok {
		return n.n.ovl.Load(id)
	}
	for _, ld := range l.host.loads() {
		if ld.WorkerID == id {
			return &ld
		}
	}
	return nil
}

// load is an endpoint's demand: its load history, the requests queued at
// the edge (queued demand scales an endpoint up from zero) and the load in
// service.
func (l *schedLoop) load(v *fsm.View, epID uint64, now time.Time) scheduler.Load {
	var out scheduler.Load
	if h := l.hist[epID]; h != nil {
		out.History, out.Concurrency = h.load, h.conc
	}
	q := l.host.queue(epID)
	out.QueuedRequests = len(q)
	for _, e := range q {
		out.Queued += e.Cost
		if wait := now.Sub(time.Unix(0, e.Enqueued)); wait > out.OldestWait {
			out.OldestWait = wait
		}
	}
	for _, g := range v.GroupsOf(epID) {
		for _, w := range v.WorkersOf(g.ID) {
			if ld := l.loadOf(w.ID); ld != nil {
				out.InFlight += ld.CurLoad
			}
		}
	}
	return out
}
