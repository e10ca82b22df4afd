package scheduler

import (
	"fmt"
	"math"
	"time"
)

// KPA is Knative's pod autoscaler, for comparison. Its signal is
// concurrency: requests in service or queued, sampled each second (a worker
// serves one request at a time, so the target is 1 per worker, scaled by the
// endpoint's target_util). desired = ceil(mean concurrency / target_util)
// over a 60 s stable window; over a 6 s panic window too, and when the
// panic window wants >= 2× the ready workers it panics for a stable window,
// during which it never scales down. Rate limits per tick: up at most
// ×1000 the ready workers, down at most to half. A new Memory starts in
// panic, so a restarted autoscaler never scales down on missing history.
// It starts stopped workers before creating, and removes pods as Knative
// does: by destroying them (idle first).
type KPA struct{ cfg Config }

// Knative's defaults.
const (
	kpaStable         = 60 * time.Second
	kpaPanic          = 6 * time.Second
	kpaPanicThreshold = 2.0
	kpaMaxUp          = 1000.0
	kpaMaxDown        = 2.0
)

// Name implements Policy.
func (k *KPA) Name() string { return "kpa" }

// Plan implements Policy.
func (k *KPA) Plan(in *Input, mem *Memory) Plan {
	return planEndpoints(k.Name(), k.cfg, in, mem, k.endpoint)
}

func (k *KPA) endpoint(ep *EndpointInput, em *EndpointMemory, mem *Memory, f *fleet, now time.Time) ([]Action, Note) {
	note := Note{EndpointID: ep.Endpoint.ID}
	desired, fg, panicking := k.desired(ep, em, f, mem, now)
	note.Text, note.Figures = "kpa desired", fg
	current := len(f.ready) + len(f.starting) + len(f.loading)
	switch {
	case desired > current:
		reason := fmt.Sprintf("desired %d > current %d", desired, current)
		if panicking {
			reason += " (panic)"
		}
		starts := f.startActions(desired-current, reason+": start stopped first", fg)
		return append(starts, f.createActions(desired-current-len(starts), reason+": create", fg)...), note
	case desired < current:
		reason := fmt.Sprintf("desired %d < current %d: remove idle pods", desired, current)
		var acts []Action
		for _, r := range f.leastUseful(append(append([]workerRef{}, f.loading...), f.ready...))[:current-desired] {
			acts = append(acts, f.action(Destroy, r, reason, fg))
		}
		return acts, note
	}
	return nil, note
}

// desired computes the KPA's wanted pod count and runs its panic mode.
func (k *KPA) desired(ep *EndpointInput, em *EndpointMemory, f *fleet, mem *Memory, now time.Time) (int, []Figure, bool) {
	conc := ep.Load.Concurrency
	if conc == nil { // Little's law: busy workers = load rate / perf
		conc = make([]float64, len(ep.Load.History))
		for i, x := range ep.Load.History {
			conc[i] = x / f.perf()
		}
	}
	util := ep.Endpoint.TargetUtil
	if util <= 0 {
		util = 1
	}
	stable := meanRate(conc, int(kpaStable/time.Second))
	panicAvg := meanRate(conc, int(kpaPanic/time.Second))
	dStable, dPanic := ceilDiv(stable, util), ceilDiv(panicAvg, util)
	ready := max(1, len(f.ready))
	if float64(dPanic)/float64(ready) >= kpaPanicThreshold {
		em.PanicUntil = now.Add(kpaStable)
	}
	if now.Sub(mem.Started) < kpaStable { // a restarted autoscaler starts in panic
		em.PanicUntil = maxTime(em.PanicUntil, mem.Started.Add(kpaStable))
	}
	panicking := now.Before(em.PanicUntil)
	current := len(f.ready) + len(f.starting) + len(f.loading)
	desired := dStable
	if panicking {
		desired = max(dPanic, dStable, current)
	}
	desired = min(desired, int(math.Ceil(float64(ready)*kpaMaxUp)))
	desired = max(desired, int(math.Floor(float64(len(f.ready))/kpaMaxDown)))
	desired = min(desired, f.max)
	fg := figs("stable", stable, "panic", panicAvg, "desired_stable", dStable, "desired_panic", dPanic,
		"ready", len(f.ready), "panicking", b2f(panicking))
	return desired, fg, panicking
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
