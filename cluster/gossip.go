package cluster

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// memberMeta is what every server gossips about itself.
type memberMeta struct {
	ID           string `json:"id"`
	Cluster      string `json:"cluster_id"`
	ClusterAddr  string `json:"cluster"`
	HTTPAddr     string `json:"http,omitempty"` // where its HTTP API answers (the dashboard asks it)
	NonVoter     bool   `json:"nonvoter,omitempty"`
	Bootstrapped bool   `json:"bootstrapped,omitempty"` // has Raft state
	Expect       int    `json:"expect,omitempty"`
}

// member is a live server seen through gossip.
type member struct {
	memberMeta
	GossipAddr string
}

// gossip wraps memberlist: this node's metadata and the live members.
type gossip struct {
	ml      *memberlist.Memberlist
	meta    atomic.Pointer[memberMeta]
	events  *eventDelegate
	address string // advertised gossip address, read once (LocalNode races with UpdateNode)
}

// metaDelegate serves the node's metadata to memberlist.
type metaDelegate struct{ g *gossip }

func (d metaDelegate) NodeMeta(limit int) []byte {
	b, _ := json.Marshal(d.g.meta.Load())
	if len(b) > limit {
		return nil
	}
	return b
}
func (metaDelegate) NotifyMsg([]byte)                           {}
func (metaDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (metaDelegate) LocalState(join bool) []byte                { return nil }
func (metaDelegate) MergeRemoteState(buf []byte, join bool)     {}

// deadNodeReclaim: see startGossip.
const deadNodeReclaim = 5 * time.Second

// startGossip creates the memberlist on cfg.GossipBind. events, if not
// nil, receives a value (non-blocking) on every membership change.
func startGossip(cfg Config, meta memberMeta, events chan<- struct{}, logw io.Writer, lg *slog.Logger) (*gossip, error) {
	g := &gossip{}
	g.meta.Store(&meta)
	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.ID
	host, port, err := splitHostPort(cfg.GossipBind)
	if err != nil {
		return nil, err
	}
	mc.BindAddr, mc.BindPort = host, port
	if cfg.GossipAdvertise != "" {
		ah, ap, err := splitHostPort(cfg.GossipAdvertise)
		if err != nil {
			return nil, err
		}
		mc.AdvertiseAddr, mc.AdvertisePort = ah, ap
	}
	if len(cfg.GossipKey) > 0 {
		mc.SecretKey = cfg.GossipKey
		mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = true, true
	}
	// A dead or departed server's name may be taken by a new address
	// after this long (a node restarted elsewhere, or back after a rogue
	// squatted its name): safe because the cluster port checks every
	// claim against its certificate before Raft uses it.
	mc.DeadNodeReclaimTime = deadNodeReclaim
	mc.Delegate = metaDelegate{g}
	guard := &clusterGuard{cluster: meta.Cluster, log: lg}
	mc.Alive, mc.Merge = guard, guard
	g.events = &eventDelegate{ch: events, live: map[string]member{}, cluster: meta.Cluster}
	mc.Events = g.events
	mc.Logger = log.New(logw, "", 0)
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("cluster: gossip on %s: %w", cfg.GossipBind, err)
	}
	g.ml = ml
	g.address = ml.LocalNode().Address()
	return g, nil
}

// setBootstrapped marks this node as having Raft state and spreads it.
func (g *gossip) setBootstrapped() {
	m := *g.meta.Load()
	if m.Bootstrapped {
		return
	}
	m.Bootstrapped = true
	g.meta.Store(&m)
	_ = g.ml.UpdateNode(time.Second)
}

// members returns the live servers (alive or suspect) with decodable meta.
// It reads the copy kept by the event delegate: memberlist's own Node
// values change under its lock, so reading them from Members() races.
func (g *gossip) members() []member {
	return g.events.members()
}

// addr is the gossip address peers use for this node.
func (g *gossip) addr() string {
	return g.address
}

// joinLoop joins the seeds, retrying every second until one answers, and
// afterwards every 10 s rejoins when a seed has dropped out of the member
// list (memberlist does not reconnect to nodes it declared dead long ago,
// so a long partition would otherwise never heal in gossip).
func (g *gossip) joinLoop(seeds []string, self string, stop <-chan struct{}, lg interface {
	Info(string, ...any)
}) {
	var peers []string
	for _, s := range seeds {
		if s != "" && s != self {
			peers = append(peers, s)
		}
	}
	if len(peers) == 0 {
		return
	}
	joined := false
	for {
		wait := time.Second
		if joined {
			wait = 10 * time.Second
		}
		if !joined || g.ml.NumMembers() <= len(peers) {
			if n, err := g.ml.Join(peers); err == nil && n > 0 {
				if !joined {
					lg.Info("joined gossip", "contacted", n)
				}
				joined = true
			}
		}
		select {
		case <-stop:
			return
		case <-time.After(wait):
		}
	}
}

func (g *gossip) leave() {
	_ = g.ml.Leave(time.Second)
	_ = g.ml.Shutdown()
}

// eventDelegate keeps a copy of the live members (memberlist calls it
// with its lock held, so the Node it passes is safe to read there) and
// turns membership changes into a wake-up signal.
type eventDelegate struct {
	ch      chan<- struct{}
	cluster string
	mu      sync.Mutex
	live    map[string]member
}

func (e *eventDelegate) put(n *memberlist.Node) {
	var m memberMeta
	if json.Unmarshal(n.Meta, &m) != nil || m.ID == "" || m.Cluster != e.cluster {
		return
	}
	e.mu.Lock()
	e.live[n.Name] = member{memberMeta: m, GossipAddr: n.Address()}
	e.mu.Unlock()
}

func (e *eventDelegate) drop(n *memberlist.Node) {
	e.mu.Lock()
	delete(e.live, n.Name)
	e.mu.Unlock()
}

func (e *eventDelegate) members() []member {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]member, 0, len(e.live))
	for _, m := range e.live {
		out = append(out, m)
	}
	return out
}

func (e *eventDelegate) signal() {
	if e.ch == nil {
		return
	}
	select {
	case e.ch <- struct{}{}:
	default:
	}
}
func (e *eventDelegate) NotifyJoin(n *memberlist.Node)   { e.put(n); e.signal() }
func (e *eventDelegate) NotifyLeave(n *memberlist.Node)  { e.drop(n); e.signal() }
func (e *eventDelegate) NotifyUpdate(n *memberlist.Node) { e.put(n); e.signal() }

func splitHostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%w: address %q: %v", ErrConfig, addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("%w: port in %q: %v", ErrConfig, addr, err)
	}
	return h, port, nil
}

// clusterGuard keeps members of other clusters out of the member list:
// memberlist asks it about every node it hears of (alive messages) and
// about every state exchange on join (merge). A refused join fails on the
// joiner's side, which logs the same reason (its guard refuses ours).
type clusterGuard struct {
	cluster string
	log     *slog.Logger
	logged  onceEvery
}

// check reports why a gossiped node may not be a member, or nil.
func (g *clusterGuard) check(n *memberlist.Node) error {
	var m memberMeta
	if err := json.Unmarshal(n.Meta, &m); err != nil || m.ID == "" {
		return fmt.Errorf("gossip member %q at %s carries no drover metadata", n.Name, n.Address())
	}
	if m.Cluster != g.cluster {
		return fmt.Errorf("gossip member %q at %s is of cluster %q, this node of cluster %q", n.Name, n.Address(), m.Cluster, g.cluster)
	}
	if m.ID != n.Name {
		return fmt.Errorf("gossip member %q at %s calls itself %q in its metadata", n.Name, n.Address(), m.ID)
	}
	return nil
}

func (g *clusterGuard) refuse(err error) error {
	if g.logged.allow(err.Error()) {
		g.log.Warn("refusing gossip member", "reason", err.Error())
	}
	return err
}

// NotifyAlive implements memberlist.AliveDelegate.
func (g *clusterGuard) NotifyAlive(n *memberlist.Node) error {
	if err := g.check(n); err != nil {
		return g.refuse(err)
	}
	return nil
}

// NotifyMerge implements memberlist.MergeDelegate.
func (g *clusterGuard) NotifyMerge(peers []*memberlist.Node) error {
	for _, n := range peers {
		if err := g.check(n); err != nil {
			return g.refuse(err)
		}
	}
	return nil
}
