package jepsen

import (
	"context"
	"errors"
	"time"
)

// ErrNeedsIsolation: the scenario partitions nodes, which loopback mode
// cannot do.
var ErrNeedsIsolation = errors.New("jepsen: scenario needs network namespaces and iptables (root)")

// RunIsolatedLeaderReads is the scenario "isolate the leader, write
// through the majority, read through the isolated node": for cfg.Duration
// it alternates a write through a majority node and a consistent read
// through the old leader, then heals and checks the register history. A
// correct drover refuses those reads (503); one that answers them from its
// local replica fails the register checker.
func RunIsolatedLeaderReads(cfg Config) (*Results, error) {
	cfg.Nemeses, cfg.Workloads = []string{NemPartitionLeader}, []string{WorkRegister}
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	env, err := Setup(cfg.Nodes+cfg.Spare, 20*time.Minute)
	if err != nil {
		return nil, err
	}
	defer env.Close()
	if !env.Isolated {
		return nil, ErrNeedsIsolation
	}
	r := &runState{cfg: cfg, env: env, res: newResults()}
	stop := r.onSignal()
	defer stop()
	if err := r.prepare(); err != nil {
		r.abort()
		return r.res, err
	}
	defer r.c.stopAll()
	r.res.Nemeses = cfg.Nemeses
	r.reg = newRegister(r.c, r.h)
	r.reg.OpsPerKey = 1 << 30
	if err := r.reg.Setup(context.Background(), 1, r.tag); err != nil {
		r.abort()
		return r.res, err
	}
	r.mon = newMonitor(r.c)
	r.nem = newNemesis(r.c, r.h, cfg.Seed, cfg.Nemeses)
	if err := r.isolatedReads(); err != nil {
		r.abort()
		return r.res, err
	}
	r.check()
	return r.res, r.res.finish()
}

// isolatedReads runs the scenario's ops and heals.
func (r *runState) isolatedReads() error {
	f, err := r.nem.inject(NemPartitionLeader)
	if err != nil {
		return err
	}
	r.nem.counts[f.Kind]++
	r.h.Add(Op{Workload: "nemesis", Type: TypeInfo, F: f.Kind, Phase: "start", Nodes: f.Nodes, Detail: f.Detail, Process: -1})
	isolated := f.target
	var majority []*Node
	for _, n := range r.c.Nodes() {
		if n != isolated {
			majority = append(majority, n)
		}
	}
	k := r.reg.keys[0]
	revs := map[*regKey]uint64{}
	writer, reader := r.h.NewProcess(), r.h.NewProcess()
	deadline := time.Now().Add(r.cfg.Duration)
	for i := 0; time.Now().Before(deadline); i++ {
		if r.scenarioWrite(writer, majority[i%len(majority)], k, revs) == TypeInfo {
			writer = r.h.NewProcess()
		}
		r.scenarioRead(reader, isolated, k)
		time.Sleep(100 * time.Millisecond)
	}
	r.h.Add(Op{Workload: "nemesis", Type: TypeInfo, F: f.Kind, Phase: "stop", Nodes: f.Nodes, Process: -1})
	if err := r.nem.HealAll(); err != nil {
		r.res.violate("heal", err.Error())
	}
	rec, err := Recover(r.c, r.tag+"probe", r.cfg.HealBound)
	r.res.RecoveryS = round3(rec.Seconds())
	if err != nil {
		r.res.violate("recovery", err.Error())
	}
	conv, err := Converge(r.c, r.cfg.ConvergeBound)
	r.res.ConvergeS = round3(conv.Seconds())
	if err != nil {
		r.res.violate("convergence", err.Error())
	}
	return nil
}

func (r *runState) scenarioWrite(proc int, n *Node, k *regKey, revs map[*regKey]uint64) string {
	v := r.reg.values.Add(1)
	r.h.Add(Op{Workload: "register", Type: TypeInvoke, Process: proc, Node: n.ID, Key: k.Name, F: "write", Value: v})
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.ClientTimeout)
	defer cancel()
	a, rev := putMinLoad(ctx, n, k.ID, v, 0)
	r.h.Add(Op{Workload: "register", Type: a.Type, Process: proc, Node: n.ID, Key: k.Name, F: "write",
		Value: v, Rev: rev, Error: a.Error})
	return a.Type
}

func (r *runState) scenarioRead(proc int, n *Node, k *regKey) {
	r.h.Add(Op{Workload: "register", Type: TypeInvoke, Process: proc, Node: n.ID, Key: k.Name, F: "read"})
	// A short timeout: a correct isolated node never answers, and the
	// scenario wants many write/read rounds.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	a, e := getEndpoint(ctx, n, k.ID)
	done := Op{Workload: "register", Type: a.Type, Process: proc, Node: n.ID, Key: k.Name, F: "read", Error: a.Error}
	if a.Type == TypeOK {
		done.Value, done.Rev = int64(e.MinLoad), e.Revision
	}
	r.h.Add(done)
}
