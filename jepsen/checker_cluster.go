package jepsen

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Window is one fault, from its start to its stop (End 0: never stopped).
type Window struct {
	Kind       string
	Start, End int64
	Nodes      []string
	Detail     string
}

// FaultWindows pairs the nemesis start and stop ops of a history.
func FaultWindows(ops []Op) []Window {
	var out []Window
	open := map[string]int{}
	for _, op := range ops {
		if op.Workload != "nemesis" || op.Error != "" && op.Phase == "start" {
			continue
		}
		switch op.Phase {
		case "start":
			open[op.F] = len(out)
			out = append(out, Window{Kind: op.F, Start: op.Time, Nodes: op.Nodes, Detail: op.Detail})
		case "stop":
			if i, ok := open[op.F]; ok {
				out[i].End = op.Time
				delete(open, op.F)
			}
		}
	}
	return out
}

// inWindow reports whether t falls inside a fault window.
func inWindow(ws []Window, t int64) bool {
	for _, w := range ws {
		if t >= w.Start && (w.End == 0 || t <= w.End) {
			return true
		}
	}
	return false
}

// Monitor polls every member's /v1/cluster and remembers who claimed to
// lead in which term.
type Monitor struct {
	c       *Cluster
	mu      sync.Mutex
	leaders map[uint64]map[string]bool // term → ids in state leader
	samples int
}

func newMonitor(c *Cluster) *Monitor {
	return &Monitor{c: c, leaders: map[uint64]map[string]bool{}}
}

// Run polls every interval until ctx ends.
func (m *Monitor) Run(ctx context.Context, interval time.Duration) {
	for sleepCtx(ctx, interval) {
		var wg sync.WaitGroup
		for _, n := range m.c.Nodes() {
			wg.Add(1)
			go func(n *Node) {
				defer wg.Done()
				if s, ok := n.Status(time.Second); ok {
					m.record(s)
				}
			}(n)
		}
		wg.Wait()
	}
}

func (m *Monitor) record(s Status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples++
	if s.State != "leader" {
		return
	}
	if m.leaders[s.Term] == nil {
		m.leaders[s.Term] = map[string]bool{}
	}
	m.leaders[s.Term][s.ID] = true
}

// LeaderViolations lists the terms in which two nodes claimed leadership.
func (m *Monitor) LeaderViolations() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return leaderViolations(m.leaders)
}

func leaderViolations(leaders map[uint64]map[string]bool) []string {
	var out []string
	for term, set := range leaders {
		if len(set) > 1 {
			var idl []string
			for id := range set {
				idl = append(idl, id)
			}
			sort.Strings(idl)
			out = append(out, fmt.Sprintf("term %d has leaders %v", term, idl))
		}
	}
	sort.Strings(out)
	return out
}

// Converge waits until every member answers with the same applied_index
// and state_hash; it returns the last disagreement on timeout.
func Converge(c *Cluster, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	var why string
	for time.Since(start) < timeout {
		why = convergenceGap(c.Nodes())
		if why == "" {
			return time.Since(start), nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return time.Since(start), fmt.Errorf("jepsen: no convergence in %s: %s", timeout, why)
}

// convergenceGap returns "" when all nodes agree, else what differs.
func convergenceGap(nodes []*Node) string {
	var first Status
	for i, n := range nodes {
		s, ok := n.Status(2 * time.Second)
		if !ok {
			return n.ID + " does not answer"
		}
		if i == 0 {
			first = s
			continue
		}
		if s.AppliedIndex != first.AppliedIndex || s.StateHash != first.StateHash {
			return fmt.Sprintf("%s at %d/%.12s, %s at %d/%.12s", nodes[0].ID, first.AppliedIndex,
				first.StateHash, n.ID, s.AppliedIndex, s.StateHash)
		}
	}
	return ""
}

// Recover measures the time from now until a leader exists and a write
// through any member succeeds.
func Recover(c *Cluster, name string, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	for i := 0; time.Since(start) < timeout; i++ {
		if c.Leader() != nil {
			nodes := c.Nodes()
			n := nodes[i%len(nodes)]
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			a, _, _ := createEndpoint(ctx, n, fmt.Sprintf("%s-%d", name, i))
			cancel()
			if a.Type == TypeOK {
				return time.Since(start), nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start), fmt.Errorf("jepsen: no leader and successful write within %s of heal", timeout)
}
