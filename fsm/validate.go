package fsm

import (
	"fmt"
	"math"
)

// Ranges of the console API (docs/protocol.md).
const (
	maxNameLen     = 255
	maxColdWorkers = 10_000
	maxMaxWorkers  = 100_000
	maxTestWorkers = 1_000
	maxKeyLen      = 255 // intent keys and server ids
)

// DefaultSLOTarget is slo_target's default: 95 % of requests within
// target_queue_time.
const DefaultSLOTarget = 0.95

// Bounds of the console API's string fields of a group (documented in
// README.md, "Limits"). endpoint_name and a group's name are bounded by
// Validate (MaxNameLen); these are checked by CheckBounds, which the
// proposer runs before it proposes, and deliberately not by Apply or
// Restore: an entry or snapshot written before a bound existed must keep
// applying the same way on every node.
const (
	MaxNameLen         = maxNameLen
	MaxTemplateHashLen = 255
	MaxSearchParamsLen = 4 << 10
	MaxLaunchArgsLen   = 16 << 10
	MaxProviderLen     = 64
)

// CheckBounds refuses a group whose strings are longer than the console
// API allows (errors wrap ErrInvalid). A provider name, when set, is also
// held to the characters of a name.
func (g *Group) CheckBounds() error {
	for _, f := range []struct {
		name string
		v    string
		max  int
	}{
		{"template_hash", g.TemplateHash, MaxTemplateHashLen},
		{"search_params", g.SearchParams, MaxSearchParamsLen},
		{"launch_args", g.LaunchArgs, MaxLaunchArgsLen},
		{"provider", g.Provider, MaxProviderLen},
	} {
		if len(f.v) > f.max {
			return invalid(fmt.Sprintf("%s must be at most %d bytes, got %d", f.name, f.max, len(f.v)))
		}
	}
	if g.Provider != "" {
		return validName("provider", g.Provider)
	}
	return nil
}

// EndpointDefaults returns an endpoint with the spec's defaults (Vast's CLI
// defaults): target_util 0.9, cold_mult 2.5, cold_workers 5, max_workers 20,
// max_queue_time 30 s, target_queue_time 10 s, slo_target 0.95 (drover's
// own knob, not Vast's), state active; everything else
// zero. Proposers start from it before applying the request's fields.
func EndpointDefaults() Endpoint {
	return Endpoint{
		TargetUtil:      0.9,
		ColdMult:        2.5,
		ColdWorkers:     5,
		MaxWorkers:      20,
		MaxQueueTime:    30,
		TargetQueueTime: 10,
		SLOTarget:       DefaultSLOTarget,
		State:           EndpointActive,
	}
}

// GroupDefaults returns a group with the spec's defaults: gpu_ram 24,
// test_workers 3, weight 1, provider "" (none), overrides unset.
func GroupDefaults() Group {
	return Group{GPURAM: 24, TestWorkers: 3, Weight: 1}
}

// Validate checks the endpoint's fields against the spec: name
// ^[a-zA-Z0-9_-]+$ of at most 255 bytes, every number finite and in range,
// state one of active, suspended, stopped. Errors wrap ErrInvalid.
func (e *Endpoint) Validate() error {
	if err := validName("endpoint_name", e.Name); err != nil {
		return err
	}
	checks := []error{
		atLeast("min_load", e.MinLoad, 0),
		atLeast("min_cold_load", e.MinColdLoad, 0),
		finite("target_util", e.TargetUtil),
		atLeast("cold_mult", e.ColdMult, 1),
		intRange("cold_workers", e.ColdWorkers, 0, maxColdWorkers),
		intRange("max_workers", e.MaxWorkers, 0, maxMaxWorkers),
		atLeast("max_queue_time", e.MaxQueueTime, 0),
		atLeast("target_queue_time", e.TargetQueueTime, 0),
		finite("created_at", e.CreatedAt),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	if !(e.TargetUtil > 0 && e.TargetUtil <= 1) {
		return invalid(fmt.Sprintf("target_util must be in (0, 1], got %v", e.TargetUtil))
	}
	if !(e.SLOTarget >= 0 && e.SLOTarget < 1) {
		return invalid(fmt.Sprintf("slo_target must be in [0, 1) (0: the default %v), got %v", DefaultSLOTarget, e.SLOTarget))
	}
	if e.InactivityTimeout != nil {
		if err := finite("inactivity_timeout", *e.InactivityTimeout); err != nil {
			return err
		}
	}
	switch e.State {
	case EndpointActive, EndpointSuspended, EndpointStopped:
		return nil
	}
	return invalid(fmt.Sprintf("endpoint_state must be active, suspended or stopped, got %q", e.State))
}

// Validate checks the group's fields against the spec: name (when set) like
// an endpoint name, gpu_ram ≥ 0, test_workers 0…1000, cold_workers
// 0…10000, max_workers 0…100000, min_cold_load ≥ 0, weight ≥ 0, every
// number finite. It does not check that the endpoint exists (Apply does).
func (g *Group) Validate() error {
	if g.Name != "" {
		if err := validName("name", g.Name); err != nil {
			return err
		}
	}
	checks := []error{
		atLeast("gpu_ram", g.GPURAM, 0),
		intRange("test_workers", g.TestWorkers, 0, maxTestWorkers),
		atLeast("weight", g.Weight, 0),
		finite("created_at", g.CreatedAt),
	}
	if g.ColdWorkers != nil {
		checks = append(checks, intRange("cold_workers", *g.ColdWorkers, 0, maxColdWorkers))
	}
	if g.MaxWorkers != nil {
		checks = append(checks, intRange("max_workers", *g.MaxWorkers, 0, maxMaxWorkers))
	}
	if g.MinColdLoad != nil {
		checks = append(checks, atLeast("min_cold_load", *g.MinColdLoad, 0))
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	return nil
}

// Validate checks a worker: non-zero id, a known state, max_perf and cost
// finite and ≥ 0, registered_at finite.
func (w *Worker) Validate() error {
	if w.ID == 0 {
		return invalid("worker id must be set")
	}
	if !validWorkerState(w.State) {
		return invalid(fmt.Sprintf("unknown worker state %q", w.State))
	}
	for _, err := range []error{
		atLeast("max_perf", w.MaxPerf, 0),
		atLeast("cost", w.Cost, 0),
		finite("registered_at", w.RegisteredAt),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// Validate checks an intent: a key of 1…255 bytes, a known kind and state,
// created_at finite.
func (in *Intent) Validate() error {
	if in.Key == "" || len(in.Key) > maxKeyLen {
		return invalid(fmt.Sprintf("intent key must be 1…%d bytes", maxKeyLen))
	}
	switch in.Kind {
	case IntentCreate, IntentStart, IntentStop, IntentDestroy:
	default:
		return invalid(fmt.Sprintf("unknown intent kind %q", in.Kind))
	}
	if !validIntentState(in.State) {
		return invalid(fmt.Sprintf("unknown intent state %q", in.State))
	}
	return finite("created_at", in.CreatedAt)
}

func validWorkerState(s string) bool {
	switch s {
	case WorkerCreating, WorkerLoading, WorkerReady, WorkerDraining, WorkerStopped, WorkerError, WorkerLost:
		return true
	}
	return false
}

func validIntentState(s string) bool {
	switch s {
	case IntentPending, IntentDone, IntentFailed, IntentAbandoned:
		return true
	}
	return false
}

// validName checks ^[a-zA-Z0-9_-]+$ and the length limit.
func validName(field, s string) error {
	if s == "" || len(s) > maxNameLen {
		return invalid(fmt.Sprintf("%s must be 1…%d characters", field, maxNameLen))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
		if !ok {
			return invalid(fmt.Sprintf("%s must match ^[a-zA-Z0-9_-]+$", field))
		}
	}
	return nil
}

func finite(field string, x float64) error {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return invalid(field + " must be a finite number")
	}
	return nil
}

func atLeast(field string, x, lo float64) error {
	if err := finite(field, x); err != nil {
		return err
	}
	if x < lo {
		return invalid(fmt.Sprintf("%s must be ≥ %v, got %v", field, lo, x))
	}
	return nil
}

func intRange(field string, x, lo, hi int64) error {
	if x < lo || x > hi {
		return invalid(fmt.Sprintf("%s must be in %d…%d, got %d", field, lo, hi, x))
	}
	return nil
}
