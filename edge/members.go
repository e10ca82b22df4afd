package edge

import (
	"github.com/valyala/fasthttp"
)

// Member is one server in a node's gossip member list.
type Member struct {
	ID          string `json:"id"`
	GossipAddr  string `json:"gossip"`
	ClusterAddr string `json:"cluster"`
	HTTPAddr    string `json:"http,omitempty"`
	NonVoter    bool   `json:"nonvoter,omitempty"`
	Self        bool   `json:"self,omitempty"`
}

// RaftPeer is one server of the latest Raft configuration a node knows,
// with its gossip health.
type RaftPeer struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	Voter   bool   `json:"voter"`
	Leader  bool   `json:"leader"`
	Alive   bool   `json:"alive"`
}

// Membership is optionally implemented by the Cluster: the gossip member
// list and the Raft configuration (GET /v1/members,
// /v1/operator/raft/peers and the dashboard). Neither may wait on Raft.
type Membership interface {
	Members() []Member
	RaftPeers() []RaftPeer
}

// Paths of the membership routes.
const (
	pathMembers   = "/v1/members"
	pathRaftPeers = "/v1/operator/raft/peers"
)

// routeMembers serves the membership paths; false for any other path.
func (s *Server) routeMembers(ctx *fasthttp.RequestCtx, path string) bool {
	switch path {
	case pathMembers:
		s.only(ctx, fasthttp.MethodGet, s.admin(func(ctx *fasthttp.RequestCtx) {
			writeJSON(ctx, fasthttp.StatusOK, map[string]any{"members": s.members()})
		}))
	case pathRaftPeers:
		s.only(ctx, fasthttp.MethodGet, s.admin(func(ctx *fasthttp.RequestCtx) {
			writeJSON(ctx, fasthttp.StatusOK, map[string]any{"peers": s.raftPeers()})
		}))
	default:
		return false
	}
	return true
}

func (s *Server) members() []Member {
	if m, ok := s.cluster.(Membership); ok {
		if ms := m.Members(); ms != nil {
			return ms
		}
	}
	return []Member{}
}

func (s *Server) raftPeers() []RaftPeer {
	if m, ok := s.cluster.(Membership); ok {
		if ps := m.RaftPeers(); ps != nil {
			return ps
		}
	}
	return []RaftPeer{}
}
