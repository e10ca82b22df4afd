package cluster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/drover-io/drover/scheduler"
	"github.com/drover-io/drover/scheduler/provider"
)

// manualPrefix starts the key of an intent an operator asked for
// (`drover workers stop|destroy`); the leader of its term executes it.
const manualPrefix = "manual-"

// job is one provider action: its committed intent and its target.
type job struct {
	intent   fsm.Intent
	worker   *fsm.Worker // the target (create: the worker registered for it); nil for an orphan
	group    *fsm.Group
	prov     provider.Provider
	token    string // create: the new worker's MASTER_TOKEN
	instance string // the provider's instance id (start, stop, destroy)
	dec      *Decision
}

// dispatch turns a plan into jobs: drains are written at once; every other
// action is committed as an intent (creates also register their worker),
// then executed in its own goroutine. Actions whose target is busy, whose
// group backs off after provider errors or whose provider is not
// reconciled yet wait for a later tick.
func (l *schedLoop) dispatch(ctx context.Context, v *fsm.View, plan scheduler.Plan, now time.Time) {
	var jobs []*job
	var drains []fsm.SetWorkerState
	live := map[uint64]int{}
	for _, a := range plan.Actions {
		if !l.groupReady(v, a.GroupID, now) {
			continue
		}
		switch a.Kind {
		case scheduler.Drain:
			if w := v.Workers[a.WorkerID]; w != nil && w.State == fsm.WorkerReady && !l.isBusy(w.ID) {
				drains = append(drains, fsm.SetWorkerState{ID: w.ID, State: fsm.WorkerDraining})
				l.dec.add(l.decision(a, now, "done"))
			}
		case scheduler.Create:
			for range a.Count {
				if j := l.planCreate(v, a, live, now); j != nil {
					jobs = append(jobs, j)
				}
			}
		default:
			if j := l.planWorkerAction(v, a, now); j != nil {
				jobs = append(jobs, j)
			}
		}
	}
	l.writeDrains(ctx, drains)
	for _, j := range l.commit(ctx, jobs, now) {
		l.launch(ctx, j)
	}
	l.runManual(ctx, v, now)
}

// groupReady reports whether the group's actions may run now.
func (l *schedLoop) groupReady(v *fsm.View, groupID uint64, now time.Time) bool {
	g := v.Groups[groupID]
	if g == nil {
		return false
	}
	if _, ok := l.cfg.Providers[g.Provider]; !ok {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reconOK[g.Provider] && !now.Before(l.backoff[groupID].until)
}

func (l *schedLoop) isBusy(workerID uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.busy[workerID]
}

// liveCount is how many instances of the endpoint are live or possibly
// live: registered workers of provider groups in any state, pending
// creates with no worker yet, and orphans the provider still lists.
func (l *schedLoop) liveCount(v *fsm.View, epID uint64) int {
	n := 0
	pending := pendingCreates(v)
	for _, g := range v.GroupsOf(epID) {
		if g.Provider == "" || g.Provider == "static" {
			continue
		}
		n += len(v.WorkersOf(g.ID)) + len(pending[g.ID])
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return n + l.orphanCount(epID)
}

// planCreate prepares one create, refusing it when the endpoint already
// has max_workers live or possibly-live instances (whatever the policy
// said: the guarantee is enforced here).
func (l *schedLoop) planCreate(v *fsm.View, a scheduler.Action, live map[uint64]int, now time.Time) *job {
	ep, g := v.Endpoints[a.EndpointID], v.Groups[a.GroupID]
	if ep == nil || g == nil {
		return nil
	}
	if _, ok := live[ep.ID]; !ok {
		live[ep.ID] = l.liveCount(v, ep.ID)
	}
	if int64(live[ep.ID]) >= ep.MaxWorkers {
		d := l.decision(a, now, "refused")
		d.Count = 1
		d.Error = fmt.Sprintf("max_workers %d reached (%d live or possibly live)", ep.MaxWorkers, live[ep.ID])
		l.dec.add(d)
		return nil
	}
	live[ep.ID]++
	d := l.decision(a, now, "pending")
	d.Count = 1
	l.dec.add(d)
	return &job{
		intent: fsm.Intent{Key: l.newKey(v), Kind: fsm.IntentCreate, EndpointID: ep.ID, GroupID: g.ID,
			Reason: trimReason(a.Reason), CreatedAt: seconds(now)},
		group: g, prov: l.cfg.Providers[g.Provider], token: randomHex(32), dec: d,
	}
}

// planWorkerAction prepares a start, stop or destroy of a registered
// worker that has nothing else in flight.
func (l *schedLoop) planWorkerAction(v *fsm.View, a scheduler.Action, now time.Time) *job {
	w := v.Workers[a.WorkerID]
	if w == nil || l.isBusy(w.ID) {
		return nil // a pending create with no worker: reconcile settles it
	}
	kind := map[scheduler.Kind]string{scheduler.Start: fsm.IntentStart, scheduler.Stop: fsm.IntentStop,
		scheduler.Destroy: fsm.IntentDestroy}[a.Kind]
	if kind == "" || (kind != fsm.IntentDestroy && w.InstanceID == "") {
		return nil
	}
	g := v.Groups[w.GroupID]
	d := l.decision(a, now, "pending")
	l.dec.add(d)
	return &job{
		intent: fsm.Intent{Key: l.newKey(v), Kind: kind, EndpointID: w.EndpointID, GroupID: w.GroupID,
			WorkerID: w.ID, InstanceID: w.InstanceID, Reason: trimReason(a.Reason), CreatedAt: seconds(now)},
		worker: w, group: g, prov: l.cfg.Providers[g.Provider], instance: w.InstanceID, dec: d,
	}
}

// newKey returns an intent key unique to this term and not in v.
func (l *schedLoop) newKey(v *fsm.View) string {
	for {
		l.keySeq++
		k := fmt.Sprintf("t%d-%d", l.term, l.keySeq)
		if v.Intents[k] == nil {
			return k
		}
	}
}

// commit writes the jobs' intents (one log entry), keeps those committed
// in this term, then registers the workers of creates before any provider
// call, each with its own token hash: an instance can then never exist
// without a registered worker that counts against max_workers.
func (l *schedLoop) commit(ctx context.Context, jobs []*job, now time.Time) []*job {
	if len(jobs) == 0 {
		return nil
	}
	if len(jobs) > maxJobsPerTick {
		jobs = jobs[:maxJobsPerTick]
	}
	cmds := make([]fsm.Command, 0, len(jobs))
	for _, j := range jobs {
		cmds = append(cmds, mustCommand(fsm.CmdPutIntent, fsm.PutIntent{Intent: j.intent}))
	}
	res, err := l.host.leaderApply(ctx, l.term, cmds...)
	if err != nil {
		l.failAll(jobs, "intent not committed: "+err.Error())
		return nil
	}
	v := l.host.View()
	var ok, creates []*job
	var regs []fsm.Command
	for i, j := range jobs {
		in := v.Intents[j.intent.Key]
		if res[i].Code != "" || in == nil || in.Term != l.term {
			l.finishDecision(j.dec, "refused", "intent not committed in this term", 0)
			continue
		}
		j.intent = *in
		j.dec.IntentKey = in.Key
		if in.Kind != fsm.IntentCreate {
			ok = append(ok, j)
			continue
		}
		id := provisionedID(in.Revision, i)
		if v.Workers[id] != nil {
			l.finishDecision(j.dec, "failed", fmt.Sprintf("worker id %d taken", id), 0)
			continue
		}
		sum := sha256.Sum256([]byte(j.token))
		j.worker = &fsm.Worker{ID: id, GroupID: in.GroupID, State: fsm.WorkerCreating, IntentKey: in.Key,
			TokenHash: hex.EncodeToString(sum[:]), RegisteredAt: seconds(now)}
		j.dec.WorkerID = id
		regs = append(regs, mustCommand(fsm.CmdRegisterWorker, fsm.RegisterWorker{Worker: *j.worker}))
		creates = append(creates, j)
	}
	if len(regs) == 0 {
		return ok
	}
	res, err = l.host.leaderApply(ctx, l.term, regs...)
	for i, j := range creates {
		if err != nil || res[i].Code != "" {
			l.resultOnly(ctx, j.intent.Key, fsm.IntentAbandoned, "", "worker not registered")
			l.finishDecision(j.dec, "failed", fmt.Sprintf("worker not registered: %v %s", err, resMsg(res, i)), 0)
			continue
		}
		ok = append(ok, j)
	}
	return ok
}

// maxJobsPerTick bounds one tick's intents (a worker id keeps the
// intent's position in its log entry in 10 bits).
const maxJobsPerTick = 1 << 10

// provisionedID is the id of the worker a create intent makes: its Raft
// revision (the log index) and its position in that entry, so intents put
// together get distinct ids. Deterministic, unique, far above the small
// ids static workers report with, and exact as a JSON number (< 2^53).
func provisionedID(revision uint64, pos int) uint64 {
	return provisionedIDBase + revision<<10 + uint64(pos)
}

func resMsg(res []fsm.Result, i int) string {
	if i < len(res) {
		return res[i].Msg
	}
	return ""
}

// writeDrains takes workers out of routing (no provider call: the policy
// stops them once idle).
func (l *schedLoop) writeDrains(ctx context.Context, drains []fsm.SetWorkerState) {
	if len(drains) == 0 {
		return
	}
	cmds := make([]fsm.Command, 0, len(drains))
	for _, d := range drains {
		cmds = append(cmds, mustCommand(fsm.CmdSetWorkerState, d))
	}
	if _, err := l.host.leaderApply(ctx, l.term, cmds...); err != nil {
		l.log.Warn("drain not written", "err", err)
	}
}

// runManual launches the operator's pending intents of this term.
func (l *schedLoop) runManual(ctx context.Context, v *fsm.View, now time.Time) {
	for key, in := range v.Intents {
		if !strings.HasPrefix(key, manualPrefix) || in.State != fsm.IntentPending || in.Term != l.term {
			continue
		}
		l.mu.Lock()
		busy := l.busyKeys[key] || l.busy[in.WorkerID]
		l.mu.Unlock()
		if busy {
			continue
		}
		w := v.Workers[in.WorkerID]
		var g *fsm.Group
		if w != nil {
			g = v.Groups[w.GroupID]
		}
		d := &Decision{Time: now, Term: l.term, Policy: "manual", EndpointID: in.EndpointID, GroupID: in.GroupID,
			WorkerID: in.WorkerID, Kind: in.Kind, IntentKey: key, Reason: in.Reason, Outcome: "pending"}
		l.dec.add(d)
		prov, ok := provider.Provider(nil), false
		if g != nil {
			prov, ok = l.cfg.Providers[g.Provider]
		}
		if !ok || (in.Kind != fsm.IntentDestroy && w.InstanceID == "") {
			l.resultOnly(ctx, key, fsm.IntentFailed, "", "worker unknown, static, or without an instance")
			l.finishDecision(d, "failed", "worker unknown, static, or without an instance", 0)
			continue
		}
		l.launch(ctx, &job{intent: *in, worker: w, group: g, prov: prov, instance: w.InstanceID, dec: d})
	}
}

// launch runs a job in its own goroutine: a slow or failing provider call
// never holds up another group or the next tick.
func (l *schedLoop) launch(ctx context.Context, j *job) {
	l.mu.Lock()
	l.busyKeys[j.intent.Key] = true
	if j.worker != nil {
		l.busy[j.worker.ID] = true
	}
	l.mu.Unlock()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer l.release(j)
		l.execute(ctx, j)
	}()
}

func (l *schedLoop) release(j *job) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.busyKeys, j.intent.Key)
	if j.worker != nil {
		delete(l.busy, j.worker.ID)
	}
}

func (l *schedLoop) failAll(jobs []*job, msg string) {
	for _, j := range jobs {
		l.finishDecision(j.dec, "failed", msg, 0)
	}
}

// mustCommand encodes a payload; the payload types always encode.
func mustCommand(t fsm.CmdType, payload any) fsm.Command {
	c, err := fsm.NewCommand(t, fsm.NewRequestID(), payload)
	if err != nil {
		panic(fmt.Sprintf("cluster: encode %v: %v", t, err))
	}
	return c
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func seconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// trimReason bounds an intent's reason (the full one is in the decision).
func trimReason(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}
