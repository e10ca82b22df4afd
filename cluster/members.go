package cluster

import (
	"slices"
	"strings"

	"github.com/hashicorp/raft"
)

// Member is one server in this node's gossip member list (alive or
// suspect), as `drover members` and the dashboard show it.
type Member struct {
	ID          string `json:"id"`
	GossipAddr  string `json:"gossip"`
	ClusterAddr string `json:"cluster"`
	HTTPAddr    string `json:"http,omitempty"`
	NonVoter    bool   `json:"nonvoter,omitempty"`
	Self        bool   `json:"self,omitempty"`
}

// Members lists the servers gossip sees alive, sorted by id.
func (n *Node) Members() []Member {
	ms := n.gossip.members()
	out := make([]Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, Member{ID: m.ID, GossipAddr: m.GossipAddr, ClusterAddr: m.ClusterAddr,
			HTTPAddr: m.HTTPAddr, NonVoter: m.NonVoter, Self: m.ID == n.cfg.ID})
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// RaftPeer is one server of the latest Raft configuration this node knows.
type RaftPeer struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	Voter   bool   `json:"voter"`
	Leader  bool   `json:"leader"`
	// Alive: gossip sees the server (a peer missing from gossip is down or
	// cut off from this node).
	Alive bool `json:"alive"`
}

// RaftPeers lists the Raft configuration, sorted by id, with each
// server's gossip health. It does not wait on peers.
func (n *Node) RaftPeers() []RaftPeer {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return []RaftPeer{}
	}
	alive := map[string]bool{}
	for _, m := range n.gossip.members() {
		alive[m.ID] = true
	}
	_, leaderID := n.raft.LeaderWithID()
	out := []RaftPeer{}
	for _, s := range f.Configuration().Servers {
		out = append(out, RaftPeer{ID: string(s.ID), Address: string(s.Address), Voter: s.Suffrage == raft.Voter,
			Leader: s.ID == leaderID, Alive: alive[string(s.ID)]})
	}
	slices.SortFunc(out, func(a, b RaftPeer) int { return strings.Compare(a.ID, b.ID) })
	return out
}
