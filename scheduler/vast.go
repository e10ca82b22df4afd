package scheduler

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Vast is Vast.ai's autoscaler as docs/scaling.md pins it, in load
// units per second:
//
//   - anticipated load L = the largest mean arrival rate over the last 10 s,
//     60 s and 300 s, plus queued load / target_queue_time;
//   - active workers wanted A = ceil(max(L, min_load) / target_util / perf);
//   - loaded workers wanted C = max(ceil(A × cold_mult), cold_workers,
//     ceil(min_cold_load / perf)); both capped by max_workers;
//   - every tick: if ready + starting + loading < A, start stopped workers,
//     then create the rest; if loaded + starting + loading < C, create for
//     the cold pool and stop each as soon as it has loaded; if ready > A for
//     60 s in a row, stop the excess (least busy first); if loaded > C for
//     300 s in a row, destroy the excess stopped workers;
//   - inactivity_timeout: unset lets A follow the load to zero; >= 0 keeps
//     one active worker until the endpoint has been idle that long; < 0
//     never goes to zero;
//   - a group with no measured perf recruits test_workers first;
//   - suspended endpoints are not scaled, stopped ones stop every worker.
//
// perf is the best group's measured mean perf; creates go to the best perf
// per cost group, removals take the worst first.
type Vast struct{ cfg Config }

// Vast's hysteresis, pinned by scaling.md.
const (
	vastStopAfter    = 60 * time.Second
	vastDestroyAfter = 300 * time.Second
)

// Name implements Policy.
func (v *Vast) Name() string { return "vast" }

// Plan implements Policy.
func (v *Vast) Plan(in *Input, mem *Memory) Plan {
	return planEndpoints(v.Name(), v.cfg, in, mem, v.endpoint)
}

// vastFigures are the numbers one endpoint's decisions are based on.
type vastFigures struct {
	L, perf  float64
	A, C     int
	ready    int
	inactive bool
}

func (f vastFigures) list() []Figure {
	return figs("L", f.L, "perf", f.perf, "A", f.A, "C", f.C, "ready", f.ready)
}

func (v *Vast) endpoint(ep *EndpointInput, em *EndpointMemory, mem *Memory, f *fleet, now time.Time) ([]Action, Note) {
	note := Note{EndpointID: ep.Endpoint.ID}
	trackActivity(ep, em, mem, now)
	vf := v.wanted(ep, em, f, mem, now)
	note.Text, note.Figures = "vast targets", vf.list()
	if acts := testWorkers(f, vf.A+vf.C > 0); len(acts) > 0 {
		return acts, note
	}
	down := v.scaleDown(f, vf, em, now)
	acts := append(v.scaleUp(f, vf, em), down...)
	em.Loading = em.Loading[:0]
	for _, r := range f.loading {
		if r.w != nil {
			em.Loading = append(em.Loading, r.w.ID)
		}
	}
	em.ColdPending = min(em.ColdPending, len(f.loading)+createdCount(acts))
	return acts, note
}

// wanted computes L, A and C.
func (v *Vast) wanted(ep *EndpointInput, em *EndpointMemory, f *fleet, mem *Memory, now time.Time) vastFigures {
	e := &ep.Endpoint
	h := ep.Load.History
	L := max(meanRate(h, 10), meanRate(h, 60), meanRate(h, 300))
	if e.TargetQueueTime > 0 {
		L += ep.Load.Queued / e.TargetQueueTime
	} else {
		L += ep.Load.Queued
	}
	perf := f.perf()
	util := e.TargetUtil
	if util <= 0 {
		util = 1
	}
	A := ceilDiv(math.Max(L, e.MinLoad)/util, perf)
	vf := vastFigures{L: L, perf: perf, ready: len(f.ready)}
	if t := e.InactivityTimeout; t != nil {
		idle := now.Sub(em.LastActive)
		if *t < 0 || idle.Seconds() < *t {
			A = max(A, 1)
		} else {
			vf.inactive = true
		}
	}
	A = min(A, f.max)
	C := max(int(math.Ceil(float64(A)*e.ColdMult-1e-9)), int(e.ColdWorkers), ceilDiv(e.MinColdLoad, perf))
	vf.A, vf.C = A, min(C, f.max)
	return vf
}

func (v *Vast) scaleUp(f *fleet, vf vastFigures, em *EndpointMemory) []Action {
	var acts []Action
	active := len(f.ready) + len(f.starting) + len(f.loading)
	if active < vf.A {
		need := vf.A - active
		reason := fmt.Sprintf("ready+starting+loading %d < A %d", active, vf.A)
		starts := f.startActions(need, reason+": start stopped first", vf.list())
		acts = append(acts, starts...)
		acts = append(acts, f.createActions(need-len(starts), reason+": create the rest", vf.list())...)
	}
	created := 0
	for _, a := range acts {
		created += a.Count
	}
	have := len(f.ready) + len(f.stopped) + len(f.starting) + len(f.loading) + created
	if have < vf.C {
		reason := fmt.Sprintf("loaded+starting+loading %d < C %d: create for the cold pool", have, vf.C)
		cold := f.createActions(vf.C-have, reason, vf.list())
		for _, a := range cold {
			em.ColdPending += a.Count
		}
		acts = append(acts, cold...)
	}
	return acts
}

func (v *Vast) scaleDown(f *fleet, vf vastFigures, em *EndpointMemory, now time.Time) []Action {
	var acts []Action
	ready := f.leastUseful(f.ready)
	excess := len(ready) - vf.A
	// Cold-pool fill: a worker created for the cold pool that has loaded
	// since the last tick is stopped at once, unless A needs it.
	for _, r := range ready {
		if em.ColdPending <= 0 || !slices.Contains(em.Loading, r.w.ID) {
			continue
		}
		em.ColdPending--
		if excess > 0 && !r.w.Busy() {
			acts = append(acts, f.action(Stop, r, "loaded for the cold pool: stop until needed", vf.list()))
			excess--
		}
	}
	if held := overFor(&em.ReadyOver, excess > 0, now); excess > 0 && held >= vastStopAfter {
		reason := fmt.Sprintf("ready > A for %s: stop the excess, least busy first", secs(held))
		for _, r := range ready {
			if excess <= 0 {
				break
			}
			if !stopping(acts, r) {
				acts = append(acts, f.action(Stop, r, reason, vf.list()))
				excess--
			}
		}
		em.ReadyOver = time.Time{}
	}
	loaded := len(f.ready) + len(f.stopped)
	extra := min(loaded-vf.C, len(f.stopped))
	if held := overFor(&em.LoadedOver, loaded > vf.C, now); extra > 0 && held >= vastDestroyAfter {
		reason := fmt.Sprintf("loaded %d > C %d for %s: destroy excess stopped workers", loaded, vf.C, secs(held))
		for _, r := range f.leastUseful(f.stopped)[:extra] {
			acts = append(acts, f.action(Destroy, r, reason, vf.list()))
		}
		em.LoadedOver = time.Time{}
	}
	return acts
}

// createdCount is how many workers acts create.
func createdCount(acts []Action) int {
	n := 0
	for _, a := range acts {
		if a.Kind == Create {
			n += a.Count
		}
	}
	return n
}

// stopping reports whether acts already stop r.
func stopping(acts []Action, r workerRef) bool {
	for _, a := range acts {
		if a.Kind == Stop && a.WorkerID == r.id() {
			return true
		}
	}
	return false
}

// trackActivity records the last tick the endpoint had demand.
func trackActivity(ep *EndpointInput, em *EndpointMemory, mem *Memory, now time.Time) {
	h := ep.Load.History
	if (len(h) > 0 && h[len(h)-1] > 0) || ep.Load.Queued > 0 || ep.Load.InFlight > 0 {
		em.LastActive = now
	} else if em.LastActive.IsZero() {
		em.LastActive = mem.Started
	}
}

// testWorkers recruits test_workers in every group that has no measured
// perf yet (and so cannot be compared), when the endpoint wants workers.
func testWorkers(f *fleet, want bool) []Action {
	if !want || len(f.groups) < 2 {
		return nil
	}
	var acts []Action
	for _, g := range f.groups {
		n := int(g.in.Group.TestWorkers) - g.live
		if g.measured || n <= 0 {
			continue
		}
		n = min(n, f.room())
		if n <= 0 {
			break
		}
		g.live += n
		acts = append(acts, Action{Kind: Create, EndpointID: f.ep.Endpoint.ID, GroupID: g.in.Group.ID, Count: n,
			Reason:  fmt.Sprintf("group has no measured perf: recruit test_workers %d", g.in.Group.TestWorkers),
			Figures: figs("test_workers", g.in.Group.TestWorkers, "live", g.live-n)})
	}
	return acts
}
