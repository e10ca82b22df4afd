package jepsen

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
)

// Results is results.json of one run.
type Results struct {
	Run       string   `json:"run"`
	Cell      string   `json:"cell"`
	Seed      int64    `json:"seed"`
	Nodes     int      `json:"nodes"`
	Mode      string   `json:"mode"` // "namespaces" or "loopback"
	ModeNote  string   `json:"mode_note,omitempty"`
	Nemeses   []string `json:"nemeses"`
	DurationS float64  `json:"duration_s"`
	// Valid is true only if every checker ran and passed.
	Valid bool `json:"valid"`
	// Ops counts completions by workload and outcome (ok, fail, info, open).
	Ops map[string]map[string]int `json:"ops"`
	// Checked counts what each checker was given (porcupine operations,
	// acknowledged adds, route answers, status samples).
	Checked map[string]int `json:"checked"`
	// Faults counts injected faults by kind.
	Faults map[string]int `json:"faults"`
	// Violations counts by checker; Details says what they were.
	Violations map[string]int `json:"violations"`
	Details    []string       `json:"violation_details,omitempty"`
	// Availability: share of calls answered while a fault was in force,
	// per node: "route" for /route/ calls (when the route workload ran),
	// "console" for the register and set workloads' console calls.
	Availability map[string]map[string]float64 `json:"availability"`
	RecoveryS    float64                       `json:"recovery_s"` // heal to leader + first successful write
	ConvergeS    float64                       `json:"converge_s"` // end of load to equal applied_index and state_hash
	Skipped      map[string]string             `json:"skipped"`    // workloads (and nemeses) not run, and why
	Notes        []string                      `json:"notes,omitempty"`
	OutDir       string                        `json:"-"`
}

func newResults() *Results {
	return &Results{Ops: map[string]map[string]int{}, Checked: map[string]int{},
		Faults: map[string]int{}, Violations: map[string]int{},
		Availability: map[string]map[string]float64{}, Skipped: map[string]string{}}
}

// violate records n violations of checker with details.
func (r *Results) violate(checker string, details ...string) {
	n := len(details)
	if n == 0 {
		n = 1
	}
	r.Violations[checker] += n
	for _, d := range details {
		r.Details = append(r.Details, checker+": "+d)
	}
}

// countOps fills Ops from the history.
func (r *Results) countOps(ops []Op) {
	for _, w := range []string{WorkRegister, WorkSet, WorkRoute, WorkScale} {
		for _, p := range Pairs(ops, w) {
			if r.Ops[w] == nil {
				r.Ops[w] = map[string]int{}
			}
			t := p.Done.Type
			if t == "" {
				t = "open"
			}
			r.Ops[w][t]++
		}
	}
}

// consoleAvailability is the per-node share of register and set calls
// answered ok while a fault was in force.
func consoleAvailability(ops []Op) map[string]float64 {
	ws := FaultWindows(ops)
	calls, okc := map[string]int{}, map[string]int{}
	for _, w := range []string{WorkRegister, WorkSet} {
		for _, p := range Pairs(ops, w) {
			if p.Call.Node == "" || !inWindow(ws, p.Call.Time) {
				continue
			}
			calls[p.Call.Node]++
			if p.Done.Type == TypeOK {
				okc[p.Call.Node]++
			}
		}
	}
	out := map[string]float64{}
	for n, c := range calls {
		out[n] = round3(float64(okc[n]) / float64(c))
	}
	return out
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// finish computes Valid and writes results.json when OutDir is set.
func (r *Results) finish() error {
	r.Valid = true
	for _, n := range r.Violations {
		if n > 0 {
			r.Valid = false
		}
	}
	sort.Strings(r.Details)
	if r.OutDir == "" {
		return nil
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r.OutDir, "results.json"), append(b, '\n'), 0o644)
}
