package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/drover-io/drover/scheduler"
	"github.com/drover-io/drover/scheduler/sim"
)

const simUsage = `usage: drover sim (--trace FILE | --pattern NAME) [flags]

Replays a trace or a synthetic pattern through the scheduler policies in
virtual time against the simulated fleet, and scores each policy.
`

// simFlags are `drover sim`'s flags.
type simFlags struct {
	trace, pattern, policies, plot string
	seed                           uint64
	speedup, rateScale, genWeight  float64
	duration, baseRate, meanLoad   float64
	asJSON, verbose                bool
	cfg                            sim.Config
}

func newSimFlags(fs *flag.FlagSet) *simFlags {
	f := &simFlags{}
	d := sim.DefaultConfig()
	fs.StringVar(&f.trace, "trace", "", "trace `FILE` (TIMESTAMP,ContextTokens,GeneratedTokens)")
	fs.StringVar(&f.pattern, "pattern", "", "synthetic pattern: "+strings.Join(sim.PatternNames(), ", "))
	fs.StringVar(&f.policies, "policy", "vast,kpa,drover,oracle", "comma-separated policies to run")
	fs.StringVar(&f.plot, "plot", "", "write demand and ready capacity over time to `FILE.svg`")
	fs.Uint64Var(&f.seed, "seed", 1, "seed (patterns, --rate-scale, provider failures); the same for every policy")
	fs.Float64Var(&f.speedup, "speedup", 1, "divide arrival times by this (time-scale the workload)")
	fs.Float64Var(&f.rateScale, "rate-scale", 1, "multiply the arrival rate by this (copies or thins requests)")
	fs.Float64Var(&f.genWeight, "gen-weight", 10, "load = prompt tokens + this × generated tokens")
	fs.Float64Var(&f.duration, "duration", 3600, "pattern length in seconds")
	fs.Float64Var(&f.baseRate, "base-rate", 2.5, "pattern base rate in requests/s")
	fs.Float64Var(&f.meanLoad, "mean-load", 2300, "pattern mean request load")
	fs.BoolVar(&f.asJSON, "json", false, "print only the JSON result")
	fs.BoolVar(&f.verbose, "verbose", false, "print every plan with its reasons to stderr")
	fs.Float64Var(&f.cfg.Perf, "perf", d.Perf, "load/s one worker serves")
	fs.DurationVar(&f.cfg.CreateDelay, "create-time", d.CreateDelay, "create → ready (billed)")
	fs.DurationVar(&f.cfg.StartDelay, "start-time", d.StartDelay, "stopped → ready (billed)")
	fs.IntVar(&f.cfg.MaxWorkers, "max-workers", d.MaxWorkers, "the endpoint's max_workers")
	fs.Float64Var(&f.cfg.Price, "price", d.Price, "price per worker-second loading, ready or busy")
	fs.Float64Var(&f.cfg.StoppedPrice, "stopped-price", d.StoppedPrice, "price per worker-second stopped")
	fs.DurationVar(&f.cfg.SLO, "slo", d.SLO, "queue-wait target (and the endpoint's target_queue_time)")
	fs.DurationVar(&f.cfg.Bucket, "oracle-bucket", d.Bucket, "the oracle's bucket")
	fs.Float64Var(&f.cfg.CreateFail, "create-fail", 0, "share of creates that fail")
	fs.Float64Var(&f.cfg.CreateHang, "create-hang", 0, "share of creates that never finish")
	fs.Float64Var(&f.cfg.StartFail, "start-fail", 0, "share of starts that fail")
	return f
}

// runSim runs `drover sim`.
func runSim(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("drover sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, simUsage); fs.PrintDefaults() }
	f := newSimFlags(fs)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if (f.trace == "") == (f.pattern == "") || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	reqs, err := f.workload()
	if err != nil {
		return cliFail(stderr, "sim", err)
	}
	f.cfg.Seed = f.seed
	if f.verbose {
		f.cfg.OnPlan = func(p scheduler.Plan) { printPlan(stderr, p) }
	}
	started := time.Now()
	res, err := sim.Run(reqs, splitList(f.policies), f.cfg)
	if err != nil {
		return cliFail(stderr, "sim", err)
	}
	if f.plot != "" {
		if err := writePlot(f.plot, reqs, res, f.cfg); err != nil {
			return cliFail(stderr, "sim", err)
		}
	}
	if f.asJSON {
		if err := sim.WriteJSON(stdout, res); err != nil {
			return cliFail(stderr, "sim", err)
		}
		return exitOK
	}
	fmt.Fprintf(stdout, "%d requests over %.0f s, %d policies in %.1f s wall\n",
		len(reqs), reqs[len(reqs)-1].At, len(res), time.Since(started).Seconds())
	if err := sim.WriteTable(stdout, res); err != nil {
		return cliFail(stderr, "sim", err)
	}
	return exitOK
}

// workload reads the trace or generates the pattern, then time-scales it.
func (f *simFlags) workload() ([]sim.Request, error) {
	var reqs []sim.Request
	var err error
	if f.trace != "" {
		var file *os.File
		if file, err = os.Open(f.trace); err != nil {
			return nil, err
		}
		defer file.Close()
		reqs, err = sim.ReadTrace(file, f.genWeight)
	} else {
		reqs, err = sim.Pattern(f.pattern, f.duration, f.baseRate, f.meanLoad, f.seed)
	}
	if err != nil {
		return nil, err
	}
	reqs = sim.Transform(reqs, f.speedup, f.rateScale, f.seed)
	if len(reqs) == 0 {
		return nil, errors.New("empty workload")
	}
	return reqs, nil
}

func writePlot(path string, reqs []sim.Request, res []sim.Result, cfg sim.Config) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := sim.WritePlot(file, reqs, res, cfg); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

func printPlan(w io.Writer, p scheduler.Plan) {
	for _, a := range p.Actions {
		fmt.Fprintf(w, "%s %s %s\n", p.Now.Format("15:04:05"), p.Policy, a)
	}
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
