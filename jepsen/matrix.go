package jepsen

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Cell is one entry of the full matrix.
type Cell struct {
	Name    string
	Nodes   int
	Nemeses []string
}

// Matrix is the full matrix of `make jepsen`: combined fault schedules on
// 3 and 5 nodes.
func Matrix() []Cell {
	parts := []string{NemPartitionLeader, NemPartitionRandom, NemPartitionHalves, NemPartitionBridge, NemPartitionOneWay}
	loss := []string{NemLoss, NemPartitionLeader, NemPartitionHalves}
	proc := []string{NemKillOne, NemKillLeader, NemKillMinority, NemPauseLeader}
	crash := []string{NemKillAll, NemKillLeader}
	member := []string{NemMemberAdd, NemMemberRejoin, NemKillOne, NemPartitionRandom}
	var cells []Cell
	for _, n := range []int{3, 5} {
		p := parts
		if n >= 5 {
			p = append(append([]string(nil), parts...), NemPartitionRing)
		}
		cells = append(cells,
			Cell{"partitions", n, p}, Cell{"loss", n, loss}, Cell{"process", n, proc},
			Cell{"kill-all", n, crash}, Cell{"membership", n, member}, Cell{"mixed", n, nil})
	}
	return cells
}

// SummaryTable writes one row per run: operations checked, faults
// injected, violations, console availability during faults, recovery.
func SummaryTable(w io.Writer, runs []*Results) {
	fmt.Fprintf(w, "%-12s %2s %10s %-5s %9s %7s %6s %10s %5s %-24s %s\n", "cell", "n", "seed", "valid",
		"reg-ops", "set-ack", "faults", "violations", "avail", "recovery_s/converge_s", "skipped")
	var ops, faults, viol int
	for _, r := range runs {
		nf, nv := sumCounts(r.Faults), sumCounts(r.Violations)
		ops += r.Checked["register"] + r.Checked["set"]
		faults += nf
		viol += nv
		fmt.Fprintf(w, "%-12s %2d %10d %-5v %9d %7d %6d %10d %5s %-24s %s\n", r.Cell, r.Nodes, r.Seed, r.Valid,
			r.Checked["register"], r.Checked["set"], nf, nv, minAvail(r.Availability["console"]),
			fmt.Sprintf("%.2f / %.2f", r.RecoveryS, r.ConvergeS), strings.Join(sortedKeys(r.Skipped), ","))
	}
	fmt.Fprintf(w, "total: %d runs, %d operations checked, %d faults injected, %d violations\n",
		len(runs), ops, faults, viol)
	fmt.Fprintln(w, "avail = lowest per-node share of console calls answered during faults; route availability: route workload skipped")
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func minAvail(m map[string]float64) string {
	if len(m) == 0 {
		return "-"
	}
	vals := make([]float64, 0, len(m))
	for _, v := range m {
		vals = append(vals, v)
	}
	sort.Float64s(vals)
	return fmt.Sprintf("%.2f", vals[0])
}

// cellSeed derives a cell's seed from the matrix seed.
func cellSeed(base int64, i int) int64 {
	if base == 0 {
		base = time.Now().UnixNano() % 1e9
	}
	return base*100 + int64(i)
}
