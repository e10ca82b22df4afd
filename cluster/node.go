package cluster

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/drover-io/drover/transport"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// Node is one drover server: a Raft voter or non-voter with its gossip
// membership, write forwarding and read index.
type Node struct {
	cfg    Config
	log    *slog.Logger
	fsm    *fsm.FSM
	rfsm   *raftFSM
	stores *stores
	mux    *transport.Mux
	raft   *raft.Raft
	gossip *gossip
	batch  *batcher
	ovl    *Overlay
	// decisions is the scheduler's decision log, kept across leaderships
	// so that a node that leads again still shows its history.
	decisions *decisionLog

	// readyTerm is the term in which this node, as leader, finished its
	// barrier: consistent reads are served only when it equals the term.
	readyTerm    atomic.Uint64
	caughtUpOnce atomic.Bool // see CaughtUp; set by watchReplica
	stale        atomic.Bool // see Stale; kept by watchReplica
	leader       leaderState
	refusals     onceEvery         // rate-limits refusal logs
	bootVerified map[string]string // bootstrapLoop's verified members (id → cluster address)

	events   chan struct{} // membership changes wake the reconcile loop
	stop     chan struct{}
	wg       sync.WaitGroup
	shutOnce sync.Once
}

// New opens the data directory, starts the cluster port, Raft and gossip,
// and returns once they run. Bootstrap and join go on in the background.
func New(cfg Config) (*Node, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{
		cfg:       cfg,
		log:       cfg.Logger.With("node", cfg.ID),
		fsm:       fsm.New(),
		events:    make(chan struct{}, 1),
		decisions: newDecisionLog(cfg.Scheduler.withDefaults().DecisionsKept),
		stop:      make(chan struct{}),
	}
	n.rfsm = newRaftFSM(n.fsm)
	logw := &slogWriter{l: n.log}
	st, err := openStores(cfg.DataDir, logw)
	if err != nil {
		return nil, err
	}
	n.stores = st
	if err := n.startTransport(); err != nil {
		st.close()
		return nil, err
	}
	hasState, err := n.startRaft(logw)
	if err != nil {
		n.mux.Close()
		st.close()
		return nil, err
	}
	meta := memberMeta{ID: cfg.ID, Cluster: n.cfg.ClusterID, ClusterAddr: n.mux.Addr(), HTTPAddr: cfg.HTTPAdvertise, NonVoter: cfg.NonVoter, Bootstrapped: hasState, Expect: cfg.BootstrapExpect}
	n.gossip, err = startGossip(n.cfg, meta, n.events, logw, n.log)
	if err != nil {
		n.raft.Shutdown().Error()
		n.mux.Close()
		st.close()
		return nil, err
	}
	n.batch = newBatcher(n)
	n.ovl = newOverlay(overlayConfig{Self: cfg.ID, Mux: n.mux, Peers: n.overlayPeers, Logger: n.log, QueueCap: cfg.QueueCap})
	n.mux.ServeRPC(n.handleRPC)
	n.goLoop(func() { n.gossip.joinLoop(cfg.Join, n.gossip.addr(), n.stop, n.log) })
	if !hasState && cfg.BootstrapExpect > 0 {
		n.goLoop(n.bootstrapLoop)
	}
	n.goLoop(n.leaderLoop)
	n.goLoop(n.watchReplica)
	n.goLoop(func() { watchDisk(st.log, cfg.DiskStallTimeout, n.stop, n.fatal) })
	n.log.Info("node started", "cluster", n.mux.Addr(), "gossip", n.gossip.addr(), "has_state", hasState)
	return n, nil
}

func (n *Node) startTransport() error {
	mux, err := transport.Listen(transport.Config{
		Bind: n.cfg.ClusterBind, Advertise: n.cfg.ClusterAdvertise, TLS: n.cfg.TLS, Logger: n.log,
		ClusterID: n.cfg.ClusterID, NodeID: n.cfg.ID, Authorize: n.authorizeConn,
	})
	if err != nil {
		return fmt.Errorf("cluster: listen %s: %w", n.cfg.ClusterBind, err)
	}
	n.mux = mux
	if n.cfg.ClusterID == "" && n.cfg.TLS != nil { // taken from the certificate
		n.cfg.ClusterID = mux.ClusterID()
	}
	return nil
}

// startRaft builds the Raft instance; it reports whether the node already
// had Raft state (a restart).
func (n *Node) startRaft(logw io.Writer) (bool, error) {
	rc := n.cfg.raftConfig()
	notify := make(chan bool, 16)
	rc.NotifyCh = notify
	n.leader.notify = notify
	rc.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: logw})
	tr := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  transport.NewStreamLayer(n.mux),
		MaxPool: 3,
		Timeout: 10 * time.Second,
		Logger:  rc.Logger.Named("transport"),
	})
	hasState, err := raft.HasExistingState(n.stores.log, n.stores.bolt, n.stores.snaps)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrCorruptData, err)
	}
	if err := raft.ValidateConfig(rc); err != nil { // Config.Validate checked it already
		return false, fmt.Errorf("%w: %v", ErrRaftConfig, err)
	}
	r, err := raft.NewRaft(rc, n.rfsm, n.stores.log, n.stores.bolt, n.stores.snaps, tr)
	if err != nil {
		return false, fmt.Errorf("%w: start raft: %v", ErrCorruptData, err)
	}
	n.raft = r
	return hasState, nil
}

func (n *Node) goLoop(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// View is the local replica's current state; it never blocks.
func (n *Node) View() *fsm.View { return n.fsm.View() }

// Overlay is this node's soft-state load overlay (worker loads and the
// queue of held requests), streamed between nodes outside Raft.
func (n *Node) Overlay() *Overlay { return n.ovl }

// overlayPeers lists the other servers of the Raft configuration (id →
// cluster address) for the overlay's streams.
func (n *Node) overlayPeers() map[string]string {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return nil
	}
	out := map[string]string{}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) != n.cfg.ID {
			out[string(s.ID)] = string(s.Address)
		}
	}
	return out
}

// ID is this server's id.
func (n *Node) ID() string { return n.cfg.ID }

// ClusterAddr is the advertised cluster (Raft + RPC) address.
func (n *Node) ClusterAddr() string { return n.mux.Addr() }

// GossipAddr is the advertised gossip address.
func (n *Node) GossipAddr() string { return n.gossip.addr() }

// Shutdown stops the node cleanly: a leader hands leadership to another
// voter first. The node stays a member, so a restart rejoins.
func (n *Node) Shutdown() error {
	var err error
	n.shutOnce.Do(func() {
		if n.raft.State() == raft.Leader && n.voterCount() > 1 {
			if e := n.raft.LeadershipTransfer().Error(); e != nil {
				n.log.Warn("leadership transfer failed", "err", e)
			}
		}
		close(n.stop)
		n.gossip.leave()
		err = n.raft.Shutdown().Error()
		n.batch.close()
		n.ovl.close()
		n.mux.Close()
		n.wg.Wait()
		if e := n.stores.close(); err == nil {
			err = e
		}
		n.log.Info("node stopped")
	})
	return err
}

func (n *Node) voterCount() int {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return 0
	}
	c := 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			c++
		}
	}
	return c
}

func (n *Node) fatal(reason string) {
	if n.cfg.OnFatal != nil {
		n.cfg.OnFatal(reason)
		return
	}
	n.log.Error("fatal: stopping the process", "reason", reason)
	os.Exit(2)
}

// slogWriter turns the line-oriented logs of raft and memberlist into slog
// records.
type slogWriter struct{ l *slog.Logger }

func (w *slogWriter) Write(p []byte) (int, error) {
	msg := string(p)
	for len(msg) > 0 && (msg[len(msg)-1] == '\n' || msg[len(msg)-1] == '\r') {
		msg = msg[:len(msg)-1]
	}
	switch {
	case strings.Contains(msg, "[DEBUG]"), strings.Contains(msg, "[TRACE]"):
	case strings.Contains(msg, "[ERR"):
		w.l.Error(msg, "component", "lib")
	case strings.Contains(msg, "[WARN"):
		w.l.Warn(msg, "component", "lib")
	default:
		w.l.Info(msg, "component", "lib")
	}
	return len(p), nil
}
