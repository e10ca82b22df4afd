package sim

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/drover-io/drover/scheduler"
	"github.com/drover-io/drover/scheduler/provider"
	psim "github.com/drover-io/drover/scheduler/provider/sim"
)

// epoch is virtual time zero: the workload's first arrival. Any fixed
// instant works; this one keeps logs readable.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// historyKeep is how many seconds of per-second load the engine hands the
// policies (the longest look-back any of them uses).
const historyKeep = 3600

// run is one policy's replay.
type run struct {
	cfg     Config
	pol     scheduler.Policy
	mem     *scheduler.Memory
	clock   *psim.ManualClock
	fleet   *psim.Fleet
	srv     *server
	end     float64
	now     float64
	ep      fsm.Endpoint
	workers map[string]*srvWorker // ready instances that serve
	ids     map[string]uint64     // instance id → worker id
	ever    map[string]bool       // instances that have been ready (perf known)
	state   map[string]provider.State
	startAt map[string]float64 // when a start was issued
	drain   map[string]float64 // draining since (no new work)
	after   map[string]scheduler.Kind
	conc    []float64
	timing  timing
	keys    int
	res     Result
}

// timing measures create and start times from the provider's transitions.
type timing struct{ createSum, startSum, createN, startN float64 }

func (t timing) get() scheduler.Timing {
	var out scheduler.Timing
	if t.createN > 0 {
		out.Create = time.Duration(t.createSum / t.createN * float64(time.Second))
	}
	if t.startN > 0 {
		out.Start = time.Duration(t.startSum / t.startN * float64(time.Second))
	}
	out.Samples = int(t.createN + t.startN)
	return out
}

// runPolicy replays reqs through one policy.
func runPolicy(pol scheduler.Policy, reqs []Request, cfg Config) Result {
	end := endOf(reqs, cfg)
	clock := psim.NewManualClock(epoch)
	r := &run{
		cfg: cfg, pol: pol, clock: clock, end: end, ep: cfg.endpoint(),
		// The simulated leader has been leader since long before the
		// workload: the empty history before it is real, not missing.
		mem: scheduler.NewMemory(epoch.Add(-time.Hour)),
		fleet: psim.New(psim.Config{CreateDelay: cfg.CreateDelay, StartDelay: cfg.StartDelay,
			CreateFail: cfg.CreateFail, CreateHang: cfg.CreateHang, StartFail: cfg.StartFail,
			Price: cfg.Price, StoppedPrice: cfg.StoppedPrice, Perf: cfg.Perf, Seed: cfg.Seed}, clock),
		srv:     newServer(reqs, cfg.Perf, end),
		workers: map[string]*srvWorker{}, ids: map[string]uint64{}, ever: map[string]bool{},
		state: map[string]provider.State{}, startAt: map[string]float64{},
		drain: map[string]float64{}, after: map[string]scheduler.Kind{},
		res: Result{Name: pol.Name()},
	}
	for t := 0.0; t < end; t++ {
		r.tick(t)
		r.srv.serveUntil(math.Min(t+1, end))
	}
	r.clock.Set(at(end))
	r.res.GPUSeconds = r.fleet.Billed()
	r.res.score(r.srv, cfg.SLO.Seconds(), cfg.CreateDelay.Seconds())
	return r.res
}

// endOf is when the replay ends: the last arrival plus the SLO wait (or
// the Tail, if longer), so the last request has its chance; whatever is
// still queued then is unserved.
func endOf(reqs []Request, cfg Config) float64 {
	if len(reqs) == 0 {
		return 0
	}
	return reqs[len(reqs)-1].At + max(cfg.SLO, cfg.Tail).Seconds()
}

func at(t float64) time.Time { return epoch.Add(time.Duration(t * float64(time.Second))) }

// tick runs one scheduler tick at virtual time t.
func (r *run) tick(t float64) {
	r.now = t
	r.clock.Set(at(t))
	_, busy := r.srv.inFlight(t)
	r.conc = append(r.conc, float64(busy+r.srv.next-r.srv.head))
	insts, _ := r.fleet.List(context.Background())
	r.sync(insts)
	r.finishDeferred()
	in := r.input(insts)
	plan := r.pol.Plan(in, r.mem)
	if r.cfg.OnPlan != nil && len(plan.Actions) > 0 {
		r.cfg.OnPlan(plan)
	}
	r.execute(plan)
	r.srv.removeInactiveIdle(t)
	ready := 0
	for id, w := range r.workers {
		if w.active && r.drain[id] == 0 {
			ready++
		}
	}
	r.res.Ready = append(r.res.Ready, ready)
}

// sync follows the provider's instances: a newly ready one starts serving,
// one that left ready stops taking work; create and start times are
// measured on the way.
func (r *run) sync(insts []provider.Instance) {
	for _, in := range insts {
		prev := r.state[in.ID]
		r.state[in.ID] = in.State
		if _, ok := r.ids[in.ID]; !ok {
			r.ids[in.ID] = uint64(len(r.ids) + 1)
		}
		if in.State == provider.Ready && prev != provider.Ready {
			since := in.Since.Sub(epoch).Seconds()
			switch prev {
			case provider.Loading:
				r.timing.createSum += in.Since.Sub(in.Created).Seconds()
				r.timing.createN++
			case provider.Starting:
				r.timing.startSum += since - r.startAt[in.ID]
				r.timing.startN++
			}
			r.ever[in.ID] = true
			r.workers[in.ID] = r.srv.add(since)
		}
		if in.State != provider.Ready {
			if w, ok := r.workers[in.ID]; ok {
				w.active = false
				delete(r.workers, in.ID)
			}
		}
	}
}

// finishDeferred stops or destroys workers whose in-flight work finished.
func (r *run) finishDeferred() {
	for _, id := range sortedKeys(r.after) {
		w := r.workers[id]
		if w != nil && w.freeAt > r.now {
			continue
		}
		r.apply(r.after[id], id)
		delete(r.after, id)
	}
}

// input builds the scheduler's view of the simulated endpoint.
func (r *run) input(insts []provider.Instance) *scheduler.Input {
	g := scheduler.GroupInput{
		Group:       fsm.Group{ID: 1, EndpointID: 1, Name: "sim", Provider: "sim", TestWorkers: 3, Weight: 1},
		Timing:      r.timing.get(),
		AssumedPerf: r.cfg.Perf,
	}
	for _, in := range insts {
		if in.State == provider.Gone {
			continue
		}
		g.Workers = append(g.Workers, r.workerInput(in))
	}
	load, _ := r.srv.inFlight(r.now)
	h := r.srv.hist[:int(r.now)]
	conc := r.conc[:len(r.conc)]
	if len(h) > historyKeep {
		h = h[len(h)-historyKeep:]
	}
	if len(conc) > len(h) {
		conc = conc[len(conc)-len(h):]
	}
	l := scheduler.Load{History: h, Concurrency: conc, Queued: r.srv.queued,
		QueuedRequests: r.srv.next - r.srv.head, InFlight: load}
	if l.QueuedRequests > 0 {
		l.OldestWait = time.Duration((r.now - r.srv.reqs[r.srv.head].At) * float64(time.Second))
	}
	return &scheduler.Input{Now: at(r.now), Endpoints: []scheduler.EndpointInput{
		{Endpoint: r.ep, Groups: []scheduler.GroupInput{g}, Load: l}}}
}

func (r *run) workerInput(in provider.Instance) scheduler.WorkerInput {
	w := scheduler.WorkerInput{Since: in.Since}
	w.ID, w.GroupID, w.EndpointID = r.ids[in.ID], 1, 1
	w.InstanceID, w.IntentKey, w.Cost, w.Hardware = in.ID, in.IntentKey, in.Cost, in.Hardware
	if r.ever[in.ID] {
		w.MaxPerf = in.Perf
	}
	switch in.State {
	case provider.Loading:
		w.State, w.Since = fsm.WorkerLoading, in.Created
	case provider.Starting:
		w.State = scheduler.StateStarting
	case provider.Ready:
		w.State = fsm.WorkerReady
		if d, ok := r.drain[in.ID]; ok {
			w.State, w.Since = fsm.WorkerDraining, at(d)
		} else if _, ok := r.after[in.ID]; ok {
			w.State = fsm.WorkerDraining
		}
		if sw := r.workers[in.ID]; sw != nil && sw.freeAt > r.now {
			w.InFlight = (sw.freeAt - r.now) * r.cfg.Perf
		}
	case provider.Stopped:
		w.State = fsm.WorkerStopped
	default:
		w.State, w.ErrorMsg = fsm.WorkerError, in.Error
	}
	return w
}

// execute carries out a plan against the provider.
func (r *run) execute(p scheduler.Plan) {
	byID := map[uint64]string{}
	for inst, id := range r.ids {
		byID[id] = inst
	}
	for _, a := range p.Actions {
		switch a.Kind {
		case scheduler.Create:
			for range a.Count {
				r.keys++
				key := fmt.Sprintf("%s-%d", r.pol.Name(), r.keys)
				if _, err := r.fleet.Create(context.Background(), key, provider.GroupSpec{EndpointID: 1, GroupID: 1}); err == nil {
					r.res.Actions.Create++
				}
			}
		case scheduler.Drain:
			if inst, ok := byID[a.WorkerID]; ok {
				r.drain[inst] = r.now
				if w := r.workers[inst]; w != nil {
					w.active = false
				}
			}
		default:
			if inst, ok := byID[a.WorkerID]; ok {
				r.request(a.Kind, inst)
			}
		}
	}
}

// request starts, stops or destroys an instance; a stop or destroy of a
// busy worker waits for its in-flight request (it takes no new work).
func (r *run) request(k scheduler.Kind, inst string) {
	if w := r.workers[inst]; w != nil && w.freeAt > r.now && k != scheduler.Start {
		w.active = false
		r.after[inst] = k
		return
	}
	r.apply(k, inst)
}

func (r *run) apply(k scheduler.Kind, inst string) {
	ctx := context.Background()
	var err error
	switch k {
	case scheduler.Start:
		if err = r.fleet.Start(ctx, inst); err == nil {
			r.startAt[inst] = r.now
			r.res.Actions.Start++
		}
	case scheduler.Stop:
		if err = r.fleet.Stop(ctx, inst); err == nil {
			r.res.Actions.Stop++
		}
	case scheduler.Destroy:
		if err = r.fleet.Destroy(ctx, inst); err == nil {
			r.res.Actions.Destroy++
		}
	}
	if err == nil && k != scheduler.Start {
		delete(r.drain, inst)
		if w := r.workers[inst]; w != nil {
			w.active = false
			delete(r.workers, inst)
		}
	}
}
