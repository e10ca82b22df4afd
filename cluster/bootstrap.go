package cluster

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/raft"
)

// bootstrapLoop waits until BootstrapExpect voting servers see each other
// through gossip with none of them holding Raft state; then the one with
// the lowest id bootstraps all of them as voters. Every other node waits to
// be reached by the new leader. It ends once the cluster has a leader or a
// peer reports Raft state.
func (n *Node) bootstrapLoop() {
	n.bootVerified = map[string]string{}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-tick.C:
		}
		if done := n.tryBootstrap(); done {
			return
		}
	}
}

// tryBootstrap makes one bootstrap decision; true means there is nothing
// left to do.
func (n *Node) tryBootstrap() bool {
	if _, id := n.raft.LeaderWithID(); id != "" {
		return true
	}
	var voters []member
	for _, m := range n.gossip.members() {
		if m.Bootstrapped {
			return true // an existing cluster will add us
		}
		if !m.NonVoter && n.bootVerify(m) {
			voters = append(voters, m)
		}
	}
	if len(voters) < n.cfg.BootstrapExpect {
		return false
	}
	sort.Slice(voters, func(i, j int) bool { return voters[i].ID < voters[j].ID })
	voters = voters[:n.cfg.BootstrapExpect]
	if voters[0].ID != n.cfg.ID {
		return false // the lowest id bootstraps; keep watching until a leader appears
	}
	var conf raft.Configuration
	for _, m := range voters {
		conf.Servers = append(conf.Servers, raft.Server{
			Suffrage: raft.Voter, ID: raft.ServerID(m.ID), Address: raft.ServerAddress(m.ClusterAddr),
		})
	}
	if err := n.raft.BootstrapCluster(conf).Error(); err != nil {
		n.log.Warn("bootstrap failed", "err", err)
		return err == raft.ErrCantBootstrap
	}
	n.log.Info("bootstrapped cluster", "voters", len(conf.Servers))
	n.gossip.setBootstrapped()
	return true
}

// bootVerify reports whether the member's claim (its id at its cluster
// address) is backed by its certificate; a member that fails is neither
// counted nor bootstrapped with. Successes are remembered (bootstrapLoop's
// goroutine alone uses the cache).
func (n *Node) bootVerify(m member) bool {
	if m.ID == n.cfg.ID || n.bootVerified[m.ID] == m.ClusterAddr {
		return true
	}
	if err := n.verifyServer(context.Background(), m.ID, m.ClusterAddr); err != nil {
		n.refuseServer(m.ID, m.ClusterAddr, fmt.Errorf("not bootstrapping with it: %w", err))
		return false
	}
	n.bootVerified[m.ID] = m.ClusterAddr
	return true
}
