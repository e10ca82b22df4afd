package sim

import (
	"time"

	"github.com/drover-io/drover/scheduler/provider"
)

// State is everything a fleet holds, for `drover sim-provider` to keep on
// disk across restarts.
type State struct {
	Next      int             `json:"next"`
	Instances []InstanceState `json:"instances"`
}

// InstanceState is one instance with its pending progress and its bill.
type InstanceState struct {
	provider.Instance
	DoneAt  time.Time `json:"done_at"`
	Fail    bool      `json:"fail,omitempty"`
	Hang    bool      `json:"hang,omitempty"`
	Billed  float64   `json:"billed"`
	BilledT time.Time `json:"billed_t"`
}

// Export returns the fleet's state (instances sorted by id).
func (f *Fleet) Export() State {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settle(f.clock.Now())
	s := State{Next: f.next}
	for _, in := range f.inst {
		s.Instances = append(s.Instances, InstanceState{Instance: in.Instance, DoneAt: in.doneAt,
			Fail: in.fail, Hang: in.hang, Billed: in.billed, BilledT: in.billedT})
	}
	for i := 1; i < len(s.Instances); i++ { // insertion sort: small, no import
		for j := i; j > 0 && s.Instances[j].ID < s.Instances[j-1].ID; j-- {
			s.Instances[j], s.Instances[j-1] = s.Instances[j-1], s.Instances[j]
		}
	}
	return s
}

// Import replaces the fleet's instances with s.
func (f *Fleet) Import(s State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next = s.Next
	f.inst = make(map[string]*instance, len(s.Instances))
	f.byKey = make(map[string]string, len(s.Instances))
	for _, is := range s.Instances {
		in := &instance{Instance: is.Instance, doneAt: is.DoneAt, fail: is.Fail, hang: is.Hang,
			billed: is.Billed, billedT: is.BilledT}
		f.inst[in.ID] = in
		f.byKey[in.IntentKey] = in.ID
	}
}
