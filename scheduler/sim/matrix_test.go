package sim

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// The evaluation matrix: drover against vast and the oracle on the real
// trace, time-scaled variants of it and every synthetic pattern with
// several seeds. It is slow-ish (tens of seconds) and prints a table, so it
// runs only when asked:
//
//	DROVER_MATRIX=1 go test ./scheduler/sim/ -run TestMatrix -v
//
// DROVER_MATRIX=strict also fails on a row that misses the targets
// (drover SLO ≥ vast − 0.005 and GPU-s ≤ 0.6 × vast, ≤ 0.5 on the trace).

// matrixRow is one workload of the matrix.
type matrixRow struct {
	name          string
	pattern       string // "" = the real trace
	speedup, rate float64
	seed          uint64
	maxCostVsVast float64
}

func matrixRows() []matrixRow {
	rows := []matrixRow{
		{name: "trace", speedup: 1, rate: 1, seed: 1, maxCostVsVast: 0.5},
		{name: "trace speedup 2", speedup: 2, rate: 1, seed: 1, maxCostVsVast: 0.6},
		{name: "trace speedup 4", speedup: 4, rate: 1, seed: 1, maxCostVsVast: 0.6},
		{name: "trace rate-scale 2", speedup: 1, rate: 2, seed: 1, maxCostVsVast: 0.6},
	}
	for _, p := range PatternNames() {
		for seed := uint64(1); seed <= 3; seed++ {
			rows = append(rows, matrixRow{name: fmt.Sprintf("%s seed %d", p, seed), pattern: p,
				speedup: 1, rate: 1, seed: seed, maxCostVsVast: 0.6})
		}
	}
	return rows
}

// workload builds the row's requests the way `drover sim` does.
func (m matrixRow) workload(t *testing.T) []Request {
	t.Helper()
	var reqs []Request
	var err error
	if m.pattern == "" {
		f, ferr := os.Open("../../../shared/traces/azure-llm-2023-code.csv")
		if ferr != nil {
			t.Skipf("trace not available: %v", ferr)
		}
		defer f.Close()
		reqs, err = ReadTrace(f, 10)
	} else {
		reqs, err = Pattern(m.pattern, 3600, 2.5, 2300, m.seed)
	}
	if err != nil {
		t.Fatal(err)
	}
	return Transform(reqs, m.speedup, m.rate, m.seed)
}

func TestMatrix(t *testing.T) {
	mode := os.Getenv("DROVER_MATRIX")
	if mode == "" {
		t.Skip("set DROVER_MATRIX=1 (or strict) to run the evaluation matrix")
	}
	policies := []string{"vast", "kpa", "drover", "oracle"}
	if p := os.Getenv("DROVER_MATRIX_POLICIES"); p != "" {
		policies = strings.Split(p, ",")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-20s %9s %9s %7s %7s %7s %8s %8s %7s\n", "workload", "vast_gpu", "drov_gpu",
		"d/vast", "vastSLO", "drovSLO", "dSLO", "d/oracle", "unserv")
	fails := 0
	for _, m := range matrixRows() {
		res, err := Run(m.workload(t), policies, Config{Seed: m.seed})
		if err != nil {
			t.Fatal(err)
		}
		by := map[string]Result{}
		for _, r := range res {
			by[r.Name] = r
		}
		v, d, o := by["vast"], by["drover"], by["oracle"]
		ratio, dslo := d.GPUSeconds/v.GPUSeconds, d.SLOAttainment-v.SLOAttainment
		mark := ""
		if dslo < -0.005 || ratio > m.maxCostVsVast {
			mark, fails = " MISS", fails+1
		}
		fmt.Fprintf(&b, "%-20s %9.0f %9.0f %7.3f %7.4f %7.4f %+8.4f %8.2f %7d%s\n", m.name, v.GPUSeconds,
			d.GPUSeconds, ratio, v.SLOAttainment, d.SLOAttainment, dslo, d.GPUSeconds/o.GPUSeconds, d.Unserved, mark)
	}
	t.Logf("evaluation matrix (%d rows missing the targets):\n%s", fails, b.String())
	if mode == "strict" && fails > 0 {
		t.Errorf("%d rows miss the targets", fails)
	}
}
