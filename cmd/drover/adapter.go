package main

import (
	"github.com/drover-io/drover/cluster"
	"github.com/drover-io/drover/edge"
)

// edgeCluster adapts *cluster.Node to edge.Cluster: edge declares its own
// Status type so that it never imports cluster.
type edgeCluster struct{ *cluster.Node }

var (
	_ edge.Cluster = edgeCluster{}
	_ edge.Replica = (*cluster.Node)(nil)
	_ edge.Writer  = (*cluster.Node)(nil)
	_ edge.Reader  = (*cluster.Node)(nil)
)

// Status copies cluster.Status field by field.
func (c edgeCluster) Status() edge.Status {
	s := c.Node.Status()
	return edge.Status{
		ID:            s.ID,
		State:         s.State,
		Leader:        s.Leader,
		Term:          s.Term,
		AppliedIndex:  s.AppliedIndex,
		CommitIndex:   s.CommitIndex,
		Voters:        s.Voters,
		Nonvoters:     s.Nonvoters,
		LastContactMS: s.LastContactMS,
		Stale:         s.Stale,
		StateHash:     s.StateHash,
		ClusterID:     s.ClusterID,
		Insecure:      s.Insecure,
		Refused:       s.Refused,
	}
}

var _ edge.Membership = edgeCluster{}

// Members copies the gossip member list.
func (c edgeCluster) Members() []edge.Member {
	ms := c.Node.Members()
	out := make([]edge.Member, len(ms))
	for i, m := range ms {
		out[i] = edge.Member{ID: m.ID, GossipAddr: m.GossipAddr, ClusterAddr: m.ClusterAddr,
			HTTPAddr: m.HTTPAddr, NonVoter: m.NonVoter, Self: m.Self}
	}
	return out
}

// RaftPeers copies the Raft configuration.
func (c edgeCluster) RaftPeers() []edge.RaftPeer {
	ps := c.Node.RaftPeers()
	out := make([]edge.RaftPeer, len(ps))
	for i, p := range ps {
		out[i] = edge.RaftPeer{ID: p.ID, Address: p.Address, Voter: p.Voter, Leader: p.Leader, Alive: p.Alive}
	}
	return out
}
