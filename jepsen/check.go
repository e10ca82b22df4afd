package jepsen

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// absentFeatures says which workloads cannot run against this build, and
// why: route needs POST /route/, scale needs `drover sim-provider`. A
// skipped workload is reported as skipped, never as passed.
func (r *runState) absentFeatures() map[string]string {
	out := map[string]string{}
	n := r.c.Nodes()[0]
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.ClientTimeout)
	code, body := n.Do(ctx, http.MethodPost, "/route/", map[string]any{"endpoint": "none", "api_key": "none", "cost": 100})
	cancel()
	if code == http.StatusNotFound && strings.Contains(string(body), "no such path") || code <= 0 {
		out[WorkRoute] = fmt.Sprintf("POST /route/ does not exist in this build (answered %d %.60s)", code, body)
	}
	if !simProviderExists(r.cfg.Bin) {
		out[WorkScale] = "`drover sim-provider` does not exist in this build"
	}
	return out
}

// simProviderExists reports whether bin has the sim-provider command.
func simProviderExists(bin string) bool {
	b, _ := exec.Command(bin, "sim-provider", "-h").CombinedOutput()
	return !strings.Contains(string(b), "unknown command")
}

// check runs every checker over the history and fills the results.
func (r *runState) check() {
	r.h.Close()
	ops := r.h.Ops()
	res := r.res
	res.DurationS = round3(r.cfg.Duration.Seconds())
	res.countOps(ops)
	res.Faults = r.nem.counts
	for k, why := range r.nem.skipped {
		res.Skipped["nemesis "+k] = why
	}
	if r.reg != nil {
		r.checkRegister(ops)
	}
	if r.set != nil {
		s := CheckSet(ops)
		res.Checked["set"] = s.Acked
		if !s.Valid() {
			res.violate("set", s.String())
		}
	}
	r.checkDataPlane(ops)
	lv := r.mon.LeaderViolations()
	res.Checked["leader-per-term"] = r.mon.samples
	if len(lv) > 0 {
		res.violate("leader-per-term", lv...)
	}
	res.Availability["console"] = consoleAvailability(ops)
	ran := []string{"leader-per-term", "convergence", "recovery"}
	if r.reg != nil {
		ran = append(ran, "register")
	}
	if r.set != nil {
		ran = append(ran, "set")
	}
	if r.route != nil {
		ran = append(ran, "route")
	}
	if r.scale != nil {
		ran = append(ran, "scale")
	}
	for _, k := range ran {
		if _, ok := res.Violations[k]; !ok {
			res.Violations[k] = 0
		}
	}
	if !r.resultsValid() && res.OutDir != "" {
		r.c.copyLogs(res.OutDir)
	}
}

// checkDataPlane runs the route and scale checkers (when they ran).
func (r *runState) checkDataPlane(ops []Op) {
	res := r.res
	if r.route != nil {
		rr := CheckRoute(ops, r.cfg.StaleAfter)
		res.Checked["route"] = rr.Checked
		res.Availability["route"] = rr.Availability
		if !rr.Valid() {
			res.violate("route", rr.Violations...)
		}
	}
	if r.scale != nil {
		sr := r.scale.Check(r.cfg.HealBound)
		res.Checked["scale"] = sr.Samples
		res.Notes = append(res.Notes, fmt.Sprintf("scale: %d provider creates, peak %d live (max_workers %d), %d fleet samples",
			sr.Creates, sr.PeakLive, r.scale.MaxWorkers, sr.Samples))
		if !sr.Valid() {
			res.violate("scale", sr.Violations...)
		}
	}
}

func (r *runState) checkRegister(ops []Op) {
	res := r.res
	if r.reg.Exhausted.Load() {
		res.Notes = append(res.Notes, "register: every key reached its operation bound before the end")
	}
	rr := CheckRegister(ops, 2*time.Minute)
	res.Checked["register"] = rr.Ops
	if rr.Valid() {
		return
	}
	res.violate("register", fmt.Sprintf("porcupine says %s over %d operations", rr.Result, rr.Ops))
	if res.OutDir != "" {
		path := filepath.Join(res.OutDir, "register.html")
		if err := WriteRegisterHTML(rr, ops, path); err != nil {
			res.Notes = append(res.Notes, "register.html: "+err.Error())
		}
	}
}

func (r *runState) resultsValid() bool {
	for _, n := range r.res.Violations {
		if n > 0 {
			return false
		}
	}
	return true
}
