package sim

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
)

// Knob ranges of `drover sim --sweep`: for vast the settings Vast users
// turn, for drover its one knob.
var (
	VastTargetUtil = []float64{0.5, 0.6, 0.7, 0.8, 1}
	VastColdMult   = []float64{1, 1.5, 2, 4}
	VastMinLoad    = []float64{2500, 5000, 10000, 20000}
	DroverSLO      = []float64{0.5, 0.7, 0.8, 0.9, 0.98, 0.99, 0.995}
)

// SweepVariants is every policy's default plus its knob over its range
// (kpa and the oracle have none here).
func SweepVariants(policies []string) []Variant {
	var out []Variant
	add := func(p, knob string, vals []float64) {
		for _, v := range vals {
			out = append(out, Variant{Policy: p, Knob: knob, Value: v})
		}
	}
	for _, p := range policies {
		out = append(out, Variant{Policy: p})
		switch p {
		case "vast":
			add(p, "target_util", VastTargetUtil)
			add(p, "cold_mult", VastColdMult)
			add(p, "min_load", VastMinLoad)
		case "drover":
			add(p, "slo_target", DroverSLO)
		}
	}
	return out
}

// Frontier returns a policy's Pareto frontier in the cell: its runs that no
// other run of the same policy beats on both GPU-seconds (lower) and SLO
// attainment (higher), by increasing cost.
func (c CellResult) Frontier(policy string) []Scored {
	var pts []Scored
	for _, s := range c.Results {
		if s.Policy == policy {
			pts = append(pts, s)
		}
	}
	slices.SortStableFunc(pts, func(a, b Scored) int {
		return cmp.Or(cmp.Compare(a.GPUSeconds, b.GPUSeconds), cmp.Compare(b.SLOAttainment, a.SLOAttainment))
	})
	var out []Scored
	best := math.Inf(-1)
	for _, p := range pts {
		if p.SLOAttainment > best {
			out = append(out, p)
			best = p.SLOAttainment
		}
	}
	return out
}

// WriteCorpusJSON writes the report as JSON.
func WriteCorpusJSON(w io.Writer, rep CorpusReport) error {
	return json.NewEncoder(w).Encode(rep)
}

// WriteSweepTable writes every run of every cell, frontier points marked
// with *.
func WriteSweepTable(w io.Writer, rep CorpusReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "cell\tvariant\tgpu_seconds\tslo_attainment\tfrontier\t")
	for _, c := range rep.Cells {
		on := map[string]bool{}
		for _, s := range c.Results {
			for _, f := range c.Frontier(s.Policy) {
				on[f.Label()] = true
			}
		}
		for _, s := range c.Results {
			mark := ""
			if on[s.Label()] {
				mark = "*"
			}
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.4f\t%s\t\n", c.Cell, s.Label(), s.GPUSeconds, s.SLOAttainment, mark)
		}
	}
	return tw.Flush()
}

// Frontier panel layout, in SVG user units.
const (
	panelW, panelH = 320.0, 240.0
	panelCols      = 3
	pPadL, pPadB   = 52.0, 34.0
	pPadT, pPadR   = 22.0, 10.0
)

// WriteFrontiers draws each cell's frontiers (GPU-seconds across, SLO
// attainment up) as one panel per cell: every run as a dot, each policy's
// frontier as a line, the default as a ring. Standard library only.
func WriteFrontiers(w io.Writer, rep CorpusReport) error {
	rows := (len(rep.Cells) + panelCols - 1) / panelCols
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="10">`+"\n",
		panelW*panelCols, panelH*float64(rows)+30)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	colors := map[string]string{}
	var order []string
	for i, c := range rep.Cells {
		panel(bw, c, float64(i%panelCols)*panelW, float64(i/panelCols)*panelH, colors, &order)
	}
	for i, p := range order {
		x := 10 + float64(i)*120
		y := panelH*float64(rows) + 18
		fmt.Fprintf(bw, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/><text x="%.1f" y="%.1f">%s (ring: default)</text>`+"\n", x, y-3, colors[p], x+8, y, p)
	}
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}

func panel(w io.Writer, c CellResult, ox, oy float64, colors map[string]string, order *[]string) {
	xMax, yMin := 1.0, 1.0
	for _, s := range c.Results {
		xMax = math.Max(xMax, s.GPUSeconds)
		yMin = math.Min(yMin, s.SLOAttainment)
	}
	xMax *= 1.05
	yMin = math.Max(0, math.Floor(yMin*20)/20)
	if yMin >= 1 {
		yMin = 0.95
	}
	x := func(v float64) float64 { return ox + pPadL + v/xMax*(panelW-pPadL-pPadR) }
	y := func(v float64) float64 { return oy + panelH - pPadB - (v-yMin)/(1-yMin)*(panelH-pPadT-pPadB) }
	fmt.Fprintf(w, `<text x="%.1f" y="%.1f" font-weight="bold">%s</text>`+"\n", ox+pPadL, oy+14, c.Cell)
	fmt.Fprintf(w, `<polyline points="%.1f,%.1f %.1f,%.1f %.1f,%.1f" fill="none" stroke="black"/>`+"\n",
		x(0), y(1), x(0), y(yMin), x(xMax), y(yMin))
	fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="end">%.2f</text><text x="%.1f" y="%.1f" text-anchor="end">%.2f</text>`+"\n",
		x(0)-3, y(1)+3, 1.0, x(0)-3, y(yMin)+3, yMin)
	fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="end">%.0f GPU-s</text>`+"\n", x(xMax), y(yMin)+14, xMax)
	fmt.Fprintf(w, `<text x="%.1f" y="%.1f">0</text>`+"\n", x(0), y(yMin)+14)
	var policies []string
	for _, s := range c.Results {
		if !slices.Contains(policies, s.Policy) {
			policies = append(policies, s.Policy)
		}
	}
	for _, p := range policies {
		if _, ok := colors[p]; !ok {
			colors[p] = plotColors[len(colors)%len(plotColors)]
			*order = append(*order, p)
		}
		col := colors[p]
		var pts []string
		for _, s := range c.Frontier(p) {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(s.GPUSeconds), y(s.SLOAttainment)))
		}
		fmt.Fprintf(w, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.5"/>`+"\n", joinSpace(pts), col)
		for _, s := range c.Results {
			if s.Policy != p {
				continue
			}
			if s.Knob == "" {
				fmt.Fprintf(w, `<circle cx="%.1f" cy="%.1f" r="5" fill="none" stroke="%s" stroke-width="1.5"><title>%s</title></circle>`+"\n",
					x(s.GPUSeconds), y(s.SLOAttainment), col, s.Label())
			}
			fmt.Fprintf(w, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"><title>%s: %.0f GPU-s, SLO %.4f</title></circle>`+"\n",
				x(s.GPUSeconds), y(s.SLOAttainment), col, s.Label(), s.GPUSeconds, s.SLOAttainment)
		}
	}
}

func joinSpace(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}
