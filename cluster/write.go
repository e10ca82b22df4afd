package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/drover-io/drover/transport"
	"github.com/hashicorp/raft"
)

// maxEntryBytes keeps log entries well under the size at which raft's
// heartbeats and elections suffer.
const maxEntryBytes = 256 << 10

// Apply commits cmds and returns one Result per command. On a follower the
// commands are forwarded to the leader; while there is no leader the call
// holds and retries until ctx ends or WriteTimeout passes. Every command
// carries a request id (one is assigned if missing), so retrying after an
// ambiguous failure (ErrLeadershipLost, a lost connection) applies it at
// most once.
func (n *Node) Apply(ctx context.Context, cmds ...fsm.Command) ([]fsm.Result, error) {
	if len(cmds) == 0 {
		return nil, nil
	}
	for i := range cmds {
		if cmds[i].RequestID == (fsm.RequestID{}) {
			cmds[i].RequestID = fsm.NewRequestID()
		}
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.WriteTimeout)
	defer cancel()
	var lastErr error = ErrNoLeader
	for attempt := 0; ; attempt++ {
		res, err := n.applyOnce(ctx, cmds)
		if err == nil {
			return res, nil
		}
		if !isRetryable(err) {
			return nil, err
		}
		lastErr = err
		if err := sleepCtx(ctx, backoff(attempt)); err != nil {
			return nil, fmt.Errorf("%w (last error: %v)", ErrNoLeader, lastErr)
		}
	}
}

// applyOnce tries the write once, locally when leading, else at the
// leader.
func (n *Node) applyOnce(ctx context.Context, cmds []fsm.Command) ([]fsm.Result, error) {
	select {
	case <-n.stop:
		return nil, ErrShutdown
	default:
	}
	if n.raft.State() == raft.Leader {
		return n.batch.submit(ctx, cmds)
	}
	addr, leaderID := n.raft.LeaderWithID()
	if addr == "" {
		return nil, ErrNoLeader
	}
	b, err := n.mux.CallAs(ctx, string(addr), string(leaderID), rpcApply, fsm.EncodeBatch(cmds))
	if err != nil {
		return nil, remoteErr(err)
	}
	var res []fsm.Result
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("cluster: bad apply answer: %w", err)
	}
	return res, nil
}

// isRetryable: errors after which the same write may be sent again (it
// carries request ids, so a duplicate is applied once).
func isRetryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, ErrShutdown) {
		return true
	}
	if isUnavailable(err) {
		return true
	}
	var re *transport.RemoteError
	if errors.As(err, &re) {
		return false // the leader answered with a real error
	}
	return errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrNotLeader) ||
		errors.Is(err, raft.ErrEnqueueTimeout) || errors.Is(err, raft.ErrLeadershipTransferInProgress) ||
		errors.Is(err, raft.ErrRaftShutdown)
}

// remoteErr turns the leader's "not leader"-style answers back into the
// local sentinels so they are retried.
func remoteErr(err error) error {
	var re *transport.RemoteError
	if errors.As(err, &re) {
		for _, s := range []error{ErrNotLeader, ErrNoLeader, ErrNotReady, ErrNoQuorum, ErrShutdown, ErrStaleTerm, ErrLeadershipLost} {
			if re.Msg == s.Error() {
				return s
			}
		}
		return err
	}
	return fmt.Errorf("%w: %v", ErrNoLeader, err)
}

func backoff(attempt int) time.Duration {
	d := 20 * time.Millisecond << min(attempt, 4)
	return min(d, 300*time.Millisecond)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
