package jepsen

import (
	"fmt"
	"sort"
	"time"
)

// Route history ops (workload "route"): F "register" and "remove" carry
// Key (endpoint) and Worker; F "route" carries Node and Key, and on ok the
// Worker named (0 for Vast's not-ready answer) and Sig ("ok" or "bad").

// RouteResult is the route checker's verdict.
type RouteResult struct {
	Checked      int
	Violations   []string
	Availability map[string]float64 // node → share of route calls answered with a worker during faults
}

// Valid is true when no answer named a wrong worker or carried a bad
// signature.
func (r RouteResult) Valid() bool { return len(r.Violations) == 0 }

type workerLife struct {
	endpoint   string
	registered int64 // invoke time of the registration that succeeded
	removed    int64 // completion time of the removal; 0 = still there
}

// CheckRoute checks that every route answer names a worker of that
// endpoint that was registered before the answer and not removed more
// than staleAfter before the call, and that every signature verified.
func CheckRoute(ops []Op, staleAfter time.Duration) RouteResult {
	pairs := Pairs(ops, "route")
	lives := workerLives(pairs)
	windows := FaultWindows(ops)
	r := RouteResult{Availability: map[string]float64{}}
	calls, answered := map[string]int{}, map[string]int{}
	for _, p := range pairs {
		if p.Call.F != "route" {
			continue
		}
		if inWindow(windows, p.Call.Time) {
			calls[p.Call.Node]++
			if p.Done.Type == TypeOK && p.Done.Worker != 0 {
				answered[p.Call.Node]++
			}
		}
		if p.Done.Type != TypeOK {
			continue
		}
		r.Checked++
		if v := routeViolation(p, lives, int64(staleAfter)); v != "" {
			r.Violations = append(r.Violations, v)
		}
	}
	for node, n := range calls {
		r.Availability[node] = round3(float64(answered[node]) / float64(n))
	}
	sort.Strings(r.Violations)
	return r
}

// workerLives: a worker counts as registered from the invocation of its
// registration whatever its outcome (a node may have registered it before
// the answer was lost), and as removed from the completion of the first
// removal that definitely succeeded.
func workerLives(pairs []Pair) map[uint64]*workerLife {
	lives := map[uint64]*workerLife{}
	for _, p := range pairs {
		switch {
		case p.Call.F == "register":
			if _, ok := lives[p.Call.Worker]; !ok {
				lives[p.Call.Worker] = &workerLife{endpoint: p.Call.Key, registered: p.Call.Time}
			}
		case p.Call.F == "remove" && p.Done.Type == TypeOK:
			if l, ok := lives[p.Call.Worker]; ok && l.removed == 0 {
				l.removed = p.Done.Time
			}
		}
	}
	return lives
}

func routeViolation(p Pair, lives map[uint64]*workerLife, stale int64) string {
	at := fmt.Sprintf("route #%d on %s for %s", p.Call.Index, p.Call.Node, p.Call.Key)
	if p.Done.Sig == "bad" {
		return at + ": signature does not verify"
	}
	w := p.Done.Worker
	if w == 0 {
		return ""
	}
	l, ok := lives[w]
	switch {
	case !ok:
		return fmt.Sprintf("%s: worker %d was never registered", at, w)
	case l.endpoint != p.Call.Key:
		return fmt.Sprintf("%s: worker %d belongs to %s", at, w, l.endpoint)
	case l.registered > p.Done.Time:
		return fmt.Sprintf("%s: worker %d named before its registration", at, w)
	case l.removed != 0 && l.removed+stale < p.Call.Time:
		return fmt.Sprintf("%s: worker %d removed %.2fs before the call (bound %.2fs)", at, w,
			float64(p.Call.Time-l.removed)/1e9, float64(stale)/1e9)
	}
	return ""
}
