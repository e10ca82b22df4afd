package jepsen

import (
	"fmt"
	"sort"
)

// Instance is one provider instance as `drover sim-provider` lists it.
type Instance struct {
	ID       string `json:"id"`
	Intent   string `json:"intent"` // idempotency key of the intent that created it
	Endpoint string `json:"endpoint"`
	Live     bool   `json:"live"`
}

// ScaleSample is one listing of the provider taken during the run.
type ScaleSample struct {
	Time       int64          `json:"time"`
	Instances  []Instance     `json:"instances"`
	MaxWorkers map[string]int `json:"max_workers"` // endpoint → max_workers in force
}

// ScaleResult is the scale checker's verdict.
type ScaleResult struct {
	Samples    int
	Creates    int // provider creates (filled by the workload)
	PeakLive   int // most live instances the endpoint had (provider's count)
	Violations []string
}

// Valid is true without violations.
func (r ScaleResult) Valid() bool { return len(r.Violations) == 0 }

// CheckScale checks that no intent ever had two live instances (a
// duplicated create), that no endpoint had more live instances than its
// max_workers, and that after heal the cluster knows every provider
// instance (known: instance ids the cluster's state names).
func CheckScale(samples []ScaleSample, final []Instance, known map[string]bool) ScaleResult {
	r := ScaleResult{Samples: len(samples)}
	seen := map[string]bool{}
	add := func(v string) {
		if !seen[v] {
			seen[v] = true
			r.Violations = append(r.Violations, v)
		}
	}
	for _, s := range samples {
		perIntent, perEndpoint := map[string][]string{}, map[string]int{}
		for _, in := range s.Instances {
			if !in.Live {
				continue
			}
			perIntent[in.Intent] = append(perIntent[in.Intent], in.ID)
			perEndpoint[in.Endpoint]++
		}
		for intent, list := range perIntent {
			if len(list) > 1 {
				sort.Strings(list)
				add(fmt.Sprintf("intent %s has %d live instances %v (duplicated create)", intent, len(list), list))
			}
		}
		for ep, n := range perEndpoint {
			if max, ok := s.MaxWorkers[ep]; ok && n > max {
				add(fmt.Sprintf("endpoint %s has %d live instances, max_workers %d", ep, n, max))
			}
		}
	}
	for _, in := range final {
		if in.Live && !known[in.ID] {
			add(fmt.Sprintf("provider instance %s (intent %s) unknown to the cluster after heal", in.ID, in.Intent))
		}
	}
	sort.Strings(r.Violations)
	return r
}
