package jepsen

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// runState is one run in progress.
type runState struct {
	cfg   Config
	env   *Env
	c     *Cluster
	h     *History
	res   *Results
	reg   *Register
	set   *Set
	route *Route
	scale *Scale
	mon   *Monitor
	nem   *Nemesis
	tag   string // prefix of every name the run creates
}

// Run runs one cell: boots a cluster, runs the workloads under the
// nemeses for cfg.Duration, heals, checks, and writes the results.
func Run(cfg Config) (*Results, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	env, err := Setup(cfg.Nodes+cfg.Spare, 20*time.Minute)
	if err != nil {
		return nil, err
	}
	defer env.Close()
	r := &runState{cfg: cfg, env: env, res: newResults()}
	stop := r.onSignal()
	defer stop()
	if err := r.startProvider(); err != nil {
		return r.res, err
	}
	defer r.scale.Stop()
	if err := r.prepare(); err != nil {
		r.abort()
		return r.res, err
	}
	defer r.c.stopAll()
	if err := r.setupWorkloads(); err != nil {
		r.abort()
		return r.res, err
	}
	r.exercise()
	r.check()
	return r.res, r.res.finish()
}

// onSignal cleans up and exits on SIGINT/SIGTERM; the returned func stops
// watching.
func (r *runState) onSignal() func() {
	ch := make(chan os.Signal, 1)
	done := make(chan struct{})
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case sig := <-ch:
			fmt.Fprintf(os.Stderr, "jepsen: %s: cleaning up\n", sig)
			if r.c != nil {
				r.c.stopAll()
			}
			if r.h != nil {
				r.h.Close()
			}
			r.env.Close()
			os.Exit(130)
		case <-done:
		}
	}()
	return func() { signal.Stop(ch); close(done) }
}

// startProvider starts the shared sim-provider when the scale workload
// is asked for and the build has it; the nodes will point at it.
func (r *runState) startProvider() error {
	if !has(r.cfg.Workloads, WorkScale) || !simProviderExists(r.cfg.Bin) {
		return nil
	}
	sc, err := startSimProvider(r.env, r.cfg.Bin)
	if err != nil {
		return err
	}
	r.scale = sc
	r.cfg.NodeArgs = append(append([]string(nil), r.cfg.NodeArgs...), sc.NodeArgs()...)
	return nil
}

// prepare makes the output dir and history and boots the cluster.
func (r *runState) prepare() error {
	cfg := r.cfg
	res := r.res
	res.Run = fmt.Sprintf("%s-%s-n%d-s%d", time.Now().Format("20060102-150405"), cfg.Name, cfg.Nodes, cfg.Seed)
	res.Cell, res.Seed, res.Nodes = cfg.Name, cfg.Seed, cfg.Nodes
	res.Mode, res.ModeNote = "namespaces", ""
	if !r.env.Isolated {
		res.Mode, res.ModeNote = "loopback", r.env.Why
	}
	histPath := ""
	if cfg.OutRoot != "" {
		res.OutDir = filepath.Join(cfg.OutRoot, res.Run)
		if err := os.MkdirAll(res.OutDir, 0o755); err != nil {
			return err
		}
		histPath = filepath.Join(res.OutDir, "history.jsonl")
	}
	h, err := NewHistory(histPath)
	if err != nil {
		return err
	}
	r.h = h
	r.tag = fmt.Sprintf("j%d-", cfg.Seed%100000)
	r.c = newCluster(&r.cfg, r.env)
	cfg.Logf("jepsen %s: booting %d nodes (%s)", res.Run, cfg.Nodes, res.Mode)
	if err := r.c.boot(); err != nil {
		return fmt.Errorf("boot: %w", err)
	}
	return nil
}

// abort records a run that could not start and keeps its logs.
func (r *runState) abort() {
	if r.c != nil {
		r.c.stopAll()
		if r.res.OutDir != "" {
			r.c.copyLogs(r.res.OutDir)
		}
	}
	if r.h != nil {
		r.h.Close()
	}
	r.res.violate("setup", "the run could not start")
	r.res.finish()
}

// setupWorkloads decides which workloads run and prepares them.
func (r *runState) setupWorkloads() error {
	cfg := r.cfg
	for _, k := range cfg.Nemeses {
		if needsNetwork(k) && !r.env.Isolated {
			r.res.Skipped["nemesis "+k] = r.env.Why
		} else if k == NemPartitionRing && cfg.Nodes < 5 {
			r.res.Skipped["nemesis "+k] = "majority rings need 5 nodes"
		} else {
			r.res.Nemeses = append(r.res.Nemeses, k)
		}
	}
	for w, why := range r.absentFeatures() {
		if has(cfg.Workloads, w) {
			r.res.Skipped[w] = why
		}
	}
	if has(cfg.Workloads, WorkRegister) {
		r.reg = newRegister(r.c, r.h)
		clients := cfg.Nodes * cfg.ClientsPerNode
		nkeys := int(math.Ceil(cfg.Duration.Seconds()*float64(clients)*40/float64(r.reg.OpsPerKey))) + 4
		if err := r.reg.Setup(context.Background(), nkeys, r.tag); err != nil {
			return err
		}
	}
	if has(cfg.Workloads, WorkSet) {
		r.set = newSet(r.c, r.h, r.tag)
	}
	if r.scale != nil {
		if err := r.scale.Setup(context.Background(), r.c, r.h, r.tag); err != nil {
			return err
		}
	}
	if _, absent := r.res.Skipped[WorkRoute]; has(cfg.Workloads, WorkRoute) && !absent {
		r.route = newRoute(r.c, r.h, r.tag)
		if err := r.route.Setup(context.Background()); err != nil {
			return err
		}
	}
	return nil
}

// exercise runs clients, monitor and nemesis, then heals and measures
// recovery and convergence.
func (r *runState) exercise() {
	cfg := r.cfg
	r.mon = newMonitor(r.c)
	monCtx, monStop := context.WithCancel(context.Background())
	var monWG sync.WaitGroup
	monWG.Add(1)
	go func() { defer monWG.Done(); r.mon.Run(monCtx, 250*time.Millisecond) }()
	wlCtx, wlStop := context.WithCancel(context.Background())
	wg := r.startClients(wlCtx)
	r.nem = newNemesis(r.c, r.h, cfg.Seed, r.res.Nemeses)
	if len(r.res.Nemeses) > 0 {
		nemCtx, cancel := context.WithTimeout(context.Background(), cfg.Duration)
		r.nem.Run(nemCtx)
		cancel()
	} else {
		time.Sleep(cfg.Duration)
	}
	cfg.Logf("jepsen %s: healing", r.res.Run)
	if err := r.nem.HealAll(); err != nil {
		r.res.violate("heal", err.Error())
	}
	rec, err := Recover(r.c, r.tag+"probe", cfg.HealBound)
	r.res.RecoveryS = round3(rec.Seconds())
	if err != nil {
		r.res.violate("recovery", err.Error())
	}
	wlStop()
	wg.Wait()
	if r.set != nil {
		if err := r.set.FinalRead(cfg.HealBound); err != nil {
			r.res.Notes = append(r.res.Notes, err.Error())
		}
	}
	conv, err := Converge(r.c, cfg.ConvergeBound)
	r.res.ConvergeS = round3(conv.Seconds())
	if err != nil {
		r.res.violate("convergence", err.Error())
	}
	monStop()
	monWG.Wait()
}

func (r *runState) startClients(ctx context.Context) *sync.WaitGroup {
	var wg sync.WaitGroup
	seed := r.cfg.Seed * 1000
	if r.reg != nil {
		for i := 0; i < r.cfg.Nodes*r.cfg.ClientsPerNode; i++ {
			wg.Add(1)
			go func(s int64) { defer wg.Done(); r.reg.Client(ctx, s) }(seed + int64(i))
		}
	}
	if r.route != nil {
		wg.Add(2)
		go func() { defer wg.Done(); r.route.Report(ctx, time.Second) }()
		go func() { defer wg.Done(); r.route.Churn(ctx, 8*time.Second) }()
		for i := 0; i < r.cfg.Nodes; i++ {
			wg.Add(1)
			go func(s int64) { defer wg.Done(); r.route.Client(ctx, s) }(seed + 700 + int64(i))
		}
	}
	if r.scale != nil {
		wg.Add(2)
		go func() { defer wg.Done(); r.scale.Drive(ctx, seed+900, 5*time.Second) }()
		go func() { defer wg.Done(); r.scale.Sample(ctx, 500*time.Millisecond) }()
	}
	if r.set != nil {
		for i := 0; i < r.cfg.SetClients; i++ {
			wg.Add(1)
			go func(s int64) { defer wg.Done(); r.set.Client(ctx, s) }(seed + 500 + int64(i))
		}
	}
	return &wg
}
