package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/drover-io/drover/transport"
)

// Who may do what on the cluster port. The transport has already checked,
// for every connection, that the peer is of this cluster and (with TLS)
// that its id is the one in its certificate. Then:
//   - Raft and overlay connections: servers only (no client certificate),
//     and never a server an operator removed;
//   - the status RPC: anyone of the cluster (a client certificate too);
//   - every other RPC (forwarded writes, read index, restore, decisions):
//     a server of the leader's Raft configuration, not removed. A peer
//     forwards what reached its own admin API; nobody else may ask.

// authorizeConn is the transport's Authorize hook.
func (n *Node) authorizeConn(p transport.Peer, kind byte) error {
	if kind == transport.KindRPC && !p.IsNode() {
		return nil // a client may ask the status RPC; handleRPC checks each call
	}
	if !p.IsNode() {
		return fmt.Errorf("%w: a %s certificate may not open a %s connection", ErrForbidden, p.Role, kindName(kind))
	}
	if n.View().RemovedServers[p.ID] {
		return fmt.Errorf("%w: server %q was removed from the cluster by an operator; it stays out until `drover cluster allow %s`", ErrForbidden, p.ID, p.ID)
	}
	return nil
}

func kindName(kind byte) string {
	switch kind {
	case transport.KindRaft:
		return "raft"
	case transport.KindOverlay:
		return "overlay"
	case transport.KindRPC:
		return "rpc"
	}
	return fmt.Sprintf("%q", kind)
}

// authorizeRPC decides whether the caller of ctx may call method.
func (n *Node) authorizeRPC(ctx context.Context, method string) error {
	if method == rpcStatus {
		return nil
	}
	p, ok := transport.PeerFromContext(ctx)
	if !ok {
		return fmt.Errorf("%w: rpc %s from an unknown peer", ErrForbidden, method)
	}
	if !p.IsNode() {
		return fmt.Errorf("%w: rpc %s: a %s certificate (%q) may only ask the status", ErrForbidden, method, p.Role, p.ID)
	}
	if n.View().RemovedServers[p.ID] {
		return fmt.Errorf("%w: rpc %s: server %q was removed by an operator", ErrForbidden, method, p.ID)
	}
	if !n.inConfiguration(p.ID) {
		return fmt.Errorf("%w: rpc %s: %q is not a server of this cluster's configuration", ErrForbidden, method, p.ID)
	}
	return nil
}

func (n *Node) inConfiguration(id string) bool {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == id {
			return true
		}
	}
	return false
}

// verifyServer checks that the server gossip says is id at addr really is
// node id of this cluster: it asks its status over the cluster port, where
// the answer comes from whoever holds the certificate of id (with TLS) and
// its status names id and this cluster. The reconcile loop and bootstrap
// never add, repoint or promote a server that fails it.
func (n *Node) verifyServer(ctx context.Context, id, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	b, err := n.mux.CallAs(ctx, addr, id, rpcStatus, nil)
	if err != nil {
		return err
	}
	var st Status
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("status of %s: %w", addr, err)
	}
	if st.ID != id || st.ClusterID != n.cfg.ClusterID {
		return fmt.Errorf("%s answers as %q of cluster %q", addr, st.ID, st.ClusterID)
	}
	return nil
}

// refuseServer logs (at most once per interval and reason) why server id
// is kept out of the configuration.
func (n *Node) refuseServer(id, addr string, why error) {
	if n.refusals.allow(id + "|" + addr + "|" + why.Error()) {
		n.log.Warn("refusing server", "server", id, "addr", addr, "reason", why.Error())
	}
}

// onceEvery lets one event per key through per 30 s.
type onceEvery struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (o *onceEvery) allow(key string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	if t, ok := o.last[key]; ok && now.Sub(t) < 30*time.Second {
		return false
	}
	if o.last == nil || len(o.last) > 256 {
		o.last = map[string]time.Time{}
	}
	o.last[key] = now
	return true
}
