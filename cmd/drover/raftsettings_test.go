package main

import (
	"bytes"
	"strings"
	"testing"
)

// Raft timings that cannot work together stop the agent with their own
// message and exit code, before anything is opened, never calling the data
// directory corrupt.
func TestAgentRefusesBadRaftSettings(t *testing.T) {
	tests := []struct {
		name, flag string
		args       []string
	}{
		{"lease over heartbeat", "--raft-leader-lease-timeout",
			[]string{"--raft-heartbeat-timeout=1s", "--raft-election-timeout=1s", "--raft-leader-lease-timeout=2s"}},
		{"election under heartbeat", "--raft-election-timeout",
			[]string{"--raft-heartbeat-timeout=2s", "--raft-election-timeout=1s", "--raft-leader-lease-timeout=1s"}},
		{"negative", "--raft-heartbeat-timeout", []string{"--raft-heartbeat-timeout=-1s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--id=n1", "--data-dir=" + t.TempDir(), "--http=127.0.0.1:0",
				"--cluster=127.0.0.1:0", "--gossip=127.0.0.1:0"}, tt.args...)
			var stderr bytes.Buffer
			code := runAgent(args, &stderr)
			out := stderr.String()
			if code != exitRaft || !strings.Contains(out, "invalid Raft settings") || !strings.Contains(out, tt.flag) ||
				strings.Contains(out, "corrupt") {
				t.Fatalf("agent %v: exit %d, stderr %q; want exit %d naming %s, not 'corrupt'", tt.args, code, out, exitRaft, tt.flag)
			}
		})
	}
}
