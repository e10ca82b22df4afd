package main

import (
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/drover-io/drover/scheduler/sim"
)

// runCells runs `drover sim --corpus` or `--sweep`: the corpus cells (or
// the one workload the flags name) with every policy's default, or with
// every policy's knob over its range.
func (f *simFlags) runCells(stdout, stderr io.Writer) int {
	cells, err := f.cellList()
	if err != nil {
		return cliFail(stderr, "sim", err)
	}
	variants := sim.Defaults(splitList(f.policies))
	if f.sweep {
		variants = sim.SweepVariants(splitList(f.policies))
	}
	started := time.Now()
	rep, err := sim.RunCorpus(cells, variants, stderr)
	if err != nil {
		return cliFail(stderr, "sim", err)
	}
	fmt.Fprintf(stderr, "%d cells × %d runs in %.1f s wall\n", len(cells), len(variants), time.Since(started).Seconds())
	if f.svg != "" {
		if err := writeFile(f.svg, func(w io.Writer) error { return sim.WriteFrontiers(w, rep) }); err != nil {
			return cliFail(stderr, "sim", err)
		}
	}
	switch {
	case f.asJSON:
		err = sim.WriteCorpusJSON(stdout, rep)
	case f.sweep:
		err = sim.WriteSweepTable(stdout, rep)
	default:
		err = sim.WriteCorpusTable(stdout, rep)
	}
	if err != nil {
		return cliFail(stderr, "sim", err)
	}
	return exitOK
}

// cellList is the corpus (--corpus, filtered by --short and --cells) or
// the single workload the flags describe, as one cell.
func (f *simFlags) cellList() ([]sim.Cell, error) {
	if !f.corpus {
		reqs, err := f.requests()
		if err != nil {
			return nil, err
		}
		cfg := f.cfg
		return []sim.Cell{{Name: f.name(), Group: "single", Reqs: reqs, Cfg: cfg}}, nil
	}
	o := sim.CorpusOptions{Seed: f.seed, Duration: f.duration, BaseRate: f.baseRate, MeanLoad: f.meanLoad,
		GenWeight: f.genWeight, Short: f.short}
	if f.cells != "" {
		re, err := regexp.Compile(f.cells)
		if err != nil {
			return nil, fmt.Errorf("--cells: %w", err)
		}
		o.Match = re
	}
	cells, err := sim.Corpus(o, f.cfg)
	if err == nil && len(cells) == 0 {
		err = fmt.Errorf("no corpus cell matches --cells %q", f.cells)
	}
	return cells, err
}

// name is the single workload's cell name.
func (f *simFlags) name() string {
	switch {
	case f.pattern != "":
		return f.pattern
	case f.workload != "":
		return f.workload
	case f.trace != "":
		return f.trace
	}
	return sim.DefaultTrace
}
