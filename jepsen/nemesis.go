package jepsen

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"time"
)

// Nemesis kinds. Partitions and loss need isolated mode (namespaces).
const (
	NemPartitionLeader = "partition-leader"
	NemPartitionRandom = "partition-random"
	NemPartitionHalves = "partition-halves"
	NemPartitionBridge = "partition-bridge"
	NemPartitionRing   = "partition-ring" // majority rings, 5+ nodes
	NemPartitionOneWay = "partition-oneway"
	NemLoss            = "loss"
	NemKillOne         = "kill-one"
	NemKillLeader      = "kill-leader"
	NemKillMinority    = "kill-minority"
	NemKillAll         = "kill-all"
	NemPauseLeader     = "pause-leader"
	NemMemberAdd       = "member-add"
	NemMemberRejoin    = "member-rejoin" // remove, wipe, rejoin under a new id
)

// AllNemeses lists every kind, network ones first.
var AllNemeses = []string{
	NemPartitionLeader, NemPartitionRandom, NemPartitionHalves, NemPartitionBridge,
	NemPartitionRing, NemPartitionOneWay, NemLoss,
	NemKillOne, NemKillLeader, NemKillMinority, NemKillAll, NemPauseLeader,
	NemMemberAdd, NemMemberRejoin,
}

func needsNetwork(kind string) bool {
	switch kind {
	case NemPartitionLeader, NemPartitionRandom, NemPartitionHalves, NemPartitionBridge,
		NemPartitionRing, NemPartitionOneWay, NemLoss:
		return true
	}
	return false
}

// fault is an injected fault and how to undo it.
type fault struct {
	Kind   string
	Nodes  []string
	Detail string
	target *Node // the node singled out (isolated, paused), if any
	heal   func() error
}

// Nemesis injects faults into a cluster on a schedule drawn from rng.
type Nemesis struct {
	c     *Cluster
	h     *History
	rng   *rand.Rand
	kinds []string
	// Quiet and Hold bound the pause between faults and a fault's length.
	QuietMin, QuietMax, HoldMin, HoldMax time.Duration
	counts                               map[string]int
	skipped                              map[string]string
}

func newNemesis(c *Cluster, h *History, seed int64, kinds []string) *Nemesis {
	return &Nemesis{c: c, h: h, rng: rand.New(rand.NewSource(seed)), kinds: kinds,
		QuietMin: 2 * time.Second, QuietMax: 4 * time.Second,
		HoldMin: 4 * time.Second, HoldMax: 8 * time.Second,
		counts: map[string]int{}, skipped: map[string]string{}}
}

func (nm *Nemesis) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(nm.rng.Int63n(int64(hi-lo)))
}

// Run injects faults until ctx ends; the fault in force then is healed.
func (nm *Nemesis) Run(ctx context.Context) {
	for i := 0; ; i++ {
		if !sleepCtx(ctx, nm.between(nm.QuietMin, nm.QuietMax)) {
			return
		}
		kind := nm.kinds[nm.rng.Intn(len(nm.kinds))]
		hold := nm.between(nm.HoldMin, nm.HoldMax)
		if kind == NemPauseLeader && hold < 3*time.Second {
			hold = 3 * time.Second // past the election timeout (1 s)
		}
		f, err := nm.inject(kind)
		if err != nil {
			nm.h.Add(Op{Workload: "nemesis", Type: TypeInfo, F: kind, Phase: "start", Error: err.Error(), Process: -1})
			continue
		}
		nm.counts[kind]++
		nm.h.Add(Op{Workload: "nemesis", Type: TypeInfo, F: kind, Phase: "start", Nodes: f.Nodes, Detail: f.Detail, Process: -1})
		sleepCtx(ctx, hold)
		op := Op{Workload: "nemesis", Type: TypeInfo, F: kind, Phase: "stop", Nodes: f.Nodes, Process: -1}
		if f.heal != nil {
			if err := f.heal(); err != nil {
				op.Error = err.Error()
			}
		}
		nm.h.Add(op)
		if ctx.Err() != nil {
			return
		}
	}
}

// inject applies one fault of the given kind.
func (nm *Nemesis) inject(kind string) (*fault, error) {
	switch kind {
	case NemPartitionLeader, NemPartitionRandom, NemPartitionHalves, NemPartitionBridge,
		NemPartitionRing, NemPartitionOneWay:
		return nm.partition(kind)
	case NemLoss:
		return nm.loss()
	case NemKillOne, NemKillLeader, NemKillMinority, NemKillAll:
		return nm.kill(kind)
	case NemPauseLeader:
		return nm.pauseLeader()
	case NemMemberAdd:
		return nm.memberAdd()
	case NemMemberRejoin:
		return nm.memberRejoin()
	}
	return nil, fmt.Errorf("jepsen: unknown nemesis %q", kind)
}

// HealAll undoes every fault: rules flushed, paused nodes resumed, dead
// members restarted. It is recorded in the history.
func (nm *Nemesis) HealAll() error {
	var first error
	if nm.c.env.Isolated {
		first = nm.c.env.FlushRules()
	}
	for _, n := range nm.c.Nodes() {
		n.Resume()
		if !n.Running() {
			if err := nm.c.restart(n); err != nil && first == nil {
				first = err
			}
		}
	}
	op := Op{Workload: "nemesis", Type: TypeInfo, F: "heal-all", Phase: "stop", Process: -1}
	if first != nil {
		op.Error = first.Error()
	}
	nm.h.Add(op)
	return first
}

// pick returns k distinct members chosen by rng (in slot order).
func (nm *Nemesis) pick(k int) []*Node {
	nodes := nm.c.Nodes()
	nm.rng.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
	if k > len(nodes) {
		k = len(nodes)
	}
	out := nodes[:k]
	sort.Slice(out, func(i, j int) bool { return out[i].Slot.Index < out[j].Slot.Index })
	return out
}

func ids(nodes []*Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.ID
	}
	return out
}

// leaderOrRandom returns the current leader, or a random member if none.
func (nm *Nemesis) leaderOrRandom() (*Node, string) {
	if l := nm.c.Leader(); l != nil {
		return l, "leader"
	}
	return nm.pick(1)[0], "no leader found: random node"
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// known checks a kind name.
func (nm *Nemesis) known(kind string) (bool, error) {
	if has(AllNemeses, kind) {
		return true, nil
	}
	return false, fmt.Errorf("jepsen: unknown nemesis %q", kind)
}
