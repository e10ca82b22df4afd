package cluster

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/drover-io/drover/fsm"
	"github.com/drover-io/drover/transport"
	"github.com/hashicorp/raft"
)

// Peer RPC methods served on the cluster port.
const (
	rpcApply     = "apply"     // body: fsm batch; answer: JSON []fsm.Result (leader only)
	rpcReadIndex = "readindex" // answer: 8-byte big-endian index (leader only)
	rpcStatus    = "status"    // answer: JSON Status of the callee
	rpcRestore   = "restore"   // body: a snapshot stream (leader only)
)

// handleRPC serves peers. Leader-only methods answer ErrNotLeader on a
// follower, which the caller turns back into a retry.
func (n *Node) handleRPC(ctx context.Context, method string, body []byte) ([]byte, error) {
	if err := n.authorizeRPC(ctx, method); err != nil {
		p, _ := transport.PeerFromContext(ctx)
		if n.refusals.allow("rpc|" + p.ID + "|" + method) {
			n.log.Warn("refused a cluster rpc", "method", method, "peer", p.String(), "reason", err.Error())
		}
		return nil, err
	}
	switch method {
	case rpcStatus:
		return json.Marshal(n.Status())
	case rpcDecisions:
		return n.handleDecisionsRPC(body)
	case rpcApply, rpcReadIndex, rpcRestore:
	default:
		return nil, fmt.Errorf("cluster: unknown rpc method %q", method)
	}
	if n.raft.State() != raft.Leader {
		return nil, ErrNotLeader
	}
	switch method {
	case rpcApply:
		cmds, err := fsm.DecodeBatch(body)
		if err != nil {
			return nil, err
		}
		res, err := n.batch.submit(ctx, cmds)
		if err != nil {
			return nil, err
		}
		return json.Marshal(res)
	case rpcReadIndex:
		idx, err := n.leaderReadIndex()
		if err != nil {
			return nil, err
		}
		return binary.BigEndian.AppendUint64(nil, idx), nil
	default: // rpcRestore
		return nil, n.restoreLocal(bytes.NewReader(body))
	}
}
