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

const simUsage = `usage: drover sim [--trace NAME|FILE | --pattern NAME | --workload NAME | --corpus] [--sweep] [flags]

Replays a trace, a synthetic pattern or a generated workload (default: the
built-in azure-code trace) through the scheduler policies in virtual time
against the simulated fleet, and scores each policy. --corpus runs every
policy on every cell of the workload corpus (progress on stderr) and prints
one table and each policy's worst cell; --sweep runs each policy's knob over
its range instead and draws the cost/SLO frontiers (--svg).
`

// simFlags are `drover sim`'s flags.
type simFlags struct {
	trace, pattern, workload      string
	policies, plot, cells, svg    string
	corpus, short, sweep          bool
	seed                          uint64
	speedup, rateScale, genWeight float64
	duration, baseRate, meanLoad  float64
	asJSON, verbose               bool
	cfg                           sim.Config
}

func newSimFlags(fs *flag.FlagSet) *simFlags {
	f := &simFlags{}
	d := sim.DefaultConfig()
	fs.StringVar(&f.trace, "trace", "", "trace: a built-in name ("+strings.Join(sim.TraceNames(), ", ")+") or a `FILE` (Azure CSV or Mooncake JSONL); default "+sim.DefaultTrace)
	fs.StringVar(&f.pattern, "pattern", "", "synthetic pattern: "+strings.Join(sim.PatternNames(), ", "))
	fs.StringVar(&f.workload, "workload", "", "generated workload: "+strings.Join(sim.WorkloadNames(), ", "))
	fs.BoolVar(&f.corpus, "corpus", false, "run every policy on every cell of the corpus")
	fs.BoolVar(&f.short, "short", false, "with --corpus or --sweep: the small subset of cells `make test` runs")
	fs.StringVar(&f.cells, "cells", "", "with --corpus or --sweep: only the cells whose name matches this `REGEXP`")
	fs.BoolVar(&f.sweep, "sweep", false, "run each policy's knob over its range (vast: target_util, cold_mult, min_load; drover: slo_target)")
	fs.StringVar(&f.svg, "svg", "", "with --sweep: draw the cost/SLO frontiers, one panel per cell, to `FILE.svg`")
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
	if wantsRouting(args) {
		return runSimRouting(args, stdout, stderr)
	}
	fs := flag.NewFlagSet("drover sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, simUsage); fs.PrintDefaults() }
	f := newSimFlags(fs)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if n := nonEmpty(f.trace, f.pattern, f.workload); n > 1 || (n > 0 && f.corpus) || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	f.cfg.Seed = f.seed
	if f.corpus || f.sweep {
		return f.runCells(stdout, stderr)
	}
	reqs, err := f.requests()
	if err != nil {
		return cliFail(stderr, "sim", err)
	}
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

// requests reads the trace or generates the pattern or workload, then
// time-scales it.
func (f *simFlags) requests() ([]sim.Request, error) {
	var reqs []sim.Request
	var err error
	switch {
	case f.pattern != "":
		reqs, err = sim.Pattern(f.pattern, f.duration, f.baseRate, f.meanLoad, f.seed)
	case f.workload != "":
		reqs, err = sim.Workload(f.workload, f.duration, f.baseRate, f.meanLoad, f.seed)
		f.cfg = sim.WorkloadConfig(f.workload, f.cfg)
	default:
		trace := f.trace
		if trace == "" {
			trace = sim.DefaultTrace
		}
		reqs, err = sim.LoadTrace(trace, f.genWeight)
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
	return writeFile(path, func(w io.Writer) error { return sim.WritePlot(w, reqs, res, cfg) })
}

// writeFile creates path and fills it with write.
func writeFile(path string, write func(io.Writer) error) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(file); err != nil {
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

func nonEmpty(ss ...string) int {
	n := 0
	for _, s := range ss {
		if s != "" {
			n++
		}
	}
	return n
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
