package cluster

import (
	"context"
	"slices"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/hashicorp/raft"
)

// gcLoop runs on the leader (started by lead, stopped with its ctx): every
// GCInterval it proposes Prune commands for what the replicated state no
// longer needs, so it stays bounded under churn. The leader decides what
// is old enough; Apply only re-checks that each item still qualifies, so
// every replica deletes the same things. The loop keeps, for this
// leadership only, when it first saw each lost worker lost: a new leader
// starts the retention over (late, never early).
func (n *Node) gcLoop(ctx context.Context) {
	lostSince := map[uint64]time.Time{}
	t := time.NewTicker(n.cfg.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n.gcTick(ctx, now, lostSince)
		}
	}
}

// gcTick proposes the prunes due at now.
func (n *Node) gcTick(ctx context.Context, now time.Time, lostSince map[uint64]time.Time) {
	intents, workers := gcCandidates(n.View(), now, lostSince, n.cfg.IntentRetention, n.cfg.LostWorkerRetention)
	for _, p := range prunes(intents, workers) {
		if n.raft.State() != raft.Leader || ctx.Err() != nil {
			return
		}
		cmd, err := fsm.NewCommand(fsm.CmdPrune, fsm.RequestID{}, p) // idempotent: no dedup entry needed
		if err != nil {
			n.log.Error("gc command", "err", err)
			return
		}
		res, err := n.Apply(ctx, cmd)
		if err != nil {
			n.log.Warn("gc write failed; retried next round", "intents", len(p.Intents), "workers", len(p.Workers), "err", err)
			return
		}
		if r := res[0]; r.Code != "" {
			n.log.Warn("gc refused", "code", r.Code, "msg", r.Msg)
			return
		}
		for _, id := range p.Workers {
			delete(lostSince, id)
		}
		n.log.Info("gc: pruned replicated state", "intents", len(p.Intents), "lost_workers", len(res[0].Deleted))
	}
}

// gcCandidates lists, sorted, the intents and workers due for pruning at
// now: finished intents created more than intentRet ago, or of a group that
// is gone (pending ones of a gone group too, once intentRet old); lost
// workers of groups no provider manages (static, or none: a provider's
// scheduler removes its own) that have been seen lost for lostRet. It
// updates lostSince with what is lost now.
func gcCandidates(v *fsm.View, now time.Time, lostSince map[uint64]time.Time, intentRet, lostRet time.Duration) ([]string, []uint64) {
	var intents []string
	cutoff := float64(now.Add(-intentRet).UnixNano()) / 1e9
	for k, in := range v.Intents {
		_, groupLive := v.Groups[in.GroupID]
		old := in.CreatedAt < cutoff
		finished := in.State != fsm.IntentPending
		if (finished && (old || !groupLive)) || (!groupLive && old) {
			intents = append(intents, k)
		}
	}
	var workers []uint64
	for id := range lostSince {
		if w := v.Workers[id]; w == nil || w.State != fsm.WorkerLost {
			delete(lostSince, id)
		}
	}
	for id, w := range v.Workers {
		if w.State != fsm.WorkerLost {
			continue
		}
		if g := v.Groups[w.GroupID]; g != nil && g.Provider != "" && g.Provider != "static" {
			continue
		}
		since, ok := lostSince[id]
		if !ok {
			lostSince[id] = now
			since = now
		}
		if now.Sub(since) >= lostRet {
			workers = append(workers, id)
		}
	}
	slices.Sort(intents)
	slices.Sort(workers)
	return intents, workers
}

// prunes splits the candidates into Prune commands of at most
// fsm.MaxPruneItems items each.
func prunes(intents []string, workers []uint64) []fsm.Prune {
	var out []fsm.Prune
	for len(intents) > 0 || len(workers) > 0 {
		var p fsm.Prune
		k := min(len(intents), fsm.MaxPruneItems)
		p.Intents, intents = intents[:k], intents[k:]
		k = min(len(workers), fsm.MaxPruneItems-len(p.Intents))
		p.Workers, workers = workers[:k], workers[k:]
		out = append(out, p)
	}
	return out
}
