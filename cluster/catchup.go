package cluster

import (
	"context"
	"encoding/json"
	"time"

	"github.com/hashicorp/raft"
)

// CaughtUp reports whether this node's replica has caught up with the
// leader since the process started: it has applied everything the leader
// had committed when this node asked it. Until then the edge answers
// /route/ with the not-ready form rather than route from a replica that
// may be far behind (a restarted or new node). Once true it stays true: a
// node that later loses the leader keeps routing and reports itself stale.
// It only reads an atomic; the work is done by watchReplica.
func (n *Node) CaughtUp() bool { return n.caughtUpOnce.Load() }

// Stale reports whether this node has lost touch with a leader for longer
// than StaleAfter (the Status().Stale of a moment ago). It only reads an
// atomic, so the edge may call it for every request.
func (n *Node) Stale() bool { return n.stale.Load() }

// watchReplica keeps the stale flag fresh and evaluates the catch-up latch
// from the start, so it is set even when no request asks (a node isolated
// before its first /route/ must still route from its replica).
func (n *Node) watchReplica() {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var target uint64 // the leader's commit index when we asked; 0: not asked yet
	for {
		n.stale.Store(n.staleNow())
		if !n.caughtUpOnce.Load() {
			target = n.checkCaughtUp(target)
		}
		select {
		case <-n.stop:
			return
		case <-tick.C:
		}
	}
}

// staleNow is Status().Stale without the rest of the status.
func (n *Node) staleNow() bool {
	if n.raft.State() == raft.Leader {
		return false
	}
	if _, id := n.raft.LeaderWithID(); id == "" {
		return true
	}
	last := n.raft.LastContact()
	return last.IsZero() || time.Since(last) > n.cfg.StaleAfter
}

// checkCaughtUp advances the catch-up check and sets the latch when done.
// A follower's own commit index only reaches the end of the entries it has
// received so far, so the target is the leader's commit index, asked over
// the cluster RPC; the latch is set once this node has applied it.
func (n *Node) checkCaughtUp(target uint64) uint64 {
	switch n.raft.State() {
	case raft.Leader:
		if n.readyTerm.Load() == n.raft.CurrentTerm() {
			n.caughtUpOnce.Store(true)
		}
		return 0
	case raft.Follower:
	default:
		return 0
	}
	if target == 0 {
		return n.leaderCommit()
	}
	if n.raft.AppliedIndex() >= target && n.View().Index+fsmLagSlack >= target {
		n.caughtUpOnce.Store(true)
	}
	return target
}

// leaderCommit asks the leader for its commit index (0 when it cannot).
func (n *Node) leaderCommit() uint64 {
	addr, id := n.raft.LeaderWithID()
	if id == "" {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	b, err := n.mux.Call(ctx, string(addr), rpcStatus, nil)
	if err != nil {
		return 0
	}
	var st Status
	if json.Unmarshal(b, &st) != nil || st.State != "leader" {
		return 0
	}
	return st.CommitIndex
}

// fsmLagSlack: raft's no-op and barrier entries never reach the FSM, so
// the FSM's index may trail the commit index by a few entries even when
// everything is applied.
const fsmLagSlack = 8
