package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/hashicorp/raft"
)

// maxRestoreBytes bounds a snapshot sent for restore (it travels in one
// peer RPC when the node is not the leader).
const maxRestoreBytes = 60 << 20

// RemoveServer removes server id from the cluster by hand. The id is
// recorded in the replicated state and stays out: to come back, the server
// must be wiped and join under a new id (reusing an id with a wiped log
// would let it vote twice in one term). The call returns once the leader
// has taken it out of the Raft configuration.
func (n *Node) RemoveServer(ctx context.Context, id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("%w: bad server id %q", ErrConfig, id)
	}
	cmd, err := fsm.NewCommand(fsm.CmdRemoveServer, fsm.NewRequestID(), fsm.RemoveServer{ID: id})
	if err != nil {
		return err
	}
	if _, err := n.Apply(ctx, cmd); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.WriteTimeout)
	defer cancel()
	for {
		voters, nonvoters := n.latestServers()
		if !contains(voters, id) && !contains(nonvoters, id) {
			return nil
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return fmt.Errorf("%w: %s is still in the configuration", ErrNoQuorum, id)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// SnapshotSave writes a consistent snapshot of the whole replicated state
// (the same zstd stream raft stores) to w.
func (n *Node) SnapshotSave(ctx context.Context, w io.Writer) error {
	if _, err := n.ConsistentRead(ctx); err != nil {
		return err
	}
	_, err := n.fsm.Snapshot().WriteTo(w)
	return err
}

// SnapshotRestore replaces the whole cluster state with the snapshot read
// from r (disaster recovery). The snapshot is validated before anything is
// touched; the leader installs it through raft, which ships it to every
// follower.
func (n *Node) SnapshotRestore(ctx context.Context, r io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(r, maxRestoreBytes+1))
	if err != nil {
		return err
	}
	if len(data) > maxRestoreBytes {
		return fmt.Errorf("%w: snapshot over %d bytes", ErrTooLarge, maxRestoreBytes)
	}
	if err := fsm.New().Restore(bytes.NewReader(data)); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*n.cfg.WriteTimeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		err := n.restoreOnce(ctx, data)
		if err == nil || !isRetryable(err) {
			return err
		}
		if sleepCtx(ctx, backoff(attempt)) != nil {
			return fmt.Errorf("%w: restore: %v", ErrNoLeader, err)
		}
	}
}

func (n *Node) restoreOnce(ctx context.Context, data []byte) error {
	if n.raft.State() == raft.Leader {
		return n.restoreLocal(bytes.NewReader(data))
	}
	addr, leaderID := n.raft.LeaderWithID()
	if addr == "" {
		return ErrNoLeader
	}
	_, err := n.mux.CallAs(ctx, string(addr), string(leaderID), rpcRestore, data)
	if err != nil {
		return remoteErr(err)
	}
	return nil
}

// restoreLocal runs raft's user restore on the leader. The snapshot's own
// applied index is passed as its index: raft then continues the log above
// it, so indexes (and revisions) never go backwards.
func (n *Node) restoreLocal(r *bytes.Reader) error {
	scratch := fsm.New()
	if err := scratch.Restore(r); err != nil {
		return err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return err
	}
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Index: scratch.View().Index, Size: r.Size()}
	if err := n.raft.Restore(meta, r, 2*n.cfg.WriteTimeout); err != nil {
		return fmt.Errorf("cluster: restore: %w", err)
	}
	n.log.Info("restored snapshot", "index", meta.Index)
	return nil
}
