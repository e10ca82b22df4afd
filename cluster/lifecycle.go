package cluster

import (
	"context"
	"log/slog"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/drover-io/drover/fsm"
	"github.com/hashicorp/raft"
)

// lifecycleInterval is the period of the leader's worker lifecycle loop.
const lifecycleInterval = 500 * time.Millisecond

// Bounds of one lifecycle write: at most maxLifecycleBatch SetWorkerState
// commands and maxLifecycleBytes encoded bytes (well under maxEntryBytes, so
// the batcher may still add other writers' commands to the entry).
const (
	maxLifecycleBatch = 256
	maxLifecycleBytes = maxEntryBytes / 2
)

// maxStoredErrorMsg is the longest error_msg the lifecycle writes into the
// replicated state (longer ones are cut at a UTF-8 boundary): hundreds of
// workers failing at once with long tracebacks must neither make an entry
// raft refuses nor grow every snapshot by megabytes. The overlay keeps what
// the worker reported.
const maxStoredErrorMsg = 4 << 10

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

// lifecycleTick writes the state changes due at now (unix nanos), in
// writes bounded by count and by size (lifecycleBatches).
func (n *Node) lifecycleTick(ctx context.Context, now, graceStart int64) {
	changes := lifecycleChanges(n.View(), n.ovl, now, graceStart, n.cfg.WorkerTTL)
	for _, batch := range lifecycleBatches(changes, n.log) {
		if n.raft.State() != raft.Leader || ctx.Err() != nil {
			return // never forward lifecycle writes from a former leader
		}
		n.writeLifecycle(ctx, batch)
	}
}

// lifecycleBatch is one lifecycle write: its changes and their commands.
type lifecycleBatch struct {
	changes []fsm.SetWorkerState
	cmds    []fsm.Command
}

// lifecycleBatches turns changes into commands and groups them into writes
// of at most maxLifecycleBatch commands and maxLifecycleBytes bytes, so no
// input makes an entry raft refuses (and a failing write does not hold
// back the changes after it: each is its own write).
func lifecycleBatches(changes []fsm.SetWorkerState, log *slog.Logger) []lifecycleBatch {
	var out []lifecycleBatch
	var cur lifecycleBatch
	size := 0
	for _, c := range changes {
		cmd, err := fsm.NewCommand(fsm.CmdSetWorkerState, fsm.NewRequestID(), c)
		if err != nil {
			log.Error("lifecycle command", "worker", c.ID, "err", err)
			continue
		}
		n := len(cmd.Encode())
		if len(cur.cmds) > 0 && (len(cur.cmds) == maxLifecycleBatch || size+n > maxLifecycleBytes) {
			out = append(out, cur)
			cur, size = lifecycleBatch{}, 0
		}
		cur.changes = append(cur.changes, c)
		cur.cmds = append(cur.cmds, cmd)
		size += n
	}
	if len(cur.cmds) > 0 {
		out = append(out, cur)
	}
	return out
}

func (n *Node) writeLifecycle(ctx context.Context, b lifecycleBatch) {
	res, err := n.Apply(ctx, b.cmds...)
	if err != nil {
		n.log.Warn("lifecycle write failed; retried next tick", "changes", len(b.cmds), "err", err)
		return
	}
	for i, r := range res {
		c := b.changes[i]
		if r.Code != "" {
			n.log.Warn("lifecycle change refused", "worker", c.ID, "state", c.State, "code", r.Code, "msg", r.Msg)
			continue
		}
		n.log.Info("worker state", "worker", c.ID, "state", c.State)
	}
}

// storedErrorMsg is msg as the lifecycle stores it: at most
// maxStoredErrorMsg bytes, cut at a UTF-8 boundary.
func storedErrorMsg(msg string) string {
	if len(msg) <= maxStoredErrorMsg {
		return msg
	}
	cut := maxStoredErrorMsg
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut]
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
//   - error_msg set → error (again when the message changes), storing at
//     most maxStoredErrorMsg bytes of it;
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
		if msg := storedErrorMsg(load.ErrorMsg); w.State != fsm.WorkerError || w.ErrorMsg != msg {
			return fsm.SetWorkerState{ID: w.ID, State: fsm.WorkerError, ErrorMsg: msg}, true
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
