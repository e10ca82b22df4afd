package main

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestRaftStateMetric reads drover_raft_state from real nodes: the leader
// says Leader and a follower Follower (the node names its states in lower
// case, the metric's labels keep hashicorp/raft's spelling).
func TestRaftStateMetric(t *testing.T) {
	skipShort(t)
	c := startBenchCluster(t)
	for _, n := range c.nodes {
		want := `drover_raft_state{state="Follower"} 1`
		if n.node.Status().State == "leader" {
			want = `drover_raft_state{state="Leader"} 1`
		}
		status, body, err := n.client.Get(nil, "http://"+n.addr+"/metrics")
		if err != nil || status != fasthttp.StatusOK {
			t.Fatalf("GET /metrics on %s = %d, %v", n.addr, status, err)
		}
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("/metrics on %s (state %s) lacks %q", n.addr, n.node.Status().State, want)
		}
	}
}
