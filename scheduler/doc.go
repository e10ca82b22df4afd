// Package scheduler makes drover's scaling decisions. It is a pure core
// (no clock, network or randomness of its own): a Policy turns an Input — the endpoints, their
// groups and workers with lifecycle states, each group's measured create and
// start times, pending intents, per-endpoint load history and queued demand,
// and the time now — into a Plan of actions (create, start, drain, stop,
// destroy), each with a human-readable reason and the figures it was based
// on.
//
// # What scheduler owns
//
//   - The input types (input.go). They are small and built by the caller from
//     fsm.View plus the load overlay; scheduler never reads the overlay, the
//     clock or the network itself.
//   - The Plan (plan.go) and the Policy interface (policy.go) with three
//     implementations: "vast" (vast.go, Vast's model exactly as
//     docs/scaling.md pins it), "kpa" (kpa.go, Knative's stable and
//     panic windows) and "drover" (drover.go, predictive and cost-aware; its
//     reasoning is in DESIGN.md next to this file).
//   - Memory (policy.go): the per-endpoint state a policy keeps between ticks
//     (hysteresis timers, panic mode, the hold after a leader change). The
//     caller owns it; a new leader starts from NewMemory(now), which is what
//     makes "hold scale-down until a full window of fresh load" work.
//   - The Provider interface lives in scheduler/provider; providers in
//     scheduler/provider/<name>/.
//
// # What scheduler never does
//
// It never calls a provider, writes to Raft, sleeps, reads time.Now or uses
// randomness: the same Input and Memory give the same Plan. It never imports
// raft, cluster, edge or transport. Executing a Plan (intents first, then the
// provider) is the leader loop's job; simulating one is scheduler/sim's.
package scheduler
