package scheduler

import (
	"time"

	"github.com/drover-io/drover/fsm"
)

// StateStarting is the worker state the caller reports for a stopped worker
// whose start is in progress (a pending start intent). fsm has no such state:
// the registry keeps "stopped" until the worker reports again.
const StateStarting = "starting"

// Input is everything a policy decides from. The caller builds it from
// fsm.View and the load overlay at time Now.
type Input struct {
	Now       time.Time
	Endpoints []EndpointInput // in a stable order (by endpoint ID)
}

// EndpointInput is one endpoint with its groups and its load.
type EndpointInput struct {
	Endpoint fsm.Endpoint
	Groups   []GroupInput // by group ID
	Load     Load
}

// GroupInput is one worker group with its workers.
type GroupInput struct {
	Group   fsm.Group
	Workers []WorkerInput // by worker ID
	// Timing is the group's measured create and start times.
	Timing Timing
	// AssumedPerf is the perf (load/s per worker) to plan with before any
	// worker of the group has reported one, e.g. from the group's hardware
	// description. Zero: Config.DefaultPerf.
	AssumedPerf float64
	// Pending are the group's pending create intents that no worker has
	// registered for yet. They count as loading capacity from CreatedAt.
	Pending []fsm.Intent
}

// Timing is a group's measured provisioning times. Zero fields: the policy's
// Config priors are used.
type Timing struct {
	Create  time.Duration // mean create → ready
	Start   time.Duration // mean stopped → ready
	Samples int           // how many measurements the means are made of
}

// WorkerInput is one worker with its lifecycle state and current work.
type WorkerInput struct {
	fsm.Worker
	// Since is when the worker entered State (for loading: when its create
	// was issued; for starting: when its start was issued).
	Since time.Time
	// InFlight is the load (units) the worker has in progress or assigned.
	InFlight float64
}

// Busy reports whether the worker has work in flight.
func (w WorkerInput) Busy() bool { return w.InFlight > 0 }

// Load is an endpoint's demand as the overlay and the edge queue see it.
type Load struct {
	// History is the load (units) that arrived in each second, oldest first;
	// the last element is the second that ended at Now. It may be shorter
	// than any window (a new leader); policies use what there is.
	History []float64
	// Concurrency is the number of requests in service or queued, sampled
	// once per second, aligned with History (kpa's signal). May be nil.
	Concurrency []float64
	// Queued is the load waiting with no worker to take it (held /route/
	// requests), QueuedRequests how many requests that is.
	Queued         float64
	QueuedRequests int
	// OldestWait is how long the oldest queued request has waited.
	OldestWait time.Duration
	// InFlight is the load being served by workers right now.
	InFlight float64
}

// groupPerf is the measured perf of a group: the mean MaxPerf of its
// workers that reported one, else the group's assumed perf, else def.
func (g *GroupInput) perf(def float64) float64 {
	sum, n := 0.0, 0
	for _, w := range g.Workers {
		if w.MaxPerf > 0 {
			sum += w.MaxPerf
			n++
		}
	}
	switch {
	case n > 0:
		return sum / float64(n)
	case g.AssumedPerf > 0:
		return g.AssumedPerf
	}
	return def
}

// measured reports whether any worker of the group has reported a perf.
func (g *GroupInput) measured() bool {
	for _, w := range g.Workers {
		if w.MaxPerf > 0 {
			return true
		}
	}
	return false
}

// cost is the group's price per worker-second while loaded: the mean Cost of
// its workers that have one, else 1.
func (g *GroupInput) cost() float64 {
	sum, n := 0.0, 0
	for _, w := range g.Workers {
		if w.Cost > 0 {
			sum += w.Cost
			n++
		}
	}
	if n == 0 {
		return 1
	}
	return sum / float64(n)
}

// maxWorkers is the group's own cap (nil: none, -1).
func (g *GroupInput) maxWorkers() int64 {
	if g.Group.MaxWorkers != nil {
		return *g.Group.MaxWorkers
	}
	return -1
}
