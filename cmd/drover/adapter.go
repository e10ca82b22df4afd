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
