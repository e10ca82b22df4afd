package cluster

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"time"
)

// Config configures a Node. The zero value of every duration means "use the
// default given in its comment"; DefaultConfig returns those defaults.
type Config struct {
	// ID is this server's id, unique in the cluster and stable across
	// restarts. Required.
	ID string
	// DataDir holds raft.db (log and stable store) and snapshots/. Required.
	DataDir string

	// ClusterBind is the host:port of the multiplexed cluster port (Raft and
	// peer RPC). Port 0 picks one. ClusterAdvertise is what peers dial; ""
	// means the bound address.
	ClusterBind, ClusterAdvertise string
	// GossipBind is the memberlist host:port (TCP and UDP). Port 0 picks one.
	// GossipAdvertise is what peers gossip to; "" means the bound address.
	GossipBind, GossipAdvertise string
	// HTTPAdvertise is the node's HTTP API address (host:port) as other
	// nodes and operators reach it; it is gossiped for `drover members`
	// and the dashboard. "" means not advertised.
	HTTPAdvertise string

	// Join is a list of gossip seed addresses, retried until one answers.
	Join []string
	// BootstrapExpect: once this many servers see each other and none has
	// Raft state, the one with the lowest id bootstraps them all as voters.
	// 0 never bootstraps (the node waits to be added). Ignored when the
	// node has Raft state.
	BootstrapExpect int
	// NonVoter keeps this server a non-voter forever.
	NonVoter bool
	// TLS enables mutual TLS on the cluster port. nil: plain TCP. Its
	// certificate must name this node (pki: drover://<cluster>/node/<ID>):
	// peers take a node's id from its certificate.
	TLS *tls.Config
	// ClusterID names the cluster (with TLS, the one in the CA: see
	// pki.ClusterIDOfCAFile; "" takes the node certificate's). It travels
	// in gossip metadata and in the hello of every cluster-port
	// connection; members and connections of another cluster are refused.
	ClusterID string
	// Insecure records that the agent runs without mTLS or a gossip key
	// by the operator's choice (--insecure); Status reports it.
	Insecure bool
	// GossipKey encrypts and authenticates gossip (memberlist's AES-GCM
	// keyring): 16, 24 or 32 bytes, the same on every server. A server
	// without it cannot join the member list. nil: gossip in the clear.
	GossipKey []byte

	// MaxVoters is the largest number of voters the reconcile loop promotes
	// to. 0 means 5.
	MaxVoters int
	// DeadServerTimeout is how long a server must be gone from gossip before
	// the leader removes it. 0 means 10 minutes.
	DeadServerTimeout time.Duration
	// MinQuorum is the number of voters dead-server removal never goes
	// below. 0 means 3.
	MinQuorum int
	// StaleAfter: a node that has not heard from a leader for longer reports
	// itself stale. 0 means 5 s.
	StaleAfter time.Duration
	// DiskStallTimeout: a log-store write that takes longer ends the
	// process. 0 means 30 s.
	DiskStallTimeout time.Duration
	// WriteTimeout bounds how long a write or consistent read holds and
	// retries while there is no leader. 0 means 10 s.
	WriteTimeout time.Duration

	// Raft timeouts. 0 means hashicorp/raft's defaults (1 s, 1 s, 500 ms).
	HeartbeatTimeout, ElectionTimeout, LeaderLeaseTimeout time.Duration
	// SnapshotThreshold is how many log entries trigger a snapshot. 0
	// means 8192. SnapshotInterval is how often the threshold is checked; 0
	// means 30 s. TrailingLogs kept after a snapshot; 0 means 10240.
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64

	// ReconcileInterval is the period of the leader's membership loop. 0
	// means 1 s. PromoteAfter is how long a caught-up non-voter must be
	// stable before it is promoted. 0 means 5 s.
	ReconcileInterval time.Duration
	PromoteAfter      time.Duration

	// WorkerTTL: the leader marks a ready or loading worker lost when no
	// report of it arrived for this long. 0 means 30 s (Vast's idle workers
	// report every 10 s).
	WorkerTTL time.Duration

	// Garbage collection of the replicated state (gc.go), run by the
	// leader every GCInterval (0 means 30 s): a finished intent is deleted
	// once it is IntentRetention old (0 means 1 h; at once when its group
	// is gone), a lost worker of a static group once the leader has seen it
	// lost for LostWorkerRetention (0 means 1 h; it registers again if it
	// comes back).
	GCInterval          time.Duration
	IntentRetention     time.Duration
	LostWorkerRetention time.Duration

	// QueueCap bounds the /route/ requests held (no worker had room) per
	// endpoint; a new request past it is refused. 0 means DefaultQueueCap
	// (10,000).
	QueueCap int

	// Scheduler configures the leader's scheduler loop (sched.go); its
	// zero value (no providers) runs none.
	Scheduler SchedulerConfig

	// OnFatal is called when the node must stop at once (disk stall). nil
	// means log and os.Exit(2).
	OnFatal func(reason string)
	// Logger receives structured logs. nil means slog.Default().
	Logger *slog.Logger
}

var (
	idPattern        = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,64}$`)
	clusterIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
)

// DefaultConfig returns a Config with every default filled in.
func DefaultConfig() Config {
	return Config{
		MaxVoters:           5,
		DeadServerTimeout:   10 * time.Minute,
		MinQuorum:           3,
		StaleAfter:          5 * time.Second,
		DiskStallTimeout:    30 * time.Second,
		WriteTimeout:        10 * time.Second,
		SnapshotThreshold:   8192,
		SnapshotInterval:    30 * time.Second,
		TrailingLogs:        10240,
		ReconcileInterval:   time.Second,
		PromoteAfter:        5 * time.Second,
		WorkerTTL:           30 * time.Second,
		GCInterval:          30 * time.Second,
		IntentRetention:     time.Hour,
		LostWorkerRetention: time.Hour,
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setDur(&c.DeadServerTimeout, d.DeadServerTimeout)
	setDur(&c.StaleAfter, d.StaleAfter)
	setDur(&c.DiskStallTimeout, d.DiskStallTimeout)
	setDur(&c.WriteTimeout, d.WriteTimeout)
	setDur(&c.SnapshotInterval, d.SnapshotInterval)
	setDur(&c.ReconcileInterval, d.ReconcileInterval)
	setDur(&c.PromoteAfter, d.PromoteAfter)
	setDur(&c.WorkerTTL, d.WorkerTTL)
	setDur(&c.GCInterval, d.GCInterval)
	setDur(&c.IntentRetention, d.IntentRetention)
	setDur(&c.LostWorkerRetention, d.LostWorkerRetention)
	if c.MaxVoters == 0 {
		c.MaxVoters = d.MaxVoters
	}
	if c.MinQuorum == 0 {
		c.MinQuorum = d.MinQuorum
	}
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = d.SnapshotThreshold
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = d.TrailingLogs
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	if !idPattern.MatchString(c.ID) {
		return fmt.Errorf("%w: id %q must match %s", ErrConfig, c.ID, idPattern)
	}
	if c.DataDir == "" {
		return fmt.Errorf("%w: data dir is required", ErrConfig)
	}
	for name, addr := range map[string]string{"cluster": c.ClusterBind, "gossip": c.GossipBind} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("%w: %s address %q: %v", ErrConfig, name, addr, err)
		}
	}
	if c.BootstrapExpect < 0 {
		return fmt.Errorf("%w: bootstrap-expect must be >= 0", ErrConfig)
	}
	if c.MaxVoters < 0 || c.MinQuorum < 0 {
		return fmt.Errorf("%w: max voters and min quorum must be >= 0", ErrConfig)
	}
	if c.WorkerTTL < 0 {
		return fmt.Errorf("%w: worker ttl must be >= 0", ErrConfig)
	}
	if c.GCInterval < 0 || c.IntentRetention < 0 || c.LostWorkerRetention < 0 {
		return fmt.Errorf("%w: gc interval and retentions must be >= 0", ErrConfig)
	}
	if c.QueueCap < 0 {
		return fmt.Errorf("%w: queue cap must be >= 0", ErrConfig)
	}
	if c.ClusterID != "" && !clusterIDPattern.MatchString(c.ClusterID) {
		return fmt.Errorf("%w: cluster id %q must match %s", ErrConfig, c.ClusterID, clusterIDPattern)
	}
	if n := len(c.GossipKey); n != 0 && n != 16 && n != 24 && n != 32 {
		return fmt.Errorf("%w: gossip key must be 16, 24 or 32 bytes, got %d", ErrConfig, n)
	}
	if c.NonVoter && c.BootstrapExpect > 0 {
		return fmt.Errorf("%w: a non-voter cannot bootstrap", ErrConfig)
	}
	return c.validateRaft()
}
