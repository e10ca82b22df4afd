// Package sim is a simulated fleet implementing provider.Provider: creates
// take CreateDelay, starts StartDelay, a configurable share of them fail or
// hang, and every instance is billed per second by state (full price while
// loading, starting or ready, the storage price while stopped). It is
// driven by a Clock the caller passes: a ManualClock for `drover sim`'s
// virtual time, the real clock for `drover sim-provider`.
//
// Package sim owns the instances and their bill; it never serves requests
// (scheduler/sim models serving) and never sleeps: progress is computed
// from the clock whenever the fleet is called.
package sim
