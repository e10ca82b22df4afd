package cluster

import (
	"context"
	"sort"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/hashicorp/raft"
)

// lifecycleInterval is the period of the leader's worker lifecycle loop.
const lifecycleInterval = 500 * time.Millisecond

// maxLifecycleBatch bounds the SetWorkerState commands of one write.
const maxLifecycleBatch = 256

// lifecycleLoop runs on the leader (started by lead, stopped with its ctx):
// every lifecycleInterval it compares each registered worker's state with
// the load overlay and writes the changes, batched, once. It keeps no state
// across leaderships: a fresh leader gives every worker one WorkerTTL of
// grace before declaring it lost.
func (n *Node) lifecycleLoop(ctx context.Context) {
	graceStart := time.Now().UnixNano()
	t := time.NewTicker(lifecycleInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n.lifecycleTick(ctx, time.Now().UnixNano(), graceStart)
		}
	}
}

// lifecycleTick writes the state changes due at now (unix nanos).
func (n *Node) lifecycleTick(ctx context.Context, now, graceStart int64) {
	changes := lifecycleChanges(n.View(), n.ovl, now, graceStart, n.cfg.WorkerTTL)
	for len(changes) > 0 {
		if n.raft.State() != raft.Leader || ctx.Err() != nil {
			return // never forward lifecycle writes from a former leader
		}
		k := min(len(changes), maxLifecycleBatch)
		n.writeLifecycle(ctx, changes[:k])
		changes = changes[k:]
	}
}

func (n *Node) writeLifecycle(ctx context.Context, changes []fsm.SetWorkerState) {
	cmds := make([]fsm.Command, 0, len(changes))
	for _, c := range changes {
		cmd, err := fsm.NewCommand(fsm.CmdSetWorkerState, fsm.NewRequestID(), c)
		if err != nil {
			n.log.Error("lifecycle command", "worker", c.ID, "err", err)
			continue
		}
		cmds = append(cmds, cmd)
	}
	res, err := n.Apply(ctx, cmds...)
	if err != nil {
		n.log.Warn("lifecycle write failed; retried next tick", "changes", len(cmds), "err", err)
		return
	}
	for i, r := range res {
		if r.Code != "" {
			n.log.Warn("lifecycle change refused", "worker", changes[i].ID, "state", changes[i].State, "code", r.Code, "msg", r.Msg)
			continue
		}
		n.log.Info("worker state", "worker", changes[i].ID, "state", changes[i].State)
	}
}

// lifecycleChanges lists the state changes due, by worker id.
func lifecycleChanges(v *fsm.View, o *Overlay, now, graceStart int64, ttl time.Duration) []fsm.SetWorkerState {
	var out []fsm.SetWorkerState
	for id, w := range v.Workers {
		if c, ok := lifecycleChange(w, o.Load(id), o.lastHeard(id), now, graceStart, ttl); ok {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// lifecycleChange decides one worker's transition from its registered
// state, its merged load and when this node last heard a report of it
// (heard, local unix nanos; 0 = never). Only loading, creating, ready, lost
// and error workers are managed; stopped and draining ones belong to the
// scheduler.
//
//   - error_msg set → error (again when the message changes);
//   - loadtime > 0 and max_perf > 0 → ready, with max_perf and url (again
//     when they change);
//   - reporting but not loaded (ready, lost, error, creating) → loading
//     (the spec's "else loading": a restarted worker is not routable);
//   - ready or loading with no report for ttl (counted from graceStart at
//     the earliest) → lost.
func lifecycleChange(w *fsm.Worker, load *fsm.WorkerLoad, heard, now, graceStart int64, ttl time.Duration) (fsm.SetWorkerState, bool) {
	switch w.State {
	case fsm.WorkerLoading, fsm.WorkerCreating, fsm.WorkerReady, fsm.WorkerLost, fsm.WorkerError:
	default:
		return fsm.SetWorkerState{}, false
	}
	if load == nil || heard == 0 || now-heard > int64(ttl) {
		if (w.State == fsm.WorkerReady || w.State == fsm.WorkerLoading) && now-max(heard, graceStart) > int64(ttl) {
			return fsm.SetWorkerState{ID: w.ID, State: fsm.WorkerLost}, true
		}
		return fsm.SetWorkerState{}, false
	}
	switch {
	case load.ErrorMsg != "":
		if w.State != fsm.WorkerError || w.ErrorMsg != load.ErrorMsg {
			return fsm.SetWorkerState{ID: w.ID, State: fsm.WorkerError, ErrorMsg: load.ErrorMsg}, true
		}
	case load.LoadTime > 0 && load.MaxPerf > 0:
		if w.State != fsm.WorkerReady || w.MaxPerf != load.MaxPerf || (load.URL != "" && load.URL != w.URL) {
			return fsm.SetWorkerState{ID: w.ID, State: fsm.WorkerReady, MaxPerf: load.MaxPerf, URL: load.URL}, true
		}
	case w.State != fsm.WorkerLoading: // restarted, reloading, or back from lost/error

		return fsm.SetWorkerState{ID: w.ID, State: fsm.WorkerLoading, URL: load.URL}, true
	}
	return fsm.SetWorkerState{}, false
}
