package cluster

import (
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// minRaftTimeout is the shortest Raft timing raft.ValidateConfig accepts.
const minRaftTimeout = 5 * time.Millisecond

// raftConfig is the raft.Config the node runs with (without the notify
// channel and logger startRaft adds): raft's defaults, overridden by the
// non-zero settings of c.
func (c Config) raftConfig() *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(c.ID)
	if c.HeartbeatTimeout != 0 {
		rc.HeartbeatTimeout = c.HeartbeatTimeout
	}
	if c.ElectionTimeout != 0 {
		rc.ElectionTimeout = c.ElectionTimeout
	}
	if c.LeaderLeaseTimeout != 0 {
		rc.LeaderLeaseTimeout = c.LeaderLeaseTimeout
	}
	if c.SnapshotInterval != 0 {
		rc.SnapshotInterval = c.SnapshotInterval
	}
	rc.SnapshotThreshold = c.SnapshotThreshold
	rc.TrailingLogs = c.TrailingLogs
	return rc
}

// validateRaft checks the Raft settings, naming them as the agent's flags
// do and giving the values in effect (a setting left at 0 takes raft's
// default). Errors wrap ErrRaftConfig: a bad setting is never reported as
// a corrupt data directory.
func (c Config) validateRaft() error {
	rc := c.raftConfig()
	for _, s := range []struct {
		flag string
		v    time.Duration
	}{
		{"raft-heartbeat-timeout", c.HeartbeatTimeout},
		{"raft-election-timeout", c.ElectionTimeout},
		{"raft-leader-lease-timeout", c.LeaderLeaseTimeout},
		{"snapshot-interval", c.SnapshotInterval},
	} {
		if s.v != 0 && s.v < minRaftTimeout {
			return fmt.Errorf("%w: --%s %s: must be 0 (the default) or at least %s", ErrRaftConfig, s.flag, s.v, minRaftTimeout)
		}
	}
	if rc.LeaderLeaseTimeout > rc.HeartbeatTimeout {
		return fmt.Errorf("%w: --raft-leader-lease-timeout (%s) must not exceed --raft-heartbeat-timeout (%s)",
			ErrRaftConfig, rc.LeaderLeaseTimeout, rc.HeartbeatTimeout)
	}
	if rc.ElectionTimeout < rc.HeartbeatTimeout {
		return fmt.Errorf("%w: --raft-election-timeout (%s) must be at least --raft-heartbeat-timeout (%s)",
			ErrRaftConfig, rc.ElectionTimeout, rc.HeartbeatTimeout)
	}
	if err := raft.ValidateConfig(rc); err != nil {
		return fmt.Errorf("%w: %v", ErrRaftConfig, err)
	}
	return nil
}
