package cluster

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/hashicorp/raft"
)

// leaderState is the leader-only bookkeeping, rebuilt on every leadership
// change (it is never replicated).
type leaderState struct {
	notify <-chan bool
	// deadSince: when a server in the Raft configuration was first seen
	// missing from gossip by this leader.
	deadSince map[string]time.Time
	// stableSince: when a non-voter was first seen caught up by this leader.
	stableSince map[string]time.Time
}

// leaderLoop drains raft's leadership notifications (they must always be
// drained) and runs the leader's duties while this node leads.
func (n *Node) leaderLoop() {
	var cancel context.CancelFunc
	done := make(chan struct{})
	close(done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-n.stop:
			if cancel != nil {
				cancel()
			}
			<-done
			return
		case <-tick.C:
			if n.raft.LastIndex() > 0 {
				n.gossip.setBootstrapped()
			}
		case isLeader := <-n.leader.notify:
			if cancel != nil {
				cancel()
				cancel = nil
				<-done
			}
			if isLeader {
				var ctx context.Context
				ctx, cancel = context.WithCancel(context.Background())
				done = make(chan struct{})
				go func() {
					defer close(done)
					n.lead(ctx)
				}()
			}
		}
	}
}

// lead runs while this node is leader: a barrier so the FSM holds every
// committed entry (then consistent reads are allowed), the signing key, and
// the membership reconcile loop, and the worker lifecycle loop.
func (n *Node) lead(ctx context.Context) {
	term := n.raft.CurrentTerm()
	n.log.Info("became leader", "term", term)
	for {
		if err := n.raft.Barrier(n.cfg.WriteTimeout).Error(); err == nil {
			break
		} else if n.raft.State() != raft.Leader {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	n.readyTerm.Store(term)
	n.leader.deadSince = map[string]time.Time{}
	n.leader.stableSince = map[string]time.Time{}
	n.ensureSigningKey(ctx)
	lifecycleDone := make(chan struct{})
	go func() {
		defer close(lifecycleDone)
		n.lifecycleLoop(ctx)
	}()
	defer func() { <-lifecycleDone }()
	schedDone := make(chan struct{})
	go func() { defer close(schedDone); n.runScheduler(ctx, term) }()
	defer func() { <-schedDone }()
	gcDone := make(chan struct{})
	go func() { defer close(gcDone); n.gcLoop(ctx) }()
	defer func() { <-gcDone }()
	tick := time.NewTicker(n.cfg.ReconcileInterval)
	defer tick.Stop()
	for {
		n.reconcile(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-n.events:
		}
	}
}

// ensureSigningKey creates the cluster's RSA-2048 signing key once, at the
// first leadership of a new cluster. SetSigningKey is first-wins in the
// FSM, so a race between two leaders cannot replace a key.
func (n *Node) ensureSigningKey(ctx context.Context) {
	if n.View().SigningKey != nil {
		return
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		n.log.Error("generate signing key", "err", err)
		return
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		n.log.Error("marshal signing key", "err", err)
		return
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	cmd, err := fsm.NewCommand(fsm.CmdSetSigningKey, fsm.NewRequestID(), fsm.SetSigningKey{PEM: pemBytes})
	if err != nil {
		n.log.Error("signing key command", "err", err)
		return
	}
	if _, err := n.Apply(ctx, cmd); err != nil {
		n.log.Warn("store signing key", "err", err)
	}
}
