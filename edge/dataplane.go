package edge

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/drover-io/drover/fsm"
)

// Overlay is the node's soft-state load overlay (cmd wires node.Overlay()):
// worker load reports and the queue of held /route/ requests, shared with
// the other nodes outside Raft.
type Overlay interface {
	// Report merges one /worker_status/ report; true: a duplicate already counted.
	Report(r *fsm.LoadReport) bool
	// Load is the merged load of a worker, nil if unknown. Lock-free, no allocation.
	Load(workerID uint64) *fsm.WorkerLoad
	// Enqueue inserts or refreshes a held request and returns the stored
	// entry; false: a new request is refused, the endpoint's queue is full.
	Enqueue(e fsm.QueueEntry) (fsm.QueueEntry, bool)
	// QueueAhead reports whether the request is held, and how many held
	// requests of what summed cost are ahead of it (all of them when it is
	// not held). O(log n); no lock and no allocation when nothing is held.
	QueueAhead(endpointID, requestIdx uint64) (held bool, n int, cost float64)
	// Dequeue removes a held request (served or cancelled) everywhere.
	Dequeue(endpointID, requestIdx uint64)
	// Queue lists an endpoint's live entries sorted by Enqueued (O(n): for
	// /metrics, never for /route/).
	Queue(endpointID uint64) []fsm.QueueEntry
}

// freshnessReporter is optionally implemented by an Overlay: per peer node,
// the age of the last delta received from it (for /metrics).
type freshnessReporter interface {
	Freshness() map[string]time.Duration
}

// DataPlane configures the engine API (/route/, /worker_status/, …). Zero
// values select the documented defaults.
type DataPlane struct {
	// Overlay is the load overlay. Nil means none: routing ranks workers by
	// the load this node routed to them (never skipping one for
	// max_queue_time), reports are accepted and dropped, and requests that
	// find no ready worker are answered not-ready without being held.
	Overlay Overlay
	// NodeIndex (0…1023) is the low 10 bits of every reqnum and request_idx
	// this node issues, which makes them unique cluster-wide. Zero is valid
	// (a single node); every node of a cluster needs its own.
	NodeIndex int
	// NodeID stamps the queue entries this node creates; "" means
	// Cluster.Status().ID, read once.
	NodeID string
	// ReplayTimeout is how long a request with no ready worker is held when
	// the request does not say (replay_timeout); zero means 60s.
	ReplayTimeout time.Duration
	// TokenTTL is the lifetime of a drover_token; zero means 10 minutes.
	TokenTTL time.Duration
	// CaughtUp reports whether the replica has applied the leader's commit
	// index since the node started; while false /route/ answers the
	// not-ready form. Nil means always caught up.
	CaughtUp func() bool
	// Stale reports whether the node lost its leader (shown in /metrics).
	// While it is true, /route/ names only workers whose reports this node
	// has seen within Config.StaleAfter. It is called for every /route/, so
	// it must be cheap (an atomic load). nil: never stale for routing, and
	// /metrics uses Cluster.Status().Stale.
	Stale func() bool
	// Now is the clock; nil means time.Now (tests set it).
	Now func() time.Time
}

// Defaults of DataPlane.
const (
	DefaultReplayTimeout = 60 * time.Second
	DefaultTokenTTL      = 10 * time.Minute
	maxNodeIndex         = 1<<nodeBits - 1
	nodeBits             = 10
)

// validate reports a data-plane config that cannot work.
func (d DataPlane) validate() error {
	if d.NodeIndex < 0 || d.NodeIndex > maxNodeIndex {
		return fmt.Errorf("%w: node index %d outside 0…%d", ErrConfig, d.NodeIndex, maxNodeIndex)
	}
	if d.ReplayTimeout < 0 || d.TokenTTL < 0 {
		return fmt.Errorf("%w: negative data-plane duration", ErrConfig)
	}
	return nil
}

func (d DataPlane) withDefaults() DataPlane {
	setDur(&d.ReplayTimeout, DefaultReplayTimeout)
	setDur(&d.TokenTTL, DefaultTokenTTL)
	if d.Overlay == nil {
		d.Overlay = noOverlay{}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return d
}

// noOverlay is the Overlay of a node configured without one.
type noOverlay struct{}

func (noOverlay) Report(*fsm.LoadReport) bool                     { return false }
func (noOverlay) Load(uint64) *fsm.WorkerLoad                     { return nil }
func (noOverlay) Enqueue(e fsm.QueueEntry) (fsm.QueueEntry, bool) { return e, true }
func (noOverlay) QueueAhead(uint64, uint64) (bool, int, float64)  { return false, 0, 0 }
func (noOverlay) Dequeue(uint64, uint64)                          {}
func (noOverlay) Queue(uint64) []fsm.QueueEntry                   { return nil }

// idEpoch is the origin of the id counter's clock-based start (2025-01-01).
const idEpoch = 1735689600000 // unix milliseconds

// idGen issues reqnum and request_idx values: a per-node counter shifted
// left by nodeBits, with the node index in the low bits. The counter
// starts at 16 per millisecond since idEpoch, so a restarted node does not
// reissue numbers unless its previous run averaged over 16,000 per second
// for its whole life; values stay below 2^53 (exact in float64 JSON
// decoders) until about 2042.
type idGen struct {
	n    atomic.Uint64
	node uint64
}

func newIDGen(nodeIndex int, now time.Time) *idGen {
	g := &idGen{node: uint64(nodeIndex)}
	ms := now.UnixMilli() - idEpoch
	if ms < 0 {
		ms = 0
	}
	g.n.Store(uint64(ms) * 16)
	return g
}

func (g *idGen) next() uint64 { return g.n.Add(1)<<nodeBits | g.node }
