package cluster

import (
	"time"

	"github.com/hashicorp/raft"
)

// CaughtUp reports whether this node's replica has caught up with the
// leader since the process started: it has heard a leader and applied
// everything that leader had committed when it last told us. Until then
// the edge answers /route/ with the not-ready form rather than route from
// a replica that may be far behind (a restarted node). Once true it stays
// true: a node that later loses the leader keeps routing and reports
// itself stale instead.
func (n *Node) CaughtUp() bool {
	if n.caughtUpOnce.Load() {
		return true
	}
	return n.checkCaughtUp()
}

// watchCatchUp evaluates the catch-up condition in the background from the
// start, so the latch is set even when no request asks (a node isolated
// before its first /route/ must still route from its replica).
func (n *Node) watchCatchUp() {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !n.checkCaughtUp() {
		select {
		case <-n.stop:
			return
		case <-tick.C:
		}
	}
}

// checkCaughtUp evaluates the condition once and sets the latch.
func (n *Node) checkCaughtUp() bool {
	if n.caughtUpOnce.Load() {
		return true
	}
	switch n.raft.State() {
	case raft.Leader:
		if n.readyTerm.Load() != n.raft.CurrentTerm() {
			return false
		}
	case raft.Follower:
		if _, id := n.raft.LeaderWithID(); id == "" || n.raft.LastContact().IsZero() {
			return false
		}
		commit := n.raft.CommitIndex()
		if commit == 0 || n.raft.AppliedIndex() < commit || n.View().Index+fsmLagSlack < commit {
			return false
		}
	default:
		return false
	}
	n.caughtUpOnce.Store(true)
	return true
}

// fsmLagSlack: raft's no-op and barrier entries never reach the FSM, so
// the FSM's index may trail the commit index by a few entries even when
// everything is applied.
const fsmLagSlack = 8
