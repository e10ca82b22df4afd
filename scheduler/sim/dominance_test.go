package sim

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/scheduler"
)

var update = flag.Bool("update", false, "rewrite the golden decision files in testdata/decisions/")

// knownGaps are the short-corpus cells where drover, at an SLO attainment
// no lower than vast's, still spends more than the bound (max(0.5 × vast,
// oracle + ½ (vast − oracle))). Each is held to its measured ratio to the
// bound (plus 2 %) so it cannot get worse unnoticed; the cold-start drain
// (every policy must create enough workers to drain the first create
// time's backlog) is most of what separates them from the bound.
var knownGaps = map[string]float64{
	"mooncake":     1.336,
	"bursty x2 r3": 1.346, // at +0.33 SLO attainment over vast's (0.84 vs 0.51)
	"spike x1 r1":  1.087,
}

// TestShortCorpusDominance runs vast, drover and the oracle on the short
// corpus (one cell of each kind of statistics): drover never has a lower
// SLO attainment than vast in any cell, and stays within the bound except
// in the known gaps, which may not grow.
func TestShortCorpusDominance(t *testing.T) {
	cells, err := Corpus(CorpusOptions{Short: true}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := RunCorpus(cells, Defaults([]string{"vast", "drover", "oracle"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := WriteCorpusTable(&b, rep); err != nil {
		t.Fatal(err)
	}
	t.Logf("short corpus:\n%s", b.String())
	for _, c := range rep.Cells {
		vd, ok := c.Judge("drover")
		if !ok {
			t.Fatalf("%s: no verdict", c.Cell)
		}
		if vd.SLOVsVast < -sloSlack {
			t.Errorf("%s: drover's SLO attainment is %.4f below vast's", c.Cell, -vd.SLOVsVast)
		}
		limit, gap := knownGaps[c.Cell]
		if !gap {
			limit = 1
		} else {
			limit *= 1.02
		}
		if vd.GPUVsBound > limit {
			t.Errorf("%s: drover spends %.3f × the bound, want ≤ %.3f", c.Cell, vd.GPUVsBound, limit)
		}
	}
}

// TestIdleCost states what idling costs: after a burst on a warm fleet,
// 30 minutes without a request create nothing, and cost drover at most,
// per worker it had created or was creating at the last request, the rest
// of one create time (a create in flight finishes loading), one ski-rental
// hold at full price (Ts / (1 − StoppedPrice)) and 30 minutes stopped
// (StoppedPrice × 1800 s); no more than vast's idle cost; and no ready
// worker once the last create has landed and been held.
func TestIdleCost(t *testing.T) {
	// 10 minutes at 2.5 requests/s warm the fleet, then 2 minutes at 10×.
	warm, err := Pattern("steady", 600, 2.5, 2300, 3)
	if err != nil {
		t.Fatal(err)
	}
	peak, _ := Pattern("steady", 120, 25, 2300, 4)
	burst := warm
	for _, r := range peak {
		burst = append(burst, Request{At: 600 + r.At, Load: r.Load})
	}
	run := func(policy string, tail time.Duration) Result {
		res, err := Run(burst, []string{policy}, Config{Seed: 3, Tail: tail})
		if err != nil {
			t.Fatal(err)
		}
		return res[0]
	}
	cfg := DefaultConfig()
	hold := cfg.StartDelay.Seconds() / (1 - cfg.StoppedPrice)
	idle := map[string]float64{}
	var long Result
	for _, p := range []string{"vast", "drover"} {
		short, l := run(p, 0), run(p, 30*time.Minute)
		idle[p] = l.GPUSeconds - short.GPUSeconds
		if p == "drover" {
			long = l
			if l.Actions.Create != short.Actions.Create {
				t.Errorf("drover created %d workers during 30 idle minutes, want none", l.Actions.Create-short.Actions.Create)
			}
		}
	}
	limit := float64(long.Actions.Create) * (cfg.CreateDelay.Seconds() + hold + cfg.StoppedPrice*1800)
	t.Logf("%d requests, drover created %d: 30 idle minutes cost drover %.0f GPU-s (limit %.0f), vast %.0f",
		len(burst), long.Actions.Create, idle["drover"], limit, idle["vast"])
	if idle["drover"] > limit || idle["drover"] > idle["vast"] {
		t.Errorf("30 idle minutes after a burst cost drover %.0f GPU-s, want ≤ %.0f and ≤ vast's %.0f", idle["drover"], limit, idle["vast"])
	}
	quiet := int(burst[len(burst)-1].At + cfg.CreateDelay.Seconds() + hold + 2)
	for s, n := range long.Ready[quiet:] {
		if n != 0 {
			t.Fatalf("%d ready workers %d s after the last create could have landed and been held, want 0", n, s)
		}
	}
}

// TestGoldenDecisions replays 10 minutes of each synthetic pattern through
// drover and compares every decision (with its reason, forecast, learned
// figures and knob) with testdata/decisions/<pattern>.golden.
func TestGoldenDecisions(t *testing.T) {
	for _, p := range PatternNames() {
		t.Run(p, func(t *testing.T) {
			reqs, err := Pattern(p, 600, 2.5, 2300, 1)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			cfg := Config{Seed: 1, OnPlan: func(pl scheduler.Plan) {
				at := pl.Now.Sub(epoch).Seconds()
				for _, a := range pl.Actions {
					fmt.Fprintf(&b, "t=%gs %s\n", at, a)
				}
				for _, n := range pl.Notes {
					fmt.Fprintf(&b, "t=%gs note %s\n", at, n)
				}
			}}
			if _, err := Run(reqs, []string{"drover"}, cfg); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join("testdata", "decisions", p+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("drover's decisions on %s differ from %s (run with -update after checking the change):\n%s", p, file, firstDiff(got, string(want)))
			}
		})
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n got  %s\n want %s", i+1, a, b)
		}
	}
	return ""
}
