package cluster

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/drover-io/drover/fsm"
	"github.com/hashicorp/raft"
)

// ConsistentRead returns a View that reflects every write acknowledged
// before the call began (a linearizable read, by read index):
//
//  1. the leader, once it has run its barrier in the current term, notes
//     its applied index (which, after the barrier, covers the commit index
//     of every acknowledged write — raft's no-op and barrier entries never
//     reach the FSM, so the FSM's own index is the one both sides can
//     compare);
//  2. it confirms it is still leader with VerifyLeader (a quorum answers
//     its heartbeat) and that the term has not changed;
//  3. this node waits until its own FSM has applied that index.
//
// A node that cannot reach a leader with a quorum fails with an
// Unavailable error: it never answers with possibly stale data.
func (n *Node) ConsistentRead(ctx context.Context) (*fsm.View, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.WriteTimeout)
	defer cancel()
	var idx uint64
	var err error
	for attempt := 0; ; attempt++ {
		idx, err = n.readIndexOnce(ctx)
		if err == nil {
			break
		}
		if !isRetryable(err) || sleepCtx(ctx, backoff(attempt)) != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoQuorum, err)
		}
	}
	return n.waitApplied(ctx, idx)
}

func (n *Node) readIndexOnce(ctx context.Context) (uint64, error) {
	if n.raft.State() == raft.Leader {
		return n.leaderReadIndex()
	}
	addr, leaderID := n.raft.LeaderWithID()
	if addr == "" {
		return 0, ErrNoLeader
	}
	b, err := n.mux.CallAs(ctx, string(addr), string(leaderID), rpcReadIndex, nil)
	if err != nil {
		return 0, remoteErr(err)
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("cluster: bad read index answer (%d bytes)", len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// leaderReadIndex is steps 1 and 2 above, on the leader.
func (n *Node) leaderReadIndex() (uint64, error) {
	term := n.raft.CurrentTerm()
	if n.readyTerm.Load() != term {
		return 0, ErrNotReady
	}
	idx := n.View().Index
	if err := n.raft.VerifyLeader().Error(); err != nil {
		return 0, ErrNotLeader
	}
	if n.raft.CurrentTerm() != term {
		return 0, ErrStaleTerm
	}
	return idx, nil
}

// waitApplied blocks until the local FSM has applied index idx.
func (n *Node) waitApplied(ctx context.Context, idx uint64) (*fsm.View, error) {
	for {
		ch := n.rfsm.appliedCh()
		if v := n.View(); v.Index >= idx {
			return v, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: waiting to apply index %d: %v", ErrNoQuorum, idx, ctx.Err())
		case <-n.stop:
			return nil, ErrShutdown
		}
	}
}
