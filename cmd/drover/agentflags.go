package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/drover-io/drover/cluster"
)

// agentConfig is everything `drover agent` reads from flags, the config file
// and the environment, before any of it is opened or started.
type agentConfig struct {
	Cluster        cluster.Config
	HTTP           string // edge listen address
	TLSCert        string
	TLSKey         string
	TLSCA          string
	AdminTokenFile string
	GossipKeyFile  string
	Insecure       bool // run without mTLS or a gossip key (see security.go)
	ConfigFile     string
	LogLevel       string
	AddrFile       string // where to write the bound addresses once started
	NodeIndex      int    // low bits of reqnum/request_idx; -1: derived from the id
	Sched          schedFlags
}

// flagAliases maps an alternative flag name to the flag it sets.
var flagAliases = map[string]string{"advertise": "cluster-advertise"}

// agentFlagSet binds every agent flag to c; defaults come from
// cluster.DefaultConfig so that the node's and the flags' defaults are one.
func agentFlagSet(c *agentConfig, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("drover agent", flag.ContinueOnError)
	fs.SetOutput(out)
	cc := &c.Cluster
	host, _ := os.Hostname()
	fs.StringVar(&cc.ID, "id", host, "server id, unique in the cluster and stable across restarts (default: host name)")
	fs.StringVar(&cc.DataDir, "data-dir", "", "directory for the Raft log and snapshots (required)")
	fs.StringVar(&c.HTTP, "http", "127.0.0.1:7001", "HTTP listen address (console API, /v1/…)")
	fs.StringVar(&cc.ClusterBind, "cluster", "127.0.0.1:7101", "cluster (Raft + peer RPC) listen address")
	fs.StringVar(&cc.ClusterAdvertise, "cluster-advertise", "", "cluster address peers dial, when it differs from --cluster")
	fs.StringVar(&cc.ClusterAdvertise, "advertise", "", "alias of --cluster-advertise")
	fs.StringVar(&cc.GossipBind, "gossip", "127.0.0.1:7201", "gossip (memberlist, TCP+UDP) listen address")
	fs.StringVar(&cc.GossipAdvertise, "gossip-advertise", "", "gossip address peers use, when it differs from --gossip")
	fs.IntVar(&cc.BootstrapExpect, "bootstrap-expect", 0, "bootstrap a new cluster once this many servers see each other (0: never)")
	fs.Var((*commaList)(&cc.Join), "join", "comma-separated gossip addresses of other servers, retried until one answers")
	fs.BoolVar(&cc.NonVoter, "non-voter", false, "stay a Raft non-voter (replicates and serves, never votes)")
	fs.DurationVar(&cc.DeadServerTimeout, "dead-server-timeout", cc.DeadServerTimeout, "remove a server gone from gossip this long")
	fs.IntVar(&cc.MinQuorum, "min-quorum", cc.MinQuorum, "dead-server removal never shrinks the voters below this")
	fs.DurationVar(&cc.WorkerTTL, "worker-ttl", cc.WorkerTTL, "a worker with no report for this long is marked lost")
	fs.DurationVar(&cc.LostWorkerRetention, "lost-worker-retention", cc.LostWorkerRetention, "a static group's worker lost this long is deleted from the replicated state (it registers again if it returns)")
	fs.DurationVar(&cc.IntentRetention, "intent-retention", cc.IntentRetention, "a finished scheduler intent this old is deleted from the replicated state (at once when its group is gone)")
	fs.IntVar(&cc.QueueCap, "queue-cap", cluster.DefaultQueueCap, "/route/ requests held per endpoint while no worker has room; a new one past it gets 429")
	fs.IntVar(&c.NodeIndex, "node-index", -1, "0…1023, unique per node: the low bits of every reqnum and request_idx it issues (default: the number at the end of --id, else a hash of it)")
	fs.DurationVar(&cc.StaleAfter, "stale-after", cc.StaleAfter, "report stale after this long without leader contact")
	fs.DurationVar(&cc.DiskStallTimeout, "disk-stall-timeout", cc.DiskStallTimeout, "exit when a log write stalls this long")
	fs.DurationVar(&cc.WriteTimeout, "write-timeout", cc.WriteTimeout, "how long writes hold and retry while there is no leader")
	fs.DurationVar(&cc.HeartbeatTimeout, "raft-heartbeat-timeout", 0, "Raft heartbeat timeout (0: Raft's default)")
	fs.DurationVar(&cc.ElectionTimeout, "raft-election-timeout", 0, "Raft election timeout (0: Raft's default)")
	fs.DurationVar(&cc.LeaderLeaseTimeout, "raft-leader-lease-timeout", 0, "Raft leader lease timeout (0: Raft's default)")
	fs.Uint64Var(&cc.SnapshotThreshold, "snapshot-threshold", cc.SnapshotThreshold, "log entries between snapshots")
	fs.DurationVar(&cc.SnapshotInterval, "snapshot-interval", cc.SnapshotInterval, "how often the snapshot threshold is checked")
	fs.Uint64Var(&cc.TrailingLogs, "trailing-logs", cc.TrailingLogs, "log entries kept after a snapshot")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "node certificate (PEM) for mutual TLS between nodes")
	fs.StringVar(&c.TLSKey, "tls-key", "", "node private key (PEM)")
	fs.StringVar(&c.TLSCA, "tls-ca", "", "CA certificate (PEM) that signs every node certificate")
	fs.StringVar(&c.GossipKeyFile, "gossip-key-file", "", "file holding the base64 gossip encryption key (`drover keygen`), 16/24/32 bytes, the same on every server (default: $DROVER_GOSSIP_KEY)")
	fs.StringVar(&cc.ClusterID, "cluster-id", "", "the cluster's id (default: the one in the --tls-ca certificate, from `drover tls ca create`); peers of another cluster are refused")
	fs.BoolVar(&c.Insecure, "insecure", false, "start without mTLS on the cluster port or without a gossip key (refused otherwise, loopback included); every status answer and drover_insecure then say so. See docs/security.md")
	fs.StringVar(&c.AdminTokenFile, "admin-token-file", "", "file holding the admin token (default: $DROVER_ADMIN_TOKEN)")
	fs.StringVar(&c.ConfigFile, "config", "", "JSON file of flag values ({\"flag-name\": value}); command-line flags win")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.AddrFile, "addr-file", "", "once started, write the bound addresses as JSON {\"http\",\"cluster\",\"gossip\"} to this file (for port 0)")
	addSchedFlags(fs, &c.Sched)
	return fs
}

// parseAgentArgs parses the agent's command line and, with --config, its
// config file. Flags given on the command line override the file.
func parseAgentArgs(args []string, out io.Writer) (agentConfig, error) {
	c := agentConfig{Cluster: cluster.DefaultConfig()}
	fs := agentFlagSet(&c, out)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.ConfigFile != "" {
		if err := applyConfigFile(fs, c.ConfigFile); err != nil {
			return c, err
		}
	}
	if c.Cluster.DataDir == "" {
		return c, fmt.Errorf("--data-dir is required")
	}
	n := 0
	for _, f := range []string{c.TLSCert, c.TLSKey, c.TLSCA} {
		if f != "" {
			n++
		}
	}
	if n != 0 && n != 3 {
		return c, fmt.Errorf("--tls-cert, --tls-key and --tls-ca go together")
	}
	return c, nil
}

// commaList is a flag.Value of a comma-separated list; empty items are dropped.
type commaList []string

func (l *commaList) String() string { return strings.Join(*l, ",") }

func (l *commaList) Set(s string) error {
	*l = nil
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l = append(*l, item)
		}
	}
	return nil
}
