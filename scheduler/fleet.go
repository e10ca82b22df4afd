package scheduler

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/drover-io/drover/fsm"
)

// fleet is one endpoint's workers sorted by lifecycle state, the common
// ground of every policy.
type fleet struct {
	ep       *EndpointInput
	now      time.Time
	groups   []*groupView // best perf per cost first
	ready    []workerRef  // serving (not draining)
	draining []workerRef
	starting []workerRef
	loading  []workerRef // creating or loading, and pending creates
	stopped  []workerRef
	broken   []workerRef // error or lost: live until destroyed
	max      int         // endpoint max_workers
}

// groupView is a group with the figures policies rank it by.
type groupView struct {
	in           *GroupInput
	perf, cost   float64
	create, strt time.Duration
	measured     bool
	live         int // workers of the group that count against caps
}

// workerRef is a worker (or a pending create) and its group.
type workerRef struct {
	w      *WorkerInput // nil for a pending create
	intent *fsm.Intent  // the pending create when w is nil
	g      *groupView
}

func (r workerRef) id() uint64 {
	if r.w == nil {
		return 0
	}
	return r.w.ID
}

// since is when the worker entered its state (or the intent was created).
func (r workerRef) since() time.Time {
	if r.w == nil {
		return time.Unix(0, 0).Add(time.Duration(r.intent.CreatedAt * float64(time.Second)))
	}
	return r.w.Since
}

func (r workerRef) inFlight() float64 {
	if r.w == nil {
		return 0
	}
	return r.w.InFlight
}

// newFleet sorts an endpoint's workers. Static groups (provider "static")
// are never scaled and are left out.
func newFleet(ep *EndpointInput, now time.Time, cfg Config) *fleet {
	f := &fleet{ep: ep, now: now, max: int(ep.Endpoint.MaxWorkers)}
	for i := range ep.Groups {
		gi := &ep.Groups[i]
		if gi.Group.Provider == "static" {
			continue
		}
		g := &groupView{in: gi, perf: gi.perf(cfg.DefaultPerf), cost: gi.cost(),
			create: cfg.CreateTime, strt: cfg.StartTime, measured: gi.measured()}
		if gi.Timing.Create > 0 {
			g.create = gi.Timing.Create
		}
		if gi.Timing.Start > 0 {
			g.strt = gi.Timing.Start
		}
		f.groups = append(f.groups, g)
		f.addWorkers(g)
	}
	slices.SortStableFunc(f.groups, func(a, b *groupView) int {
		return cmp.Compare(b.perf/b.cost, a.perf/a.cost)
	})
	return f
}

func (f *fleet) addWorkers(g *groupView) {
	for i := range g.in.Workers {
		w := &g.in.Workers[i]
		ref := workerRef{w: w, g: g}
		switch w.State {
		case fsm.WorkerReady:
			f.ready = append(f.ready, ref)
		case fsm.WorkerDraining:
			f.draining = append(f.draining, ref)
		case StateStarting:
			f.starting = append(f.starting, ref)
		case fsm.WorkerCreating, fsm.WorkerLoading:
			f.loading = append(f.loading, ref)
		case fsm.WorkerStopped:
			f.stopped = append(f.stopped, ref)
		case fsm.WorkerError, fsm.WorkerLost:
			f.broken = append(f.broken, ref)
		default:
			continue
		}
		g.live++
	}
	for i := range g.in.Pending {
		f.loading = append(f.loading, workerRef{intent: &g.in.Pending[i], g: g})
		g.live++
	}
}

// total is every worker that counts against max_workers.
func (f *fleet) total() int {
	return len(f.ready) + len(f.draining) + len(f.starting) + len(f.loading) + len(f.stopped) + len(f.broken)
}

// perf is the mean perf per worker to size counts with: the best group's.
func (f *fleet) perf() float64 {
	if len(f.groups) == 0 {
		return 0
	}
	return f.groups[0].perf
}

// room is how many workers may still be added under max_workers.
func (f *fleet) room() int { return max(0, f.max-f.total()) }

// startActions starts up to n stopped workers, best group first, and
// returns the actions and how many it started.
func (f *fleet) startActions(n int, reason string, fg []Figure) []Action {
	if n <= 0 {
		return nil
	}
	byRank := slices.Clone(f.stopped)
	slices.SortStableFunc(byRank, func(a, b workerRef) int { return f.rank(a.g) - f.rank(b.g) })
	var out []Action
	for _, r := range byRank[:min(n, len(byRank))] {
		out = append(out, f.action(Start, r, reason, fg))
	}
	return out
}

// createActions creates up to n workers in the best groups with room.
func (f *fleet) createActions(n int, reason string, fg []Figure) []Action {
	n = min(n, f.room())
	var out []Action
	for _, g := range f.groups {
		if n <= 0 {
			break
		}
		k := n
		if gm := g.in.maxWorkers(); gm >= 0 {
			k = min(k, max(0, int(gm)-g.live))
		}
		if k <= 0 {
			continue
		}
		g.live += k
		n -= k
		out = append(out, Action{Kind: Create, EndpointID: f.ep.Endpoint.ID, GroupID: g.in.Group.ID,
			Count: k, Reason: reason, Figures: fg})
	}
	return out
}

// rank is a group's position, 0 = best perf per cost.
func (f *fleet) rank(g *groupView) int { return slices.Index(f.groups, g) }

// leastUseful orders refs for removal: worst group first, then least busy,
// then the newest (it has served least), then by id.
func (f *fleet) leastUseful(refs []workerRef) []workerRef {
	out := slices.Clone(refs)
	slices.SortStableFunc(out, func(a, b workerRef) int {
		return cmp.Or(f.rank(b.g)-f.rank(a.g), cmp.Compare(a.inFlight(), b.inFlight()),
			b.since().Compare(a.since()), cmp.Compare(a.id(), b.id()))
	})
	return out
}

func (f *fleet) action(k Kind, r workerRef, reason string, fg []Figure) Action {
	a := Action{Kind: k, EndpointID: f.ep.Endpoint.ID, GroupID: r.g.in.Group.ID, Reason: reason, Figures: fg}
	if r.w != nil {
		a.WorkerID = r.w.ID
	} else {
		a.IntentKey = r.intent.Key
	}
	return a
}

// stopAll stops every ready, draining, starting and loading worker (an
// endpoint in state "stopped").
func (f *fleet) stopAll() []Action {
	var out []Action
	for _, set := range [][]workerRef{f.ready, f.draining, f.starting, f.loading} {
		for _, r := range set {
			if r.w == nil {
				continue // a pending create: its worker is stopped once it registers
			}
			out = append(out, f.action(Stop, r, "endpoint is stopped: every worker stops", nil))
		}
	}
	return out
}

// meanRate is the mean of the last w seconds of h (load/s); with less
// history than w, the mean of what there is.
func meanRate(h []float64, w int) float64 {
	n := min(w, len(h))
	if n <= 0 {
		return 0
	}
	s := 0.0
	for _, x := range h[len(h)-n:] {
		s += x
	}
	return s / float64(n)
}

// ceilDiv is ceil(a/b) for positive b, 0 for a <= 0.
func ceilDiv(a, b float64) int {
	if a <= 0 || b <= 0 {
		return 0
	}
	q := a / b
	n := int(q)
	if float64(n) < q-1e-9 {
		n++
	}
	return n
}

// secs renders a duration in seconds for reasons.
func secs(d time.Duration) string { return fmt.Sprintf("%gs", d.Seconds()) }
