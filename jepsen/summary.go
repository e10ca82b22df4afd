package jepsen

import (
	"fmt"
	"sort"
	"strings"
)

// summaryLine is one line about a run for logs.
func summaryLine(r *Results) string {
	return fmt.Sprintf("%s valid=%v mode=%s ops=%s faults=%s violations=%s recovery=%.2fs",
		r.Run, r.Valid, r.Mode, fmtOps(r.Ops), fmtCounts(r.Faults), fmtCounts(r.Violations), r.RecoveryS)
}

func fmtOps(ops map[string]map[string]int) string {
	var parts []string
	for _, w := range sortedKeys(ops) {
		parts = append(parts, w+":"+fmtCounts(ops[w]))
	}
	return strings.Join(parts, " ")
}

func fmtCounts(m map[string]int) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
