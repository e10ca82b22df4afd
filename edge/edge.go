package edge

import (
	"context"
	"errors"
	"io"

	"github.com/drover-io/drover/fsm"
)

// Replica is the node's local, possibly stale, copy of the replicated state.
type Replica interface {
	View() *fsm.View
}

// Writer proposes commands through Raft and returns one Result per command.
type Writer interface {
	Apply(ctx context.Context, cmds ...fsm.Command) ([]fsm.Result, error)
}

// Reader returns a View that reflects every write committed before the call.
type Reader interface {
	ConsistentRead(ctx context.Context) (*fsm.View, error)
}

// Cluster is the operator's view of and control over the Raft cluster.
type Cluster interface {
	Status() Status // never waits on Raft
	RemoveServer(ctx context.Context, id string) error
	SnapshotSave(ctx context.Context, w io.Writer) error
	SnapshotRestore(ctx context.Context, r io.Reader) error
}

// Status is one node's view of the cluster, answered by GET /v1/cluster.
type Status struct {
	ID            string   `json:"id"`
	State         string   `json:"state"`  // leader, follower, candidate, shutdown
	Leader        string   `json:"leader"` // "" when no leader is known
	Term          uint64   `json:"term"`
	AppliedIndex  uint64   `json:"applied_index"`
	CommitIndex   uint64   `json:"commit_index"`
	Voters        []string `json:"voters"`
	Nonvoters     []string `json:"nonvoters"`
	LastContactMS int64    `json:"last_contact_ms"` // since the last leader contact; 0 on the leader
	Stale         bool     `json:"stale"`
	StateHash     string   `json:"state_hash"`
	ClusterID     string   `json:"cluster_id"`
	// Insecure: the agent runs with --insecure (no mTLS or no gossip key
	// required); every status answer and drover_insecure say so.
	Insecure bool   `json:"insecure"`
	Refused  string `json:"refused,omitempty"` // the last reason a peer refused this node
}

// Sentinel errors.
var (
	ErrConfig      = errors.New("edge: invalid config")
	ErrNotServing  = errors.New("edge: server not serving")
	ErrAlreadyUsed = errors.New("edge: server already serving")
)

// unavailable is what cluster errors meaning "try later" implement.
type unavailable interface{ Unavailable() bool }

// isUnavailable reports whether err means "no quorum / no leader / try later".
func isUnavailable(err error) bool {
	var u unavailable
	if errors.As(err, &u) && u.Unavailable() {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
