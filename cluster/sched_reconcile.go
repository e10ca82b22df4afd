package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/drover-io/drover/scheduler/provider"
)

// reconcileRetry is the wait after a failed provider list.
const reconcileRetry = 2 * time.Second

// maybeReconcile starts, per provider, a reconcile when one is due: first
// thing in a leadership (its groups are not scaled until it succeeds),
// then every ReconcileEvery. Each runs in its own goroutine so a provider
// that hangs holds up only its own groups.
func (l *schedLoop) maybeReconcile(ctx context.Context, now time.Time) {
	for name, p := range l.cfg.Providers {
		l.mu.Lock()
		due := !l.recBusy[name] && !now.Before(l.recNext[name])
		if due {
			l.recBusy[name] = true
		}
		l.mu.Unlock()
		if !due {
			continue
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			next := l.cfg.ReconcileEvery
			err := l.reconcile(ctx, name, p)
			if err != nil {
				next = reconcileRetry
				l.log.Warn("provider reconcile failed", "provider", name, "err", err)
				l.dec.setProviderError(name, err.Error())
			} else {
				l.dec.setProviderError(name, "")
			}
			l.mu.Lock()
			l.recBusy[name] = false
			l.recNext[name] = l.cfg.Now().Add(next)
			if w, ok := l.recWant[name]; ok && err == nil {
				l.recNext[name] = minTime(l.recNext[name], w)
				delete(l.recWant, name)
			}
			l.mu.Unlock()
		}()
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// reconPlan is what a reconcile writes and destroys.
type reconPlan struct {
	cmds    []fsm.Command
	orphans []provider.Instance
	count   map[uint64]int // endpoint → live orphans
	notes   []string
	recheck time.Time // when a create still in its grace must be looked at again
}

// createGrace is how long after it was put a create of an earlier term
// may still land at the provider (the old leader's attempts, each up to
// ProviderTimeout, and the waits between them). Until then a create the
// provider does not list yet is not abandoned: its worker stays
// registered and counts against max_workers.
func (l *schedLoop) createGrace() time.Duration {
	g := time.Duration(l.cfg.Attempts) * l.cfg.ProviderTimeout
	for n := 2; n <= l.cfg.Attempts; n++ {
		g += retryDelay(l.cfg.RetryBase, n)
	}
	return g + time.Second
}

// recheckAt brings the provider's next reconcile forward to t.
func (l *schedLoop) recheckAt(name string, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recWant[name] = t
}

// reconcile compares the provider's list with the registry and the pending
// intents of earlier terms: adopt what exists, destroy orphans (live
// instances no registered worker holds), and let the policy re-plan only
// what the provider confirms it never started.
func (l *schedLoop) reconcile(ctx context.Context, name string, p provider.Provider) error {
	c, cancel := context.WithTimeout(ctx, l.cfg.ProviderTimeout)
	list, err := p.List(c)
	cancel()
	if err != nil {
		return err
	}
	v := l.host.View() // read after the list: every listed instance's worker registered before it was created
	l.mu.Lock()
	busy := make(map[string]bool, len(l.busyKeys))
	for k := range l.busyKeys {
		busy[k] = true
	}
	l.mu.Unlock()
	now := l.cfg.Now()
	rp := planReconcile(v, name, list, busy, l.term, now, l.createGrace())
	if len(rp.cmds) > 0 {
		if _, err := l.host.leaderApply(ctx, l.term, rp.cmds...); err != nil {
			return fmt.Errorf("reconcile writes: %w", err)
		}
	}
	for _, n := range rp.notes {
		l.dec.add(&Decision{Time: now, Term: l.term, Policy: "reconcile", Kind: "reconcile", Reason: n, Outcome: "done"})
	}
	l.mu.Lock()
	l.orphanProv[name] = rp.count
	l.reconOK[name] = true
	l.mu.Unlock()
	if !rp.recheck.IsZero() {
		l.recheckAt(name, rp.recheck)
	}
	l.destroyOrphans(ctx, p, v, rp.orphans, now)
	return nil
}

// planReconcile is reconcile's pure part.
func planReconcile(v *fsm.View, name string, list []provider.Instance, busy map[string]bool, term uint64, now time.Time, grace time.Duration) reconPlan {
	rp := reconPlan{count: map[uint64]int{}}
	mine := func(groupID uint64) bool { g := v.Groups[groupID]; return g == nil || g.Provider == name }
	live := map[string]provider.Instance{} // by intent key
	byID := map[string]provider.Instance{}
	for _, in := range list {
		byID[in.ID] = in
		if in.State.Live() {
			live[in.IntentKey] = in
		}
	}
	held := map[string]bool{} // instance ids a registered worker holds
	wByKey := map[string]*fsm.Worker{}
	for _, w := range v.Workers {
		if !mine(w.GroupID) {
			continue
		}
		if w.IntentKey != "" {
			wByKey[w.IntentKey] = w
			if in, ok := live[w.IntentKey]; ok {
				held[in.ID] = true
			}
		}
		if w.InstanceID != "" {
			held[w.InstanceID] = true
		}
	}
	handled := map[uint64]bool{}
	for _, in := range v.SortedIntents() {
		if in.State != fsm.IntentPending || in.Term >= term || busy[in.Key] || !mine(in.GroupID) {
			continue
		}
		if _, ok := live[in.Key]; !ok && in.Kind == fsm.IntentCreate {
			if until := unixSeconds(in.CreatedAt).Add(grace); now.Before(until) {
				if rp.recheck.IsZero() || until.Before(rp.recheck) {
					rp.recheck = until
				}
				if w := wByKey[in.Key]; w != nil {
					handled[w.ID] = true
				}
				continue // it may still land: keep counting it
			}
		}
		rp.reconcileIntent(in, live, wByKey, handled)
	}
	for _, w := range v.Workers {
		if mine(w.GroupID) && !handled[w.ID] && !busy[w.IntentKey] && w.IntentKey != "" {
			rp.reconcileWorker(v, w, live, byID)
		}
	}
	for _, in := range list {
		if in.State.Live() && !held[in.ID] && !busy[in.IntentKey] {
			rp.orphans = append(rp.orphans, in)
			if g := v.Groups[in.GroupID]; g != nil {
				rp.count[g.EndpointID]++
			}
		}
	}
	return rp
}

// reconcileIntent settles one pending intent of an earlier term.
func (rp *reconPlan) reconcileIntent(in *fsm.Intent, live map[string]provider.Instance, wByKey map[string]*fsm.Worker, handled map[uint64]bool) {
	result := func(state, inst, msg string) {
		rp.cmds = append(rp.cmds, mustCommand(fsm.CmdIntentResult, fsm.IntentResult{Key: in.Key, State: state, InstanceID: inst, Result: msg}))
		rp.notes = append(rp.notes, fmt.Sprintf("intent %s (%s, term %d): %s %s", in.Key, in.Kind, in.Term, state, msg))
	}
	if in.Kind != fsm.IntentCreate {
		result(fsm.IntentAbandoned, "", "leader changed before it finished; re-planned")
		return
	}
	inst, ok := live[in.Key]
	w := wByKey[in.Key]
	switch {
	case ok && w != nil:
		result(fsm.IntentDone, inst.ID, "adopted by a new leader")
		handled[w.ID] = true
		if w.InstanceID != inst.ID {
			c := *w
			c.InstanceID, c.Hardware, c.Cost = inst.ID, inst.Hardware, inst.Cost
			rp.cmds = append(rp.cmds, mustCommand(fsm.CmdRegisterWorker, fsm.RegisterWorker{Worker: c}))
		}
	case ok:
		result(fsm.IntentFailed, inst.ID, "instance without a registered worker: destroyed")
	default:
		result(fsm.IntentAbandoned, "", "provider confirms it never started; re-planned")
		if w != nil {
			handled[w.ID] = true
			rp.cmds = append(rp.cmds, mustCommand(fsm.CmdRemoveWorker, fsm.RemoveWorker{ID: w.ID}))
		}
	}
}

// reconcileWorker follows a provider-created worker's instance: gone →
// removed (the provider confirms it), failed → error (the policy destroys
// it), found by key with no instance id → adopted.
func (rp *reconPlan) reconcileWorker(v *fsm.View, w *fsm.Worker, live map[string]provider.Instance, byID map[string]provider.Instance) {
	if w.InstanceID == "" {
		if in := v.Intents[w.IntentKey]; in != nil && in.State == fsm.IntentPending {
			return // its create is still being settled
		}
		if inst, ok := live[w.IntentKey]; ok {
			c := *w
			c.InstanceID, c.Hardware, c.Cost = inst.ID, inst.Hardware, inst.Cost
			rp.cmds = append(rp.cmds, mustCommand(fsm.CmdRegisterWorker, fsm.RegisterWorker{Worker: c}))
			return
		}
		rp.remove(w, "no instance for its intent")
		return
	}
	inst, ok := byID[w.InstanceID]
	switch {
	case !ok || !inst.State.Live():
		rp.remove(w, "instance "+w.InstanceID+" gone")
	case inst.State == provider.Failed && w.State != fsm.WorkerError:
		rp.cmds = append(rp.cmds, mustCommand(fsm.CmdSetWorkerState, fsm.SetWorkerState{ID: w.ID,
			State: fsm.WorkerError, ErrorMsg: trimReason("instance failed: " + inst.Error)}))
	}
}

func (rp *reconPlan) remove(w *fsm.Worker, why string) {
	rp.cmds = append(rp.cmds, mustCommand(fsm.CmdRemoveWorker, fsm.RemoveWorker{ID: w.ID}))
	rp.notes = append(rp.notes, fmt.Sprintf("worker %d removed: %s", w.ID, why))
}

// destroyOrphans commits a destroy intent for every orphan and runs it.
func (l *schedLoop) destroyOrphans(ctx context.Context, p provider.Provider, v *fsm.View, orphans []provider.Instance, now time.Time) {
	for _, inst := range orphans {
		var epID uint64
		if g := v.Groups[inst.GroupID]; g != nil {
			epID = g.EndpointID
		}
		in := fsm.Intent{Key: fmt.Sprintf("t%d-orphan-%s", l.term, inst.ID), Kind: fsm.IntentDestroy, EndpointID: epID,
			GroupID: inst.GroupID, InstanceID: inst.ID, Reason: "orphan: no registered worker holds it", CreatedAt: seconds(now)}
		d := &Decision{Time: now, Term: l.term, Policy: "reconcile", EndpointID: epID, GroupID: inst.GroupID,
			Kind: fsm.IntentDestroy, IntentKey: in.Key, InstanceID: inst.ID, Reason: in.Reason, Outcome: "pending"}
		l.dec.add(d)
		l.mu.Lock()
		busy := l.busyKeys[in.Key]
		l.mu.Unlock()
		if busy {
			continue
		}
		if _, err := l.host.leaderApply(ctx, l.term, mustCommand(fsm.CmdPutIntent, fsm.PutIntent{Intent: in})); err != nil {
			l.finishDecision(d, "failed", "intent not committed: "+err.Error(), 0)
			continue
		}
		if got := l.host.View().Intents[in.Key]; got == nil || got.Term != l.term || got.State != fsm.IntentPending {
			l.finishDecision(d, "refused", "intent not pending in this term", 0)
			continue
		}
		l.launch(ctx, &job{intent: in, group: v.Groups[inst.GroupID], prov: p, instance: inst.ID, dec: d})
	}
}
