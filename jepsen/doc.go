// Package jepsen is drover's chaos harness: it starts real `drover agent`
// processes, each in its own network namespace on a bridge created for the
// run, drives client workloads against all of them while nemeses inject
// faults (iptables partitions and packet loss inside the node namespaces,
// kill -9, SIGSTOP, membership changes), records everything as a history of
// invoke/ok/fail/info operations, and checks it:
//   - register: consistent reads, writes and if_revision cas on min_load,
//     linearizability with porcupine (Unknown is a failure);
//   - set: acknowledged-write loss, invented or revived names;
//   - route: simulated static-group workers report to every node, /route/
//     is called on every node, groups are deleted and created; no answer
//     may name a worker removed more than --stale-after before the call,
//     and every signature must verify against /pubkey/;
//   - after every run: convergence of applied_index and state_hash, at
//     most one leader per term, a leader and a write soon after heal.
//
// The scale workload needs `drover sim-provider` and is skipped (reported
// as skipped, never as passed) until it exists; its checker is here and
// tested. Results go to jepsen/out/<run>/.
//
// Entry points are tests: TestJepsenQuick (make jepsen-quick),
// TestJepsenFull (make jepsen, gated by DROVER_JEPSEN_FULL=1) and
// TestBrokenReads (a build with -tags jepsen_broken must fail the register
// checker). JEPSEN_SEED reproduces a run's fault schedule and client
// choices.
//
// Without root (or without ip/iptables) the harness says so and runs only
// the process faults on loopback. Every run takes a lock, removes leftovers
// of a crashed earlier run (everything it creates is named drj-…), and
// removes its processes, namespaces, bridge, rules and temp dirs at the end,
// also on SIGINT/SIGTERM.
//
// The package never imports drover's server packages: it talks to nodes
// over HTTP only, like a user would. It adds no network delay (the kernel
// here has no tc netem and no delaying proxy is built in); faults are loss,
// partitions and process faults.
package jepsen
