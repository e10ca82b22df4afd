package clustertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Status is a node's /v1/cluster answer.
type Status struct {
	ID            string   `json:"id"`
	State         string   `json:"state"`
	Leader        string   `json:"leader"`
	Term          uint64   `json:"term"`
	AppliedIndex  uint64   `json:"applied_index"`
	CommitIndex   uint64   `json:"commit_index"`
	Voters        []string `json:"voters"`
	Nonvoters     []string `json:"nonvoters"`
	LastContactMS int64    `json:"last_contact_ms"`
	Stale         bool     `json:"stale"`
	StateHash     string   `json:"state_hash"`
}

// Status fetches /v1/cluster; ok is false when the node does not answer.
func (n *Node) Status() (Status, bool) {
	var s Status
	if !n.Running() {
		return s, false
	}
	code, b := n.Do(http.MethodGet, "/v1/cluster", nil)
	if code != http.StatusOK || json.Unmarshal(b, &s) != nil {
		return s, false
	}
	return s, true
}

// WaitFor polls cond every 50 ms until it returns "" (success) or the
// timeout passes; then the test fails with cond's last complaint.
func (c *Cluster) WaitFor(timeout time.Duration, what string, cond func() string) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: not reached in %s: %s", what, timeout, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Running returns the nodes whose process is alive.
func (c *Cluster) Running() []*Node {
	var out []*Node
	for _, n := range c.Nodes {
		if n.Running() {
			out = append(out, n)
		}
	}
	return out
}

// WaitLeader waits until every running node names the same leader and
// that leader says it leads; it returns the leader.
func (c *Cluster) WaitLeader(timeout time.Duration) *Node {
	c.t.Helper()
	var leader *Node
	c.WaitFor(timeout, "a leader every node agrees on", func() string {
		leader = nil
		id := ""
		for _, n := range c.Running() {
			s, ok := n.Status()
			if !ok {
				return n.ID + " does not answer"
			}
			if s.Leader == "" {
				return n.ID + " has no leader"
			}
			if id != "" && s.Leader != id {
				return fmt.Sprintf("%s names %s, another names %s", n.ID, s.Leader, id)
			}
			id = s.Leader
		}
		for _, n := range c.Running() {
			if n.ID == id {
				if s, ok := n.Status(); ok && s.State == "leader" {
					leader = n
					return ""
				}
			}
		}
		return "leader " + id + " is not a running leader"
	})
	return leader
}

// WaitConverged waits until every running node has applied the same index
// with the same state hash.
func (c *Cluster) WaitConverged(timeout time.Duration) Status {
	c.t.Helper()
	var last Status
	c.WaitFor(timeout, "replicas converge", func() string {
		var first *Status
		for _, n := range c.Running() {
			s, ok := n.Status()
			if !ok {
				return n.ID + " does not answer"
			}
			if first == nil {
				first = &s
				continue
			}
			if s.AppliedIndex != first.AppliedIndex || s.StateHash != first.StateHash {
				return fmt.Sprintf("%s at %d/%.8s, %s at %d/%.8s", first.ID, first.AppliedIndex, first.StateHash, s.ID, s.AppliedIndex, s.StateHash)
			}
		}
		if first == nil {
			return "no node running"
		}
		last = *first
		return ""
	})
	return last
}

// Node returns the node with the given id.
func (c *Cluster) Node(id string) *Node {
	for _, n := range c.Nodes {
		if n.ID == id {
			return n
		}
	}
	return nil
}
