package cluster

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateRaftSettings(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name                       string
		heartbeat, election, lease time.Duration
		interval                   time.Duration
		wantFlag                   string // "" = valid
	}{
		{"defaults", 0, 0, 0, 0, ""},
		{"roomy", 1500 * ms, 1500 * ms, 1000 * ms, 0, ""},
		{"lease over heartbeat", 1000 * ms, 1000 * ms, 2000 * ms, 0, "--raft-leader-lease-timeout"},
		{"heartbeat under the default lease", 100 * ms, 100 * ms, 0, 0, "--raft-leader-lease-timeout"},
		{"election under heartbeat", 2000 * ms, 1000 * ms, 0, 0, "--raft-election-timeout"},
		{"negative heartbeat", -time.Second, 0, 0, 0, "--raft-heartbeat-timeout"},
		{"tiny lease", 0, 0, time.Millisecond, 0, "--raft-leader-lease-timeout"},
		{"tiny snapshot interval", 0, 0, 0, time.Microsecond, "--snapshot-interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig(t, "n1")
			c.HeartbeatTimeout, c.ElectionTimeout, c.LeaderLeaseTimeout = tt.heartbeat, tt.election, tt.lease
			if tt.interval != 0 {
				c.SnapshotInterval = tt.interval
			}
			err := c.Validate()
			if tt.wantFlag == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrRaftConfig) || errors.Is(err, ErrCorruptData) || !strings.Contains(err.Error(), tt.wantFlag) {
				t.Fatalf("Validate = %v, want ErrRaftConfig naming %s", err, tt.wantFlag)
			}
		})
	}
}
