package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/drover-io/drover/cluster"
	"github.com/drover-io/drover/edge"
	"github.com/drover-io/drover/scheduler"
	"github.com/drover-io/drover/scheduler/provider"
	execprov "github.com/drover-io/drover/scheduler/provider/exec"
	"github.com/drover-io/drover/scheduler/provider/process"
	"github.com/drover-io/drover/scheduler/provider/simserver"
)

// schedFlags are the agent's scheduler and provider flags. A provider is
// enabled by its flag; a group uses it by naming it in its "provider"
// field ("sim", "process", "exec"); other groups are static.
type schedFlags struct {
	Policy              string
	Tick                time.Duration
	Window, PoolWindow  time.Duration
	DrainTimeout        time.Duration
	ProviderTimeout     time.Duration
	ProviderSim         string
	ProviderDir         string
	ProviderReportAddr  string
	ProviderExec        string
	ProviderExecTimeout time.Duration
}

// addSchedFlags binds the scheduler flags to s.
func addSchedFlags(fs *flag.FlagSet, s *schedFlags) {
	fs.StringVar(&s.Policy, "scheduler-policy", "drover", "scaling policy: drover, vast or kpa")
	fs.DurationVar(&s.Tick, "scheduler-tick", time.Second, "period of the leader's scheduler loop")
	fs.DurationVar(&s.Window, "scheduler-window", 0, "load window of the drover policy, and how long a new leader holds scale-down (0: 300s)")
	fs.DurationVar(&s.PoolWindow, "scheduler-pool-window", 0, "how far back the drover policy's cold pool looks for the peak (0: 900s)")
	fs.DurationVar(&s.DrainTimeout, "scheduler-drain-timeout", 0, "longest wait for a draining worker's work before it is stopped (0: 60s)")
	fs.DurationVar(&s.ProviderTimeout, "provider-timeout", 30*time.Second, "bound on one provider call (create, start, stop, destroy, list)")
	fs.StringVar(&s.ProviderSim, "provider-sim", "", "address of a `drover sim-provider` serving the \"sim\" provider")
	fs.StringVar(&s.ProviderDir, "provider-dir", "", "state directory of the \"process\" provider (shared by every node on the host)")
	fs.StringVar(&s.ProviderReportAddr, "provider-report-addr", "", "comma list of node HTTP addresses process workers report to (default: this node's --http)")
	fs.StringVar(&s.ProviderExec, "provider-exec", "", "executable of the \"exec\" provider (see deploy/exec-provider.md)")
	fs.DurationVar(&s.ProviderExecTimeout, "provider-exec-timeout", time.Minute, "bound on one call of the exec provider")
}

// schedulerConfig builds the node's scheduler from the flags; httpAddr is
// the bound HTTP address (the process provider's default report address).
func schedulerConfig(s schedFlags, httpAddr string, logger *slog.Logger) (cluster.SchedulerConfig, error) {
	if _, err := scheduler.New(s.Policy, scheduler.Config{}); err != nil {
		return cluster.SchedulerConfig{}, fmt.Errorf("--scheduler-policy: %w", err)
	}
	cfg := cluster.SchedulerConfig{Providers: map[string]provider.Provider{}, Policy: s.Policy, Tick: s.Tick,
		ProviderTimeout: s.ProviderTimeout,
		Params:          scheduler.Config{Window: s.Window, PoolWindow: s.PoolWindow, DrainTimeout: s.DrainTimeout}}
	if s.ProviderSim != "" {
		cfg.Providers["sim"] = simserver.NewClient(s.ProviderSim)
	}
	if s.ProviderDir != "" {
		report := s.ProviderReportAddr
		if report == "" {
			report = httpAddr
		}
		var addrs []string
		for _, a := range strings.Split(report, ",") {
			if a = strings.TrimSpace(a); a != "" && !strings.Contains(a, "://") {
				a = "http://" + a
			}
			if a != "" {
				addrs = append(addrs, a)
			}
		}
		p, err := process.New(process.Config{Dir: s.ProviderDir, ReportAddrs: addrs, Logger: logger})
		if err != nil {
			return cfg, err
		}
		cfg.Providers["process"] = p
	}
	if s.ProviderExec != "" {
		p, err := execprov.New(execprov.Config{Path: s.ProviderExec, Timeout: s.ProviderExecTimeout})
		if err != nil {
			return cfg, err
		}
		cfg.Providers["exec"] = p
	}
	return cfg, nil
}

// edgeScheduler adapts *cluster.Node to edge.Scheduler.
type edgeScheduler struct{ *cluster.Node }

var _ edge.Scheduler = edgeScheduler{}

// Decisions implements edge.Scheduler.
func (s edgeScheduler) Decisions(ctx context.Context, endpointID uint64) (any, error) {
	return s.Node.Decisions(ctx, endpointID)
}

// WorkerAction implements edge.Scheduler.
func (s edgeScheduler) WorkerAction(ctx context.Context, id uint64, action string) (any, error) {
	return s.Node.WorkerAction(ctx, id, action)
}
