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
// injected, violations, availability during faults, recovery.
func SummaryTable(w io.Writer, runs []*Results) {
	fmt.Fprintf(w, "%-11s %2s %10s %-5s %8s %7s %7s %6s %5s %6s %6s %9s %9s\n", "cell", "n", "seed", "valid",
		"reg-ops", "set-ack", "routes", "faults", "viol", "con-av", "rte-av", "recover_s", "converg_s")
	var ops, faults, viol int
	for _, r := range runs {
		nf, nv := sumCounts(r.Faults), sumCounts(r.Violations)
		ops += r.Checked["register"] + r.Checked["set"] + r.Checked["route"]
		faults += nf
		viol += nv
		fmt.Fprintf(w, "%-11s %2d %10d %-5v %8d %7d %7d %6d %5d %6s %6s %9.2f %9.2f\n", r.Cell, r.Nodes, r.Seed, r.Valid,
			r.Checked["register"], r.Checked["set"], r.Checked["route"], nf, nv, minAvail(r.Availability["console"]),
			minAvail(r.Availability["route"]), r.RecoveryS, r.ConvergeS)
	}
	fmt.Fprintf(w, "total: %d runs, %d operations checked, %d faults injected, %d violations\n",
		len(runs), ops, faults, viol)
	fmt.Fprintln(w, "con-av / rte-av: lowest per-node share of console calls answered ok / route calls answered with a worker, while a fault was in force")
	skipped := map[string]string{}
	for _, r := range runs {
		for k, why := range r.Skipped {
			if !strings.HasPrefix(k, "nemesis ") {
				skipped[k] = why
			}
		}
	}
	for _, k := range sortedKeys(skipped) {
		fmt.Fprintf(w, "skipped %s: %s\n", k, skipped[k])
	}
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
