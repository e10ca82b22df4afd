package scheduler

import (
	"fmt"
	"math"
	"time"

	"github.com/drover-io/drover/fsm"
)

// Drover is drover's own policy: queueing-based sizing against the SLO with
// a margin from the load's measured variability, capacity started one
// measured start time ahead of a short-term forecast (a floor: the queue
// can always add more), a cold pool of stopped workers sized to the recent
// peak so scale-ups take a start, not a create, and ski-rental rules for
// giving capacity back. DESIGN.md next to this file explains each rule.
type Drover struct{ cfg Config }

// Name implements Policy.
func (d *Drover) Name() string { return "drover" }

// Plan implements Policy.
func (d *Drover) Plan(in *Input, mem *Memory) Plan {
	return planEndpoints(d.Name(), d.cfg, in, mem, d.endpoint)
}

// droverCtx is one endpoint's tick: the fleet, the demand model and the
// targets derived from them.
type droverCtx struct {
	f       *fleet
	em      *EndpointMemory
	mem     *Memory
	now     time.Time
	dm      demand
	p       float64       // perf per worker of the best group
	ts, tc  time.Duration // its measured start and create times
	backlog float64
	slo     float64 // the SLO wait (target_queue_time), seconds
	// sloTarget is the knob: the share of requests to serve within slo.
	sloTarget float64
	late      float64 // measured share of busy ticks with a late request (decaying)
	R         int     // ready workers needed now
	P         int     // loaded workers (ready + stopped + in progress) for the cold pool
}

// figures are what every drover decision shows: the targets, the forecast
// (rate, window mean, trend, peak, burst head), the learned figures (perf,
// start and create times and whether they are measured or priors) and
// the knob (slo_target and the z it sets).
func (c *droverCtx) figures() []Figure {
	g := c.f.groups[0]
	return figs("R", c.R, "P", c.P,
		"rate", round(c.dm.rate), "long_rate", round(c.dm.longRate), "trend", round(c.dm.trend), "peak", round(c.dm.peak),
		"burst", round(c.dm.burst), "span_s", c.dm.span, "backlog", round(c.backlog), "ready", len(c.f.ready),
		"perf", c.p, "perf_measured", b2f(g.measured), "start_s", c.ts, "create_s", c.tc,
		"timing_samples", g.in.Timing.Samples, "slo_target", c.sloTarget, "late_share", round2(c.late), "z", round2(c.dm.z))
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func round(x float64) float64 { return math.Round(x) }

func (d *Drover) endpoint(ep *EndpointInput, em *EndpointMemory, mem *Memory, f *fleet, now time.Time) ([]Action, Note) {
	note := Note{EndpointID: ep.Endpoint.ID}
	trackActivity(ep, em, mem, now)
	c := d.context(ep, f, em, mem, now)
	acts := d.repair(c)
	if tw := testWorkers(f, c.R+c.P > 0); len(tw) > 0 {
		acts = append(acts, tw...)
	}
	acts = append(acts, d.scaleUp(c)...)
	down, held := d.scaleDown(c)
	acts = append(acts, down...)
	g := f.groups[0]
	perfFrom, timeFrom := "prior", "priors"
	if g.measured {
		perfFrom = "measured"
	}
	if n := g.in.Timing.Samples; n > 0 {
		timeFrom = fmt.Sprintf("measured, %d samples", n)
	}
	note.Text = fmt.Sprintf("drover: ready R %d, pool P %d for slo_target %g; forecast %.0f load/s, burst head %.0f; perf %.0f (%s), start %s and create %s (%s)",
		c.R, c.P, c.sloTarget, c.dm.rate, c.dm.burst, c.p, perfFrom, secs(c.ts), secs(c.tc), timeFrom)
	note.Figures = c.figures()
	if held {
		why := "has seen traffic"
		if !em.LastActive.After(mem.Started) {
			why = "is idle but new"
		}
		note.Text += fmt.Sprintf("; scale-down held: the new leader %s, with %s of load history < window %s",
			why, secs(time.Duration(len(ep.Load.History))*time.Second), secs(d.cfg.Window))
	}
	return acts, note
}

// context computes the demand model and the targets R and P.
func (d *Drover) context(ep *EndpointInput, f *fleet, em *EndpointMemory, mem *Memory, now time.Time) *droverCtx {
	g := f.groups[0]
	c := &droverCtx{f: f, em: em, mem: mem, now: now, p: g.perf, ts: g.strt, tc: g.create, backlog: ep.Load.Queued}
	e := &ep.Endpoint
	slo := e.TargetQueueTime
	if slo <= 0 {
		slo = 10
	}
	// A span is how long a burst runs on the ready workers alone: one tick
	// to see it, one start time to add stopped workers, then the SLO wait.
	span := int(math.Ceil(1 + c.ts.Seconds() + slo))
	c.slo = slo
	c.sloTarget = e.SLOTarget
	if c.sloTarget <= 0 {
		c.sloTarget = fsm.DefaultSLOTarget
	}
	c.late = d.measureLate(ep, em, slo)
	c.dm = newDemand(ep.Load.History, span, int(math.Ceil(slo)), int(d.cfg.Window/time.Second), int(d.cfg.PoolWindow/time.Second),
		zFor(c.sloTarget)+lateBoost(c.late, c.sloTarget))
	c.R = d.need(c)
	// The pool covers the reactive need at the recent peak from a cold
	// start: the peak rate plus the backlog one start time at that rate
	// leaves, drained within the SLO wait.
	// cold_workers is the user's floor, as Vast documents it: at least
	// that many loaded workers, traffic or not (0 keeps none).
	c.P = max(int(e.ColdWorkers), ceilDiv(e.MinColdLoad, c.p), ceilDiv(c.dm.peak*(1+c.ts.Seconds()/slo), c.p))
	c.P = min(c.P, f.max)
	return c
}

// need is the ready workers wanted now: the forecast's sizing, or more if
// the queue says so (the forecast is a floor, never a ceiling).
func (d *Drover) need(c *droverCtx) int {
	n := max(c.dm.workersFor(c.backlog, c.p), c.dm.burstWorkers(c.backlog, c.p))
	if c.dm.silent && c.backlog == 0 && c.f.ep.Load.InFlight == 0 {
		// Silence for a whole span: the forecast's floors (window mean,
		// burst hedge) describe traffic that has stopped. Idle ready
		// workers go; the stopped pool covers the return with starts.
		n = 0
	}
	// Reactive: the backlog when a start issued now lands (given the
	// starts and creates landing before it), drained within the SLO wait
	// while serving the current rate.
	var etas []time.Duration
	for _, r := range c.f.starting {
		etas = append(etas, c.eta(r, r.g.strt))
	}
	for _, r := range c.f.loading {
		etas = append(etas, c.eta(r, r.g.create))
	}
	bs := projectBacklog(c.backlog, c.dm.short, c.p, len(c.f.ready), etas, c.ts)
	// A projected backlog the ready workers drain within half the SLO wait
	// is queueing noise, not a surge: requests behind it are still on time
	// (the other half is the projection's margin).
	if bs > float64(len(c.f.ready))*c.p*c.slo/2 {
		n = max(n, ceilDiv(bs/c.slo+c.dm.short, c.p))
	}
	return d.floors(c, n, c.backlog)
}

// floors applies min_load, scale-up from zero on queued demand,
// inactivity_timeout and max_workers to a worker count.
func (d *Drover) floors(c *droverCtx, n int, backlog float64) int {
	e := &c.f.ep.Endpoint
	n = max(n, ceilDiv(e.MinLoad, c.p))
	if backlog > 0 || c.f.ep.Load.InFlight > 0 {
		n = max(n, 1) // scale up from zero on queued demand
	}
	if t := e.InactivityTimeout; t != nil && (*t < 0 || c.now.Sub(c.em.LastActive).Seconds() < *t) {
		n = max(n, 1)
	}
	return min(n, c.f.max)
}

// repair abandons creates and starts that are not ready in time (twice
// the measured time) and destroys broken workers. They keep counting
// against max_workers until the provider confirms them gone.
func (d *Drover) repair(c *droverCtx) []Action {
	var acts []Action
	keep := func(set []workerRef, limit func(*groupView) time.Duration, what string) []workerRef {
		var out []workerRef
		for _, r := range set {
			lim := limit(r.g)
			if age := c.now.Sub(r.since()); age > lim {
				reason := fmt.Sprintf("%s not ready after %s (deadline %s): abandon, destroy, re-plan", what, secs(age), secs(lim))
				acts = append(acts, c.f.action(Destroy, r, reason, figs("age_s", age, "deadline_s", lim)))
				c.f.broken = append(c.f.broken, r)
				continue
			}
			out = append(out, r)
		}
		return out
	}
	c.f.loading = keep(c.f.loading, func(g *groupView) time.Duration { return 2 * g.create }, "create")
	c.f.starting = keep(c.f.starting, func(g *groupView) time.Duration { return 2*g.strt + 10*time.Second }, "start")
	for _, r := range c.f.broken {
		if r.w != nil && (r.w.State == fsm.WorkerError || r.w.State == fsm.WorkerLost) {
			acts = append(acts, c.f.action(Destroy, r, "worker is "+r.w.State+": destroy", nil))
		}
	}
	return acts
}

// eta is when a worker in progress is expected ready, from now.
func (c *droverCtx) eta(r workerRef, total time.Duration) time.Duration {
	return max(0, total-c.now.Sub(r.since()))
}

func (d *Drover) scaleUp(c *droverCtx) []Action {
	f := c.f
	var etas []time.Duration
	soon := len(f.ready)
	for _, r := range f.starting {
		etas = append(etas, c.eta(r, r.g.strt))
		soon++
	}
	for _, r := range f.loading {
		e := c.eta(r, r.g.create)
		etas = append(etas, e)
		if e <= c.ts {
			soon++
		}
	}
	fg := c.figures()
	var acts []Action
	if c.R > soon {
		reason := fmt.Sprintf("ready need R %d > ready or ready within a start %d: start stopped workers", c.R, soon)
		acts = f.startActions(c.R-soon, reason, fg)
		for range acts {
			etas = append(etas, c.ts)
		}
	}
	rc, bc := d.createNeed(c, etas, len(acts))
	future := len(f.ready) + len(f.starting) + len(f.loading) + len(f.stopped)
	if rc > future {
		reason := fmt.Sprintf("need %d at the create horizon (projected backlog %.0f) > ready, in progress and stopped %d: create", rc, bc, future)
		acts = append(acts, f.createActions(rc-future, reason, fg)...)
		future = rc
	}
	loaded := future + len(f.draining)
	if c.P > loaded {
		reason := fmt.Sprintf("cold pool P %d > loaded %d: create (stopped once loaded)", c.P, loaded)
		acts = append(acts, f.createActions(c.P-loaded, reason, fg)...)
	}
	return acts
}

// createNeed is the ready need at the create horizon (a create issued now
// lands one create time from now, a commitment of a create time at full
// price): the backlog is projected to then on the window's mean rate with
// everything already on its way — starting and loading workers at their
// expected times, and stopped workers not started this tick (started
// more than a start time before the horizon if needed). The need is the
// larger of the forecast sizing and the reactive one at the horizon:
// the projected backlog drained within the SLO wait, as requests arriving
// then are behind all of it and the queue is FIFO. On an empty fleet this
// is the cold start: nothing lands before the first creates, so they are
// sized for the whole backlog they will find. It returns the need and the
// projected backlog.
func (d *Drover) createNeed(c *droverCtx, etas []time.Duration, started int) (int, float64) {
	for range len(c.f.stopped) - started {
		etas = append(etas, c.ts)
	}
	rate := c.dm.longRate
	bc := projectBacklog(c.backlog, rate, c.p, len(c.f.ready), etas, c.tc)
	span := float64(c.dm.span)
	rc := max(ceilDiv(bc+rate*span, c.p*span), ceilDiv(bc/c.slo+rate, c.p))
	return d.floors(c, rc, bc), bc
}

// measureLate updates the endpoint's decaying tick counts and returns the
// share of recent busy ticks on which the oldest queued request was past
// the SLO wait: drover's online measurement of how it is doing against
// slo_target.
func (d *Drover) measureLate(ep *EndpointInput, em *EndpointMemory, slo float64) float64 {
	decay := math.Exp(-1 / d.cfg.PoolWindow.Seconds())
	em.LateTicks *= decay
	em.BusyTicks *= decay
	h := ep.Load.History
	if (len(h) > 0 && h[len(h)-1] > 0) || ep.Load.Queued > 0 {
		em.BusyTicks++
		if ep.Load.OldestWait.Seconds() > slo {
			em.LateTicks++
		}
	}
	if em.BusyTicks < 1 {
		return 0
	}
	return em.LateTicks / em.BusyTicks
}

// lateBoost is the correction the measurement asks for: none while the
// late share is within 1 − slo_target, then one more standard deviation of
// burst hedge per multiple of the allowance missed, at most two.
func lateBoost(late, sloTarget float64) float64 {
	allow := 1 - sloTarget
	if allow <= 0 || late <= allow {
		return 0
	}
	return math.Min(late/allow-1, 2)
}

// holdDown reports whether scale-down waits for history after a leader
// change. It waits only for a reason: the new leader has less than a
// Window of load history and has seen traffic (arrivals, a queue or work
// in flight) it cannot yet put in context. An endpoint that has been idle
// for the whole time this leader has led (and at least one ski-rental
// hold) has no load the missing history could hide, so its idle workers go
// as they would on any tick.
func (d *Drover) holdDown(c *droverCtx, hold time.Duration) bool {
	since := c.now.Sub(c.mem.Started)
	if since >= d.cfg.Window || len(c.f.ep.Load.History) >= int(d.cfg.Window/time.Second) {
		return false
	}
	quiet := !c.em.LastActive.After(c.mem.Started)
	return !quiet || since < hold
}

// scaleDown drains then stops ready workers beyond R once the excess has
// lasted a start's worth of cost, and destroys stopped workers beyond the
// pool once keeping them has cost as much as re-creating one (at most a
// pool window). After a leader change it holds both while holdDown says
// so.
func (d *Drover) scaleDown(c *droverCtx) ([]Action, bool) {
	f := c.f
	fg := c.figures()
	var acts []Action
	for _, r := range f.draining {
		switch age := c.now.Sub(r.since()); {
		case !r.w.Busy():
			acts = append(acts, f.action(Stop, r, "drained: in-flight work finished, stop", fg))
		case age >= d.cfg.DrainTimeout:
			acts = append(acts, f.action(Stop, r, fmt.Sprintf("drain timed out after %s: stop", secs(age)), fg))
		}
	}
	// Ski rental: an idle ready worker costs 1/s; stopping it and needing it
	// back costs a start. Keep it until it has idled that long.
	hold := time.Duration(float64(c.ts) / (1 - d.cfg.StoppedPrice))
	if d.holdDown(c, hold) {
		c.em.DownSince, c.em.PoolOver = time.Time{}, time.Time{}
		return acts, true
	}
	excess := len(f.ready) - c.R
	if held := overFor(&c.em.DownSince, excess > 0, c.now); excess > 0 && held >= hold {
		for _, r := range f.leastUseful(f.ready)[:excess] {
			if r.w.Busy() {
				acts = append(acts, f.action(Drain, r, fmt.Sprintf("ready %d > R %d for %s: drain, then stop", len(f.ready), c.R, secs(held)), fg))
				continue
			}
			acts = append(acts, f.action(Stop, r, fmt.Sprintf("ready %d > R %d for %s: stop an idle worker", len(f.ready), c.R, secs(held)), fg))
		}
	}
	loaded := len(f.ready) + len(f.draining) + len(f.starting) + len(f.loading) + len(f.stopped)
	extra := min(loaded-c.P, len(f.stopped))
	// Ski rental again: a stopped worker costs StoppedPrice/s; re-creating
	// it costs a create time at full price. But P already covers the peak
	// of the whole pool window: a worker beyond it for that long is one the
	// load has not asked for in a pool window (a cold start's drain, a
	// burst that did not recur), so it goes after at most a pool window.
	keep := min(time.Duration(float64(c.tc)/d.cfg.StoppedPrice), d.cfg.PoolWindow)
	if held := overFor(&c.em.PoolOver, extra > 0, c.now); extra > 0 && held >= keep {
		reason := fmt.Sprintf("loaded %d > pool P %d for %s: destroy stopped beyond the pool", loaded, c.P, secs(held))
		for _, r := range f.leastUseful(f.stopped)[:extra] {
			acts = append(acts, f.action(Destroy, r, reason, fg))
		}
	}
	return acts, false
}
