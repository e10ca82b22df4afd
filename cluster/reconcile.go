package cluster

import (
	"context"
	"encoding/json"
	"time"

	"github.com/hashicorp/raft"
)

// reconcile makes the Raft configuration follow gossip: servers removed by
// hand leave; new servers join as non-voters; caught-up, stable non-voters
// are promoted up to MaxVoters; servers gone from gossip longer than
// DeadServerTimeout are removed, never taking the voters below MinQuorum.
func (n *Node) reconcile(ctx context.Context) {
	if n.raft.State() != raft.Leader {
		return
	}
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	servers := f.Configuration().Servers
	inConf := map[string]raft.Server{}
	voters := 0
	for _, s := range servers {
		inConf[string(s.ID)] = s
		if s.Suffrage == raft.Voter {
			voters++
		}
	}
	alive := map[string]member{}
	for _, m := range n.gossip.members() {
		alive[m.ID] = m
	}
	removed := n.View().RemovedServers
	now := time.Now()

	for id := range inConf {
		if removed[id] {
			n.removeServer(id, "removed by hand")
			delete(inConf, id)
		}
	}
	for id, m := range alive {
		s, ok := inConf[id]
		if removed[id] {
			if n.refusals.allow("removed|" + id) {
				n.log.Info("not adding server: removed by an operator", "server", id, "hint", "drover cluster allow "+id)
			}
			continue
		}
		if ok && string(s.Address) == m.ClusterAddr {
			continue
		}
		// Never add or repoint a server whose claim (id at address) is
		// not backed by its certificate: otherwise anyone in gossip could
		// take over a stopped voter's id.
		if err := n.verifyServer(ctx, id, m.ClusterAddr); err != nil {
			n.refuseServer(id, m.ClusterAddr, err)
			continue
		}
		n.addNonvoter(id, m, ok)
	}
	voters = n.promote(ctx, inConf, alive, voters, now)
	n.removeDead(inConf, alive, voters, now)
}

// addNonvoter adds a new server (or updates the address of a known one,
// keeping its suffrage).
func (n *Node) addNonvoter(id string, m member, known bool) {
	addr := raft.ServerAddress(m.ClusterAddr)
	var err error
	if known && n.isVoter(id) {
		err = n.raft.AddVoter(raft.ServerID(id), addr, 0, n.cfg.WriteTimeout).Error()
	} else {
		err = n.raft.AddNonvoter(raft.ServerID(id), addr, 0, n.cfg.WriteTimeout).Error()
	}
	if err != nil {
		n.log.Warn("add server failed", "server", id, "err", err)
		return
	}
	n.log.Info("added server", "server", id, "addr", addr, "address_update", known)
}

func (n *Node) isVoter(id string) bool {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == id {
			return s.Suffrage == raft.Voter
		}
	}
	return false
}

// promote turns caught-up non-voters that have been stable for
// PromoteAfter into voters while there are fewer than MaxVoters. It
// returns the new voter count.
func (n *Node) promote(ctx context.Context, inConf map[string]raft.Server, alive map[string]member, voters int, now time.Time) int {
	commit := n.raft.CommitIndex()
	for id, s := range inConf {
		m, up := alive[id]
		if s.Suffrage == raft.Voter || !up || m.NonVoter {
			delete(n.leader.stableSince, id)
			continue
		}
		if voters >= n.cfg.MaxVoters {
			return voters
		}
		if !n.caughtUp(ctx, s, commit) {
			delete(n.leader.stableSince, id)
			continue
		}
		since, ok := n.leader.stableSince[id]
		if !ok {
			n.leader.stableSince[id] = now
			continue
		}
		if now.Sub(since) < n.cfg.PromoteAfter {
			continue
		}
		if err := n.raft.AddVoter(s.ID, s.Address, 0, n.cfg.WriteTimeout).Error(); err != nil {
			n.log.Warn("promote failed", "server", id, "err", err)
			continue
		}
		n.log.Info("promoted to voter", "server", id)
		delete(n.leader.stableSince, id)
		voters++
	}
	return voters
}

// caughtUp asks the server for its applied index over the cluster RPC.
func (n *Node) caughtUp(ctx context.Context, s raft.Server, commit uint64) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	b, err := n.mux.CallAs(ctx, string(s.Address), string(s.ID), rpcStatus, nil)
	if err != nil {
		return false
	}
	var st Status
	if json.Unmarshal(b, &st) != nil {
		return false
	}
	return st.AppliedIndex+appliedSlack >= n.View().Index && st.ID == string(s.ID) &&
		st.ClusterID == n.cfg.ClusterID && commit > 0
}

// appliedSlack is how far behind the leader's applied index a non-voter
// may be and still count as caught up.
const appliedSlack = 16

// removeDead removes servers missing from gossip for DeadServerTimeout.
func (n *Node) removeDead(inConf map[string]raft.Server, alive map[string]member, voters int, now time.Time) {
	for id, s := range inConf {
		if _, up := alive[id]; up || id == n.cfg.ID {
			delete(n.leader.deadSince, id)
			continue
		}
		since, ok := n.leader.deadSince[id]
		if !ok {
			n.leader.deadSince[id] = now
			continue
		}
		if now.Sub(since) < n.cfg.DeadServerTimeout {
			continue
		}
		if s.Suffrage == raft.Voter {
			if voters-1 < n.cfg.MinQuorum {
				continue
			}
			voters--
		}
		n.removeServer(id, "dead past timeout")
		delete(n.leader.deadSince, id)
	}
}

func (n *Node) removeServer(id, why string) {
	if err := n.raft.RemoveServer(raft.ServerID(id), 0, n.cfg.WriteTimeout).Error(); err != nil {
		n.log.Warn("remove server failed", "server", id, "err", err)
		return
	}
	n.log.Info("removed server", "server", id, "reason", why)
}
