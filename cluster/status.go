package cluster

import (
	"sort"
	"time"

	"github.com/hashicorp/raft"
)

// Status is what /v1/cluster shows; it is built from local state and never
// waits on Raft.
type Status struct {
	ID            string   `json:"id"`
	State         string   `json:"state"` // leader, follower, candidate, shutdown
	Leader        string   `json:"leader"`
	Term          uint64   `json:"term"`
	AppliedIndex  uint64   `json:"applied_index"`
	CommitIndex   uint64   `json:"commit_index"`
	Voters        []string `json:"voters"`
	Nonvoters     []string `json:"nonvoters"`
	LastContactMS int64    `json:"last_contact_ms"`
	Stale         bool     `json:"stale"`
	StateHash     string   `json:"state_hash"`
	// ClusterID names the cluster; Insecure: the agent runs with
	// --insecure (see docs/security.md).
	ClusterID string `json:"cluster_id"`
	Insecure  bool   `json:"insecure"`
	// Refused is the last reason a peer gave for refusing this node
	// ("" when none did), e.g. that an operator removed it.
	Refused string `json:"refused,omitempty"`
}

// Status reports this node's view of the cluster.
func (n *Node) Status() Status {
	v := n.View()
	_, leader := n.raft.LeaderWithID()
	st := Status{
		ID:           n.cfg.ID,
		State:        stateName(n.raft.State()),
		Leader:       string(leader),
		Term:         n.raft.CurrentTerm(),
		AppliedIndex: v.Index,
		CommitIndex:  n.raft.CommitIndex(),
		Voters:       []string{},
		Nonvoters:    []string{},
		StateHash:    v.Hash(),
		ClusterID:    n.cfg.ClusterID,
		Insecure:     n.cfg.Insecure,
	}
	if r := n.mux.LastRefusal(); r != nil && time.Since(r.At) < time.Minute {
		st.Refused = r.Reason
	}
	st.Voters, st.Nonvoters = n.latestServers()
	if st.State != "leader" {
		st.LastContactMS = -1
		if last := n.raft.LastContact(); !last.IsZero() {
			st.LastContactMS = time.Since(last).Milliseconds()
		}
	}
	st.Stale = n.staleNow()
	return st
}

// latestServers lists voter and non-voter ids of the latest configuration
// this node knows. GetConfiguration goes through raft's main loop but does
// not wait on peers.
func (n *Node) latestServers() (voters, nonvoters []string) {
	voters, nonvoters = []string{}, []string{}
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters = append(voters, string(s.ID))
		} else {
			nonvoters = append(nonvoters, string(s.ID))
		}
	}
	sort.Strings(voters)
	sort.Strings(nonvoters)
	return
}

func stateName(s raft.RaftState) string {
	switch s {
	case raft.Leader:
		return "leader"
	case raft.Follower:
		return "follower"
	case raft.Candidate:
		return "candidate"
	default:
		return "shutdown"
	}
}
