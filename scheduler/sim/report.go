package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"

	"github.com/drover-io/drover/scheduler"
)

// Result is one policy's score.
type Result struct {
	Name          string  `json:"name"`
	GPUSeconds    float64 `json:"gpu_seconds"`
	SLOAttainment float64 `json:"slo_attainment"` // share of all requests served within the SLO
	// SLOAfterCreate is the same share over the requests that arrive after
	// the first create time (no policy can serve earlier ones from an
	// empty fleet).
	SLOAfterCreate float64 `json:"slo_after_create"`
	P50Wait        float64 `json:"p50_wait_s"` // over served requests
	P99Wait        float64 `json:"p99_wait_s"`
	Unserved       int     `json:"unserved"`
	Actions        Actions `json:"actions"`
	Ready          []int   `json:"-"` // ready workers at each tick (for the plot)
}

// Actions counts the provider actions a policy took.
type Actions struct {
	Create  int `json:"create"`
	Start   int `json:"start"`
	Stop    int `json:"stop"`
	Destroy int `json:"destroy"`
}

// score fills the service figures from the server's waits.
func (r *Result) score(s *server, slo, createTime float64) {
	var served []float64
	within, late, lateWithin := 0, 0, 0
	for i, w := range s.waits {
		if s.reqs[i].At >= createTime {
			late++
			if !math.IsNaN(w) && w <= slo+1e-9 {
				lateWithin++
			}
		}
		if math.IsNaN(w) {
			r.Unserved++
			continue
		}
		served = append(served, w)
		if w <= slo+1e-9 {
			within++
		}
	}
	if n := len(s.waits); n > 0 {
		r.SLOAttainment = float64(within) / float64(n)
	}
	if late > 0 {
		r.SLOAfterCreate = float64(lateWithin) / float64(late)
	}
	slices.Sort(served)
	r.P50Wait, r.P99Wait = quantile(served, 0.5), quantile(served, 0.99)
}

// quantile is the nearest-rank quantile of sorted xs (0 when empty).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(xs)))) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

// Run replays reqs through each named policy ("vast", "kpa", "drover",
// "oracle") with the same configuration and seed, in the order given.
func Run(reqs []Request, names []string, cfg Config) ([]Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	var out []Result
	for _, name := range names {
		if name == "oracle" {
			out = append(out, runOracle(reqs, cfg))
			continue
		}
		pol, err := scheduler.New(name, cfg.Sched)
		if err != nil {
			return nil, err
		}
		out = append(out, runPolicy(pol, reqs, cfg))
	}
	return out, nil
}

// runOracle is the spec's lower bound: exactly ceil(bucket load / (perf ×
// bucket)) workers ready through each bucket, no loading, no margin; its
// service is the same queue with that capacity.
func runOracle(reqs []Request, cfg Config) Result {
	end := endOf(reqs, cfg)
	need := oracleNeed(reqs, cfg)
	b := cfg.Bucket.Seconds()
	res := Result{Name: "oracle"}
	for _, n := range need {
		res.GPUSeconds += float64(n) * b * cfg.Price
	}
	srv := newServer(reqs, cfg.Perf, end)
	for t := 0.0; t < end; t++ {
		n := 0
		if k := int(t / b); k < len(need) {
			n = need[k]
		}
		for len(srv.workers) < n {
			srv.add(t)
		}
		for i, w := range srv.workers {
			if on := i < n; on != w.active {
				w.active = on
				w.freeAt = math.Max(w.freeAt, t)
			}
		}
		res.Ready = append(res.Ready, n)
		srv.serveUntil(math.Min(t+1, end))
	}
	res.score(srv, cfg.SLO.Seconds(), cfg.CreateDelay.Seconds())
	return res
}

// oracleNeed is the oracle's worker count per bucket, up to the last
// arrival.
func oracleNeed(reqs []Request, cfg Config) []int {
	if len(reqs) == 0 {
		return nil
	}
	b := cfg.Bucket.Seconds()
	loads := make([]float64, int(reqs[len(reqs)-1].At/b)+1)
	for _, r := range reqs {
		loads[int(r.At/b)] += r.Load
	}
	need := make([]int, len(loads))
	for i, l := range loads {
		need[i] = int(math.Ceil(l/(cfg.Perf*b) - 1e-12))
	}
	return need
}

// WriteJSON writes {"policies":[…]}.
func WriteJSON(w io.Writer, res []Result) error {
	return json.NewEncoder(w).Encode(struct {
		Policies []Result `json:"policies"`
	}{res})
}

// WriteTable writes a readable table, with each policy's cost relative to
// the oracle and to vast when they were run.
func WriteTable(w io.Writer, res []Result) error {
	ref := map[string]float64{}
	for _, r := range res {
		ref[r.Name] = r.GPUSeconds
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tgpu_seconds\t/oracle\t/vast\tslo_attainment\tp50_wait_s\tp99_wait_s\tunserved\tcreate\tstart\tstop\tdestroy\t")
	for _, r := range res {
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%.4f\t%.2f\t%.2f\t%d\t%d\t%d\t%d\t%d\t\n", r.Name, r.GPUSeconds,
			ratio(r.GPUSeconds, ref["oracle"]), ratio(r.GPUSeconds, ref["vast"]), r.SLOAttainment,
			r.P50Wait, r.P99Wait, r.Unserved, r.Actions.Create, r.Actions.Start, r.Actions.Stop, r.Actions.Destroy)
	}
	return tw.Flush()
}

func ratio(a, b float64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}
