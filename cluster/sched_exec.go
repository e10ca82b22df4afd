package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/drover-io/drover/scheduler/provider"
)

// maxGroupBackoff caps how long a group waits after provider failures.
const maxGroupBackoff = time.Minute

// execute runs one job's provider call — checking leadership with a quorum
// before every attempt, retrying failures with backoff — and commits its
// result. When leadership is lost it stops at once: the next leader
// reconciles the intent against the provider's list.
func (l *schedLoop) execute(ctx context.Context, j *job) {
	var err error
	for attempt := 1; attempt <= l.cfg.Attempts; attempt++ {
		if attempt > 1 {
			l.finishDecision(j.dec, "retrying", err.Error(), attempt-1)
			if sleepCtx(ctx, retryDelay(l.cfg.RetryBase, attempt)) != nil {
				return
			}
		}
		if verr := l.verify(ctx); verr != nil {
			l.finishDecision(j.dec, "abandoned", "leadership lost: "+verr.Error(), attempt-1)
			return
		}
		if err = l.call(ctx, j); err == nil || errors.Is(err, provider.ErrState) || ctx.Err() != nil {
			break
		}
	}
	if ctx.Err() != nil {
		l.finishDecision(j.dec, "abandoned", "leadership lost", l.cfg.Attempts)
		return
	}
	if err != nil {
		l.groupFailed(j.intent.GroupID, err)
		l.failed(ctx, j, err)
		return
	}
	l.groupOK(j.intent.GroupID)
	l.succeeded(ctx, j)
}

func (l *schedLoop) verify(ctx context.Context) error {
	c, cancel := context.WithTimeout(ctx, l.cfg.ProviderTimeout)
	defer cancel()
	return l.host.verifyLeader(c, l.term)
}

// retryDelay is the wait before attempt n (n >= 2): base, 2·base, 4·base,
// … at most 30 s.
func retryDelay(base time.Duration, n int) time.Duration {
	return min(base<<min(n-2, 5), 30*time.Second)
}

// call makes the provider call of one attempt, bounded by ProviderTimeout.
func (l *schedLoop) call(ctx context.Context, j *job) error {
	c, cancel := context.WithTimeout(ctx, l.cfg.ProviderTimeout)
	defer cancel()
	switch j.intent.Kind {
	case fsm.IntentCreate:
		inst, err := j.prov.Create(c, j.intent.Key, provider.GroupSpec{
			EndpointID: j.group.EndpointID, GroupID: j.group.ID, TemplateHash: j.group.TemplateHash,
			LaunchArgs: j.group.LaunchArgs, SearchParams: j.group.SearchParams, GPURAM: j.group.GPURAM,
			WorkerID: j.worker.ID, MasterToken: j.token,
		})
		if err == nil {
			j.instance = inst.ID
			j.worker.Hardware, j.worker.Cost = inst.Hardware, inst.Cost
		}
		return err
	case fsm.IntentStart:
		return j.prov.Start(c, j.instance)
	case fsm.IntentStop:
		return j.prov.Stop(c, j.instance)
	}
	if j.instance == "" {
		id, found, err := l.findByKey(c, j.prov, j.worker)
		if err != nil || !found {
			return err // not found: the provider confirms it never existed
		}
		j.instance = id
	}
	if err := j.prov.Destroy(c, j.instance); err != nil && !errors.Is(err, provider.ErrNotFound) {
		return err
	}
	return nil
}

// findByKey looks a worker's instance up by its create intent key.
func (l *schedLoop) findByKey(ctx context.Context, p provider.Provider, w *fsm.Worker) (string, bool, error) {
	if w == nil || w.IntentKey == "" {
		return "", false, nil
	}
	list, err := p.List(ctx)
	if err != nil {
		return "", false, err
	}
	for _, in := range list {
		if in.IntentKey == w.IntentKey && in.State.Live() {
			return in.ID, true, nil
		}
	}
	return "", false, nil
}

// succeeded commits the intent's result and the worker's new state.
func (l *schedLoop) succeeded(ctx context.Context, j *job) {
	cmds := []fsm.Command{mustCommand(fsm.CmdIntentResult, fsm.IntentResult{Key: j.intent.Key,
		State: fsm.IntentDone, InstanceID: j.instance})}
	now := l.cfg.Now()
	if w := l.current(j); w != nil {
		switch j.intent.Kind {
		case fsm.IntentCreate:
			w.InstanceID, w.Hardware, w.Cost = j.instance, j.worker.Hardware, j.worker.Cost
			cmds = append(cmds, mustCommand(fsm.CmdRegisterWorker, fsm.RegisterWorker{Worker: *w}))
		case fsm.IntentStart:
			// Back to the lifecycle loop: ready once it reports loaded.
			cmds = append(cmds, mustCommand(fsm.CmdSetWorkerState, fsm.SetWorkerState{ID: w.ID, State: fsm.WorkerCreating}))
			l.mu.Lock()
			l.startedAt[w.ID] = now
			l.mu.Unlock()
		case fsm.IntentStop:
			cmds = append(cmds, mustCommand(fsm.CmdSetWorkerState, fsm.SetWorkerState{ID: w.ID, State: fsm.WorkerStopped}))
		case fsm.IntentDestroy:
			cmds = append(cmds, mustCommand(fsm.CmdRemoveWorker, fsm.RemoveWorker{ID: w.ID}))
		}
	}
	if _, err := l.host.leaderApply(ctx, l.term, cmds...); err != nil {
		l.setDecision(j.dec, func(d *Decision) {
			d.Outcome, d.InstanceID, d.Error = "done", j.instance, "result not committed: "+err.Error()
		})
		return
	}
	if j.worker == nil && j.intent.Kind == fsm.IntentDestroy {
		l.orphanGone(j.intent.EndpointID)
	}
	l.setDecision(j.dec, func(d *Decision) { d.Outcome, d.InstanceID = "done", j.instance })
}

// current is the job's worker as the registry has it now (nil if gone).
func (l *schedLoop) current(j *job) *fsm.Worker {
	if j.worker == nil {
		return nil
	}
	w := l.host.View().Workers[j.worker.ID]
	if w == nil {
		return nil
	}
	c := *w
	return &c
}

// failed commits a failed action. A failed create is ambiguous (the
// instance may exist): the provider's list decides — adopt it if it is
// there, else the provider confirms it never started and the worker is
// removed; if the list fails too, the intent stays pending and the worker
// is marked in error, still counting against max_workers.
func (l *schedLoop) failed(ctx context.Context, j *job, err error) {
	msg := err.Error()
	if j.intent.Kind != fsm.IntentCreate {
		l.resultOnly(ctx, j.intent.Key, fsm.IntentFailed, "", msg)
		l.finishDecision(j.dec, "failed", msg, l.cfg.Attempts)
		return
	}
	c, cancel := context.WithTimeout(ctx, l.cfg.ProviderTimeout)
	id, found, lerr := l.findByKey(c, j.prov, j.worker)
	cancel()
	switch {
	case lerr == nil && found:
		j.instance = id
		l.succeeded(ctx, j)
		l.setDecision(j.dec, func(d *Decision) { d.Error = "adopted after: " + msg })
	case lerr == nil:
		cmds := []fsm.Command{
			mustCommand(fsm.CmdIntentResult, fsm.IntentResult{Key: j.intent.Key, State: fsm.IntentFailed, Result: trimReason(msg)}),
			mustCommand(fsm.CmdRemoveWorker, fsm.RemoveWorker{ID: j.worker.ID}),
		}
		l.host.leaderApply(ctx, l.term, cmds...)
		l.finishDecision(j.dec, "failed", msg+" (provider confirms no instance)", l.cfg.Attempts)
	default:
		st := fsm.SetWorkerState{ID: j.worker.ID, State: fsm.WorkerError, ErrorMsg: trimReason("create outcome unknown: " + msg)}
		l.host.leaderApply(ctx, l.term, mustCommand(fsm.CmdSetWorkerState, st))
		l.finishDecision(j.dec, "failed", msg+"; outcome unknown until the provider lists it", l.cfg.Attempts)
	}
}

// resultOnly commits an intent's result alone.
func (l *schedLoop) resultOnly(ctx context.Context, key, state, instance, msg string) {
	r := fsm.IntentResult{Key: key, State: state, InstanceID: instance, Result: trimReason(msg)}
	if _, err := l.host.leaderApply(ctx, l.term, mustCommand(fsm.CmdIntentResult, r)); err != nil {
		l.log.Warn("intent result not committed", "key", key, "err", err)
	}
}

// groupFailed backs the group off: 2 s, 4 s, … up to a minute.
func (l *schedLoop) groupFailed(groupID uint64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.backoff[groupID]
	b.fails++
	b.until = l.cfg.Now().Add(min(time.Second<<min(b.fails, 6), maxGroupBackoff))
	b.err = err.Error()
	l.backoff[groupID] = b
}

func (l *schedLoop) groupOK(groupID uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.backoff, groupID)
}

// blockedNotes explains, per endpoint, groups held back this tick.
func (l *schedLoop) blockedNotes(v *fsm.View, now time.Time) map[uint64]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[uint64]string{}
	for gid, b := range l.backoff {
		if g := v.Groups[gid]; g != nil && now.Before(b.until) {
			out[g.EndpointID] += fmt.Sprintf("; group %d backs off for %s after %d provider failures (last: %s)",
				gid, b.until.Sub(now).Round(time.Second), b.fails, b.err)
		}
	}
	for _, g := range v.SortedGroups() {
		if _, ok := l.cfg.Providers[g.Provider]; ok && !l.reconOK[g.Provider] {
			out[g.EndpointID] += fmt.Sprintf("; group %d waits for provider %q to be reconciled", g.ID, g.Provider)
		}
	}
	return out
}
