package jepsen

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	binOnce sync.Map // tags → *builtBin
)

type builtBin struct {
	once sync.Once
	path string
	err  error
}

// buildDrover builds cmd/drover with the given build tags into a temp dir
// that outlives the test (removed by the next run's cleanup is not needed:
// it lives under the test's own temp root). DROVER_BIN overrides an
// untagged build.
func buildDrover(t *testing.T, tags string) string {
	t.Helper()
	if p := os.Getenv("DROVER_BIN"); p != "" && tags == "" {
		return p
	}
	v, _ := binOnce.LoadOrStore(tags, &builtBin{})
	b := v.(*builtBin)
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "drover-jepsen-bin-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "drover")
		args := []string{"build", "-o", b.path}
		if tags != "" {
			args = append(args, "-tags", tags)
		}
		cmd := exec.Command("go", append(args, "./cmd/drover")...)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = err
			b.path = string(out)
		}
	})
	if b.err != nil {
		t.Fatalf("go build -tags %q ./cmd/drover: %v\n%s", tags, b.err, b.path)
	}
	return b.path
}

// envSeed reads JEPSEN_SEED (0 = pick one).
func envSeed(t *testing.T) int64 {
	s := os.Getenv("JEPSEN_SEED")
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("JEPSEN_SEED=%q: %v", s, err)
	}
	return n
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return d
}

// requireRun reports a run's result and fails the test on any violation.
func requireRun(t *testing.T, res *Results, err error) {
	t.Helper()
	if res != nil {
		t.Logf("%s", summaryLine(res))
		if res.OutDir != "" {
			t.Logf("results: %s", filepath.Join(res.OutDir, "results.json"))
		}
		for w, why := range res.Skipped {
			t.Logf("skipped %s: %s", w, why)
		}
	}
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !res.Valid {
		t.Fatalf("violations: %v\n%s", res.Violations, strings.Join(res.Details, "\n"))
	}
}

// TestJepsenQuick is `make jepsen-quick`: 3 nodes, a few nemeses, every
// workload that exists, about two minutes.
func TestJepsenQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	cfg := Config{
		Name:     "quick",
		Nodes:    3,
		Duration: envDuration(t, "JEPSEN_DURATION", 60*time.Second),
		Seed:     envSeed(t),
		Nemeses: []string{NemPartitionLeader, NemPartitionOneWay, NemLoss, NemKillLeader,
			NemPauseLeader, NemKillAll, NemMemberRejoin},
		Bin:     buildDrover(t, ""),
		OutRoot: "out",
		Logf:    t.Logf,
	}
	res, err := Run(cfg)
	requireRun(t, res, err)
}
