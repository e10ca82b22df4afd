package cluster

import (
	"context"

	"github.com/drover-io/drover/fsm"
	"github.com/hashicorp/raft"
)

// nodeHost is the scheduler loop's view of a real node.
type nodeHost struct{ n *Node }

func (h nodeHost) View() *fsm.View { return h.n.View() }

func (h nodeHost) loads() []fsm.WorkerLoad { return h.n.ovl.Loads() }

func (h nodeHost) queue(endpointID uint64) []fsm.QueueEntry { return h.n.ovl.Queue(endpointID) }

// leaderApply submits cmds to this node's own log only while it leads in
// term: a former leader's scheduler never forwards writes to its successor.
func (h nodeHost) leaderApply(ctx context.Context, term uint64, cmds ...fsm.Command) ([]fsm.Result, error) {
	if err := h.leading(term); err != nil {
		return nil, err
	}
	for i := range cmds {
		if cmds[i].RequestID == (fsm.RequestID{}) {
			cmds[i].RequestID = fsm.NewRequestID()
		}
	}
	ctx, cancel := context.WithTimeout(ctx, h.n.cfg.WriteTimeout)
	defer cancel()
	return h.n.batch.submit(ctx, cmds)
}

func (h nodeHost) leading(term uint64) error {
	if h.n.raft.State() != raft.Leader || h.n.raft.CurrentTerm() != term {
		return ErrNotLeader
	}
	return nil
}

// verifyLeader asks a quorum whether this node still leads, within ctx.
func (h nodeHost) verifyLeader(ctx context.Context, term uint64) error {
	if err := h.leading(term); err != nil {
		return err
	}
	f := h.n.raft.VerifyLeader()
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		if err != nil {
			return ErrNotLeader
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	return h.leading(term)
}

// decisionLog returns the node's decision log.
func (n *Node) decisionLog() *decisionLog { return n.decisions }
