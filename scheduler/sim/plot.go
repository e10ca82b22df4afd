package sim

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strings"
)

// plot layout, in SVG user units.
const (
	plotW, plotH = 1000.0, 420.0
	padL, padR   = 50.0, 130.0
	padT, padB   = 20.0, 40.0
)

var plotColors = []string{"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"}

// WritePlot draws demand (the workers the load of each oracle bucket
// needs, as a grey area) and each result's ready workers over time as an
// SVG, by hand with the standard library only.
func WritePlot(w io.Writer, reqs []Request, res []Result, cfg Config) error {
	cfg = cfg.withDefaults()
	need := oracleNeed(reqs, cfg)
	b := cfg.Bucket.Seconds()
	tMax, yMax := float64(len(need))*b, 1.0
	for _, n := range need {
		yMax = math.Max(yMax, float64(n))
	}
	for _, r := range res {
		tMax = math.Max(tMax, float64(len(r.Ready)))
		for _, n := range r.Ready {
			yMax = math.Max(yMax, float64(n))
		}
	}
	yMax = math.Ceil(yMax * 1.1)
	x := func(t float64) float64 { return padL + t/tMax*(plotW-padL-padR) }
	y := func(v float64) float64 { return plotH - padB - v/yMax*(plotH-padT-padB) }
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", plotW, plotH)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	axes(bw, tMax, yMax, x, y)
	var area strings.Builder
	fmt.Fprintf(&area, "%.1f,%.1f ", x(0), y(0))
	for i, n := range need {
		fmt.Fprintf(&area, "%.1f,%.1f %.1f,%.1f ", x(float64(i)*b), y(float64(n)), x(float64(i+1)*b), y(float64(n)))
	}
	fmt.Fprintf(&area, "%.1f,%.1f", x(float64(len(need))*b), y(0))
	fmt.Fprintf(bw, `<polygon points="%s" fill="#ccc" stroke="none"/>`+"\n", area.String())
	legend(bw, 0, "demand (oracle)", "#aaa")
	for i, r := range res {
		if r.Name == "oracle" {
			continue
		}
		c := plotColors[i%len(plotColors)]
		var pts strings.Builder
		for t, n := range r.Ready {
			if t%5 == 0 || t == len(r.Ready)-1 {
				fmt.Fprintf(&pts, "%.1f,%.1f ", x(float64(t)), y(float64(n)))
			}
		}
		fmt.Fprintf(bw, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.2"/>`+"\n", pts.String(), c)
		legend(bw, i+1, r.Name+" ready", c)
	}
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}

func axes(w io.Writer, tMax, yMax float64, x, y func(float64) float64) {
	fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x(0), y(0), x(tMax), y(0))
	fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x(0), y(0), x(0), y(yMax))
	step := math.Max(60, math.Ceil(tMax/10/60)*60)
	for t := 0.0; t <= tMax; t += step {
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle">%.0f</text>`+"\n", x(t), y(0)+16, t/60)
	}
	fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle">minutes</text>`+"\n", x(tMax/2), plotH-6)
	ystep := math.Max(1, math.Ceil(yMax/8))
	for v := 0.0; v <= yMax; v += ystep {
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="end">%.0f</text>`+"\n", x(0)-6, y(v)+4, v)
	}
	fmt.Fprintf(w, `<text x="12" y="%.1f" transform="rotate(-90 12 %.1f)" text-anchor="middle">workers</text>`+"\n", plotH/2, plotH/2)
}

func legend(w io.Writer, i int, name, color string) {
	ly := padT + 10 + float64(i)*18
	fmt.Fprintf(w, `<rect x="%.1f" y="%.1f" width="14" height="4" fill="%s"/><text x="%.1f" y="%.1f">%s</text>`+"\n",
		plotW-padR+10, ly-4, color, plotW-padR+30, ly+2, name)
}
