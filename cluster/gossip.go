package cluster

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// memberMeta is what every server gossips about itself.
type memberMeta struct {
	ID           string `json:"id"`
	ClusterAddr  string `json:"cluster"`
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
	ml   *memberlist.Memberlist
	meta atomic.Pointer[memberMeta]
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

// startGossip creates the memberlist on cfg.GossipBind. events, if not
// nil, receives a value (non-blocking) on every membership change.
func startGossip(cfg Config, meta memberMeta, events chan<- struct{}, logw io.Writer) (*gossip, error) {
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
	mc.Delegate = metaDelegate{g}
	mc.Events = &eventDelegate{ch: events}
	mc.Logger = log.New(logw, "", 0)
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("cluster: gossip on %s: %w", cfg.GossipBind, err)
	}
	g.ml = ml
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
func (g *gossip) members() []member {
	var out []member
	for _, n := range g.ml.Members() {
		var m memberMeta
		if json.Unmarshal(n.Meta, &m) != nil || m.ID == "" {
			continue
		}
		out = append(out, member{memberMeta: m, GossipAddr: n.Address()})
	}
	return out
}

// addr is the gossip address peers use for this node.
func (g *gossip) addr() string {
	return g.ml.LocalNode().Address()
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

// eventDelegate turns membership changes into a wake-up signal.
type eventDelegate struct{ ch chan<- struct{} }

func (e *eventDelegate) signal() {
	if e.ch == nil {
		return
	}
	select {
	case e.ch <- struct{}{}:
	default:
	}
}
func (e *eventDelegate) NotifyJoin(*memberlist.Node)   { e.signal() }
func (e *eventDelegate) NotifyLeave(*memberlist.Node)  { e.signal() }
func (e *eventDelegate) NotifyUpdate(*memberlist.Node) { e.signal() }

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
