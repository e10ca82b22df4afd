package jepsen

import (
	"fmt"
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
	binDirs sync.Map // temp dirs of built binaries, removed by TestMain
)

func TestMain(m *testing.M) {
	code := m.Run()
	binDirs.Range(func(k, _ any) bool { os.RemoveAll(k.(string)); return true })
	os.Exit(code)
}

type builtBin struct {
	once sync.Once
	path string
	err  error
}

// buildDrover builds cmd/drover once per tag set into a temp dir (see
// buildSource for which tree). DROVER_BIN overrides an untagged build.
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
		binDirs.Store(dir, true)
		b.path = filepath.Join(dir, "drover")
		src, err := buildSource(dir)
		if err != nil {
			b.err = err
			return
		}
		args := []string{"build", "-o", b.path}
		if tags != "" {
			args = append(args, "-tags", tags)
		}
		cmd := exec.Command("go", append(args, "./cmd/drover")...)
		cmd.Dir = src
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

// buildSource is the tree to build drover from: the work tree (default),
// or with JEPSEN_BUILD_FROM=<git rev> that revision exported into dir (for
// testing committed code while a shared work tree is mid-edit).
func buildSource(dir string) (string, error) {
	rev := os.Getenv("JEPSEN_BUILD_FROM")
	if rev == "" {
		return "..", nil
	}
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command("sh", "-c", `git -C .. archive "$1" | tar -x -C "$2"`, "sh", rev, src)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("export %s: %v: %s", rev, err, out)
	}
	return src, nil
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
	if bad := unexpected(res, knownFromEnv()); len(bad) > 0 {
		t.Fatalf("violations of %v: %v\n%s", bad, res.Violations, strings.Join(firstN(res.Details, 30), "\n"))
	}
	if !res.Valid {
		t.Logf("KNOWN violations tolerated by JEPSEN_KNOWN=%s (results.json says valid=false): %v\n%s",
			os.Getenv("JEPSEN_KNOWN"), res.Violations, strings.Join(res.Details, "\n"))
	}
}

// knownFromEnv reads JEPSEN_KNOWN: checkers whose violations are known
// bugs that the test logs but does not fail on (results.json still says
// valid=false). Empty (the default) means every violation fails the test.
func knownFromEnv() []string {
	if s := os.Getenv("JEPSEN_KNOWN"); s != "" {
		return strings.Split(s, ",")
	}
	return nil
}

// unexpected lists the checkers with violations that are not known.
func unexpected(res *Results, known []string) []string {
	var out []string
	for _, k := range sortedKeys(res.Violations) {
		if res.Violations[k] > 0 && !has(known, k) {
			out = append(out, k)
		}
	}
	return out
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

// TestBrokenReads runs "isolate the leader, write through the majority,
// read through the isolated node" twice: a build with -tags jepsen_broken
// (consistent reads served from the local replica) must fail the register
// checker, and the real build must pass the same scenario.
func TestBrokenReads(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if why := isolationProblem(); why != "" {
		t.Skip(why)
	}
	tests := []struct {
		name, tags string
		wantValid  bool
	}{
		{"broken build", "jepsen_broken", false},
		{"real build", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Name: "isolated-reads-" + strings.ReplaceAll(tt.name, " ", "-"), Nodes: 3,
				Duration: envDuration(t, "JEPSEN_SCENARIO_DURATION", 8*time.Second), Seed: envSeed(t),
				Bin: buildDrover(t, tt.tags), OutRoot: "out", Logf: t.Logf}
			res, err := RunIsolatedLeaderReads(cfg)
			if err != nil {
				t.Fatalf("RunIsolatedLeaderReads: %v", err)
			}
			t.Logf("%s", summaryLine(res))
			if res.Valid != tt.wantValid || res.Checked["register"] == 0 {
				t.Errorf("%s: valid = %v over %d register ops (violations %v), want valid = %v",
					tt.name, res.Valid, res.Checked["register"], res.Violations, tt.wantValid)
			}
			if !tt.wantValid && res.Violations["register"] == 0 {
				t.Errorf("%s: violations %v, want the register checker among them", tt.name, res.Violations)
			}
			if html := filepath.Join(res.OutDir, "register.html"); !tt.wantValid && !fileExists(html) {
				t.Errorf("%s: no porcupine visualization at %s", tt.name, html)
			}
		})
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestJepsenFull is `make jepsen`: every cell of Matrix for
// JEPSEN_CELL_DURATION (60 s) each, then one summary table. It runs only
// with DROVER_JEPSEN_FULL=1; JEPSEN_CELLS=name,name limits the cells.
func TestJepsenFull(t *testing.T) {
	if os.Getenv("DROVER_JEPSEN_FULL") != "1" {
		t.Skip("set DROVER_JEPSEN_FULL=1 (make jepsen) to run the full matrix")
	}
	bin := buildDrover(t, "")
	d := envDuration(t, "JEPSEN_CELL_DURATION", 60*time.Second)
	only := os.Getenv("JEPSEN_CELLS")
	base := envSeed(t)
	if base == 0 {
		base = time.Now().UnixNano() % 1e7
	}
	var runs []*Results
	for i, cell := range Matrix() {
		name := fmt.Sprintf("%s-%d", cell.Name, cell.Nodes)
		if only != "" && !has(strings.Split(only, ","), cell.Name) && !has(strings.Split(only, ","), name) {
			continue
		}
		cfg := Config{Name: cell.Name, Nodes: cell.Nodes, Duration: d, Seed: cellSeed(base, i),
			Nemeses: cell.Nemeses, Bin: bin, OutRoot: "out", Logf: t.Logf}
		res, err := Run(cfg)
		if err != nil {
			t.Errorf("cell %s: %v", name, err)
		}
		if res != nil {
			t.Logf("%s", summaryLine(res))
			runs = append(runs, res)
			if bad := unexpected(res, knownFromEnv()); len(bad) > 0 {
				t.Errorf("cell %s (seed %d, %s): violations of %v: %v\n%s", name, res.Seed, res.OutDir,
					bad, res.Violations, strings.Join(firstN(res.Details, 20), "\n"))
			}
		}
	}
	var b strings.Builder
	SummaryTable(&b, runs)
	fmt.Print("\n" + b.String())
	os.WriteFile(filepath.Join("out", "matrix-summary.txt"), []byte(b.String()), 0o644)
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("… %d more", len(s)-n))
	}
	return s
}
