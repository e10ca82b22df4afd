package sim

import (
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"text/tabwriter"

	"github.com/drover-io/drover/fsm"
)

// Cell is one workload of the corpus: its requests and the fleet model it
// runs on.
type Cell struct {
	Name  string
	Group string // "trace", "pattern" or "generated"
	Reqs  []Request
	Cfg   Config
}

// CorpusOptions shape the corpus. Zero values: seed 1, 3,600 s patterns at
// 2.5 requests/s of mean load 2,300, generated tokens weighing 10.
type CorpusOptions struct {
	Seed                         uint64
	Duration, BaseRate, MeanLoad float64
	GenWeight                    float64
	// Short keeps a small subset (one cell of each kind of statistics),
	// with the long generated workloads cut to a third: the bounded
	// corpus `make test` runs.
	Short bool
	// Match, when set, keeps only the cells whose name it matches.
	Match *regexp.Regexp
}

func (o CorpusOptions) withDefaults() CorpusOptions {
	if o.Seed == 0 {
		o.Seed = 1
	}
	num := func(x *float64, v float64) {
		if *x <= 0 {
			*x = v
		}
	}
	num(&o.Duration, 3600)
	num(&o.BaseRate, 2.5)
	num(&o.MeanLoad, 2300)
	num(&o.GenWeight, 10)
	return o
}

// Corpus speedups and rate scales every synthetic pattern is run at.
var (
	CorpusSpeedups   = []float64{0.5, 1, 2, 4}
	CorpusRateScales = []float64{0.5, 1, 3}
)

// shortCells are the cells of the short corpus.
var shortCells = map[string]bool{
	"azure-code": true, "mooncake": true, "bursty x2 r3": true, "spike x1 r1": true,
	"diurnal x4 r0.5": true, "flash-crowd": true, "idle-gaps": true, "failures": true, "tenants": true,
}

// Corpus builds the workload corpus: the built-in traces, every synthetic
// pattern at every speedup × rate scale, and every generated workload,
// all on cfg's fleet model (the failures workload with its failure
// shares). It is deterministic for the options' seed.
func Corpus(o CorpusOptions, cfg Config) ([]Cell, error) {
	o = o.withDefaults()
	cfg.Seed = o.Seed
	var cells []Cell
	keep := func(name string) bool {
		return (!o.Short || shortCells[name]) && (o.Match == nil || o.Match.MatchString(name))
	}
	for _, name := range []string{"azure-code", "mooncake"} {
		if !keep(name) {
			continue
		}
		reqs, err := LoadTrace(name, o.GenWeight)
		if err != nil {
			return nil, err
		}
		cells = append(cells, Cell{Name: name, Group: "trace", Reqs: reqs, Cfg: cfg})
	}
	for _, p := range PatternNames() {
		for _, sp := range CorpusSpeedups {
			for _, rs := range CorpusRateScales {
				name := fmt.Sprintf("%s x%s r%s", p, fnum(sp), fnum(rs))
				if !keep(name) {
					continue
				}
				reqs, err := Pattern(p, o.Duration, o.BaseRate, o.MeanLoad, o.Seed)
				if err != nil {
					return nil, err
				}
				cells = append(cells, Cell{Name: name, Group: "pattern", Reqs: Transform(reqs, sp, rs, o.Seed), Cfg: cfg})
			}
		}
	}
	for _, w := range WorkloadNames() {
		if !keep(w) {
			continue
		}
		d := o.Duration
		if o.Short && (w == "idle-gaps" || w == "slow-ramp") {
			d /= 3
		}
		reqs, err := Workload(w, d, o.BaseRate, o.MeanLoad, o.Seed)
		if err != nil {
			return nil, err
		}
		cells = append(cells, Cell{Name: w, Group: "generated", Reqs: reqs, Cfg: WorkloadConfig(w, cfg)})
	}
	return cells, nil
}

func fnum(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// Variant is one policy with one setting of its knob.
type Variant struct {
	Policy string  `json:"policy"`
	Knob   string  `json:"knob,omitempty"` // "" = the endpoint's defaults
	Value  float64 `json:"value,omitempty"`
}

// Label names the variant in tables: the policy, and knob=value when set.
func (v Variant) Label() string {
	if v.Knob == "" {
		return v.Policy
	}
	return fmt.Sprintf("%s %s=%s", v.Policy, v.Knob, fnum(v.Value))
}

// apply sets the variant's knob on an endpoint.
func (v Variant) apply(e *fsm.Endpoint) error {
	switch v.Knob {
	case "":
	case "target_util":
		e.TargetUtil = v.Value
	case "cold_mult":
		e.ColdMult = v.Value
	case "min_load":
		e.MinLoad = v.Value
	case "slo_target":
		e.SLOTarget = v.Value
	default:
		return fmt.Errorf("sim: unknown knob %q", v.Knob)
	}
	return nil
}

// Defaults returns one default variant per policy name.
func Defaults(policies []string) []Variant {
	out := make([]Variant, len(policies))
	for i, p := range policies {
		out[i] = Variant{Policy: p}
	}
	return out
}

// CellResult is every variant's score on one cell.
type CellResult struct {
	Cell     string   `json:"cell"`
	Group    string   `json:"group"`
	Requests int      `json:"requests"`
	Results  []Scored `json:"results"`
}

// Scored is one variant's result.
type Scored struct {
	Variant
	Result
}

// by returns the default variant of a policy in the cell (ok false when it
// was not run).
func (c CellResult) by(policy string) (Result, bool) {
	for _, s := range c.Results {
		if s.Policy == policy && s.Knob == "" {
			return s.Result, true
		}
	}
	return Result{}, false
}

// Bound is the cost a policy may spend in the cell at vast's SLO
// attainment to count as dominating vast: max(0.5 × vast, oracle + ½ (vast −
// oracle)). ok is false unless vast and the oracle ran.
func (c CellResult) Bound() (float64, bool) {
	v, okv := c.by("vast")
	o, oko := c.by("oracle")
	if !okv || !oko {
		return 0, false
	}
	return math.Max(0.5*v.GPUSeconds, o.GPUSeconds+0.5*(v.GPUSeconds-o.GPUSeconds)), true
}

// Verdict is one default policy against vast on one cell.
type Verdict struct {
	Cell       string  `json:"cell"`
	Policy     string  `json:"policy"`
	GPUVsVast  float64 `json:"gpu_vs_vast"`  // GPU-seconds ÷ vast's
	GPUVsBound float64 `json:"gpu_vs_bound"` // GPU-seconds ÷ the bound (≤ 1 passes)
	SLOVsVast  float64 `json:"slo_vs_vast"`  // attainment − vast's (≥ 0 passes)
	Pass       bool    `json:"pass"`
}

// sloSlack absorbs float noise only: "never lower than vast" is meant.
const sloSlack = 1e-9

// Judge compares a default policy with vast in the cell.
func (c CellResult) Judge(policy string) (Verdict, bool) {
	r, ok := c.by(policy)
	v, okv := c.by("vast")
	bound, okb := c.Bound()
	if !ok || !okv || !okb || v.GPUSeconds <= 0 {
		return Verdict{}, false
	}
	vd := Verdict{Cell: c.Cell, Policy: policy, GPUVsVast: r.GPUSeconds / v.GPUSeconds,
		GPUVsBound: r.GPUSeconds / bound, SLOVsVast: r.SLOAttainment - v.SLOAttainment}
	vd.Pass = vd.SLOVsVast >= -sloSlack && vd.GPUVsBound <= 1
	return vd, true
}

// worse reports whether a is a worse verdict than b: an SLO shortfall
// first (the larger), then the cost against the bound.
func worse(a, b Verdict) bool {
	if (a.SLOVsVast < -sloSlack) != (b.SLOVsVast < -sloSlack) {
		return a.SLOVsVast < -sloSlack
	}
	if a.SLOVsVast < -sloSlack {
		return a.SLOVsVast < b.SLOVsVast
	}
	return a.GPUVsBound > b.GPUVsBound
}

// CorpusReport is a corpus run: every cell, and per policy its worst cell
// against vast.
type CorpusReport struct {
	Seed   uint64       `json:"seed"`
	Cells  []CellResult `json:"cells"`
	Worst  []Verdict    `json:"worst"`
	Passed int          `json:"drover_cells_passed"`
}

// RunCorpus runs every variant on every cell (the oracle once per cell),
// reporting progress to progress (nil: none).
func RunCorpus(cells []Cell, variants []Variant, progress io.Writer) (CorpusReport, error) {
	rep := CorpusReport{}
	if len(cells) > 0 {
		rep.Seed = cells[0].Cfg.Seed
	}
	for i, c := range cells {
		if progress != nil {
			fmt.Fprintf(progress, "[%d/%d] %s (%d requests)\n", i+1, len(cells), c.Name, len(c.Reqs))
		}
		cr := CellResult{Cell: c.Name, Group: c.Group, Requests: len(c.Reqs)}
		for _, v := range variants {
			cfg := c.Cfg.withDefaults()
			e := cfg.endpoint()
			if err := v.apply(&e); err != nil {
				return rep, err
			}
			cfg.Endpoint = &e
			res, err := Run(c.Reqs, []string{v.Policy}, cfg)
			if err != nil {
				return rep, err
			}
			res[0].Ready = nil
			cr.Results = append(cr.Results, Scored{Variant: v, Result: res[0]})
		}
		rep.Cells = append(rep.Cells, cr)
	}
	rep.judge(variants)
	return rep, nil
}

// judge fills the worst cell per default policy and drover's pass count.
func (rep *CorpusReport) judge(variants []Variant) {
	for _, v := range variants {
		if v.Knob != "" || v.Policy == "vast" || v.Policy == "oracle" {
			continue
		}
		var worst Verdict
		found := false
		for _, c := range rep.Cells {
			vd, ok := c.Judge(v.Policy)
			if !ok {
				continue
			}
			if v.Policy == "drover" && vd.Pass {
				rep.Passed++
			}
			if !found || worse(vd, worst) {
				worst, found = vd, true
			}
		}
		if found {
			rep.Worst = append(rep.Worst, worst)
		}
	}
}

// WriteCorpusTable writes one row per cell: each default policy's
// GPU-seconds and SLO attainment, drover against vast and the bound, then
// the worst cell per policy.
func WriteCorpusTable(w io.Writer, rep CorpusReport) error {
	var names []string
	if len(rep.Cells) > 0 {
		for _, s := range rep.Cells[0].Results {
			if s.Knob == "" {
				names = append(names, s.Policy)
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "cell\trequests\t"
	for _, n := range names {
		head += n + "_gpu\t" + n + "_slo\t"
	}
	fmt.Fprintln(tw, head+"d/vast\td/bound\tdSLO\tdrover\t")
	for _, c := range rep.Cells {
		fmt.Fprintf(tw, "%s\t%d\t", c.Cell, c.Requests)
		for _, n := range names {
			r, _ := c.by(n)
			fmt.Fprintf(tw, "%.0f\t%.4f\t", r.GPUSeconds, r.SLOAttainment)
		}
		if vd, ok := c.Judge("drover"); ok {
			fmt.Fprintf(tw, "%.3f\t%.3f\t%+.4f\t%s\t\n", vd.GPUVsVast, vd.GPUVsBound, vd.SLOVsVast, passText(vd.Pass))
		} else {
			fmt.Fprintln(tw, "-\t-\t-\t-\t")
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.Cells) == 0 {
		return nil
	}
	if _, ok := rep.Cells[0].Judge("drover"); ok {
		fmt.Fprintf(w, "\ndrover dominates vast in %d of %d cells (bound: max(0.5 × vast, oracle + ½ (vast − oracle)) GPU-s at ≥ vast's SLO)\n",
			rep.Passed, len(rep.Cells))
	}
	if len(rep.Worst) > 0 {
		fmt.Fprintln(w, "\nworst cell per policy (an SLO below vast's first, else the highest cost against the bound):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "policy\tcell\t/vast\t/bound\tdSLO\t")
		for _, vd := range rep.Worst {
			fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.3f\t%+.4f\t\n", vd.Policy, vd.Cell, vd.GPUVsVast, vd.GPUVsBound, vd.SLOVsVast)
		}
		return tw.Flush()
	}
	return nil
}

func passText(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISS"
}
