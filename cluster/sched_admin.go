package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/drover-io/drover/fsm"
)

// Worker actions an operator may take by hand.
const (
	ActionDrain   = "drain"
	ActionStop    = "stop"
	ActionDestroy = "destroy"
)

// WorkerActionResult is the answer of a manual worker action.
type WorkerActionResult struct {
	WorkerID  uint64 `json:"worker_id"`
	Action    string `json:"action"`
	IntentKey string `json:"intent_key,omitempty"`
	// State is the worker's state after a drain, else the intent's state:
	// done, failed, abandoned, or pending when it had not finished in time.
	State  string `json:"state"`
	Result string `json:"result,omitempty"`
}

// manualPoll is how often WorkerAction looks at its intent.
const manualPoll = 50 * time.Millisecond

// WorkerAction takes one worker out of service by hand. drain writes the
// draining state at once (no new routes; the scheduler stops it when its
// work is done). stop and destroy commit a manual intent through Raft
// (from any node); the leader of the intent's term executes it and this
// call waits for the result until ctx ends. A worker of a static group can
// only be drained. Errors wrap fsm.ErrNotFound or fsm.ErrInvalid, or are
// Unavailable.
func (n *Node) WorkerAction(ctx context.Context, id uint64, action string) (WorkerActionResult, error) {
	out := WorkerActionResult{WorkerID: id, Action: action}
	v := n.View()
	w := v.Workers[id]
	if w == nil {
		return out, fmt.Errorf("%w: no worker with id %d", fsm.ErrNotFound, id)
	}
	switch action {
	case ActionDrain:
		cmd := mustCommand(fsm.CmdSetWorkerState, fsm.SetWorkerState{ID: id, State: fsm.WorkerDraining, ErrorMsg: w.ErrorMsg})
		res, err := n.Apply(ctx, cmd)
		if err != nil {
			return out, err
		}
		if err := res[0].Err(); err != nil {
			return out, err
		}
		out.State = fsm.WorkerDraining
		return out, nil
	case ActionStop, ActionDestroy:
	default:
		return out, fmt.Errorf("%w: action must be drain, stop or destroy", fsm.ErrInvalid)
	}
	if g := v.Groups[w.GroupID]; g == nil || g.Provider == "" || g.Provider == "static" {
		return out, fmt.Errorf("%w: worker %d is in a static group: it can only be drained", fsm.ErrInvalid, id)
	}
	in := fsm.Intent{Key: manualPrefix + randomHex(16), Kind: action, EndpointID: w.EndpointID, GroupID: w.GroupID,
		WorkerID: id, InstanceID: w.InstanceID, Reason: "by hand: drover workers " + action, CreatedAt: seconds(time.Now())}
	res, err := n.Apply(ctx, mustCommand(fsm.CmdPutIntent, fsm.PutIntent{Intent: in}))
	if err != nil {
		return out, err
	}
	if err := res[0].Err(); err != nil {
		return out, err
	}
	out.IntentKey = in.Key
	return n.waitIntent(ctx, out)
}

// waitIntent polls the local replica until the intent is no longer
// pending or ctx ends (then it answers pending, not an error).
func (n *Node) waitIntent(ctx context.Context, out WorkerActionResult) (WorkerActionResult, error) {
	t := time.NewTicker(manualPoll)
	defer t.Stop()
	for {
		if in := n.View().Intents[out.IntentKey]; in != nil {
			out.State, out.Result = in.State, in.Result
			if in.State != fsm.IntentPending {
				return out, nil
			}
		}
		select {
		case <-ctx.Done():
			return out, nil
		case <-t.C:
		}
	}
}
