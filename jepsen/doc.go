// Package jepsen is drover's chaos harness: it starts real `drover agent`
// processes, each in its own network namespace on a bridge created for the
// run, drives client workloads against all of them while nemeses inject
// faults (iptables partitions and packet loss inside the node namespaces,
// kill -9, SIGSTOP, membership changes), records everything as a history of
// invoke/ok/fail/info operations, and checks it: the register workload for
// linearizability with porcupine, the set workload for acknowledged-write
// loss, and after every run the cluster's convergence, at most one leader
// per term and recovery after heal. Results go to jepsen/out/<run>/.
//
// Entry points are tests: TestJepsenQuick (make jepsen-quick), TestJepsenFull
// (make jepsen, gated by DROVER_JEPSEN_FULL=1) and TestBrokenReads (a build
// with -tags jepsen_broken must fail the register checker). JEPSEN_SEED
// reproduces a run's fault schedule and client choices.
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
