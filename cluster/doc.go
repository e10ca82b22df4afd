// Package cluster owns a drover node's life in the Raft cluster: the
// raft-boltdb/v2 log and stable store, the file snapshot store, bootstrap and
// join through memberlist gossip, the leader's reconcile loop (add, promote,
// remove servers), leader forwarding of writes with hold-and-retry,
// request-ID idempotency, coalescing of concurrent writes into one log
// entry, linearizable reads (read index), backup and restore, a watchdog
// that ends the process when the disk stalls, the soft-state load overlay
// (overlay*.go: worker reports stamped, merged and streamed to every peer;
// queued requests; never through Raft), the leader's worker lifecycle loop
// (lifecycle.go: loading → ready, error, lost, each change one Raft write),
// the catch-up and staleness flags the edge reads (catchup.go), and the
// leader's scheduler loop (sched*.go: intents through Raft before every
// provider call, reconcile after a leader change, decisions).
//
// Two changes of one object never share a log entry (batch.go), so every
// change gets its own revision (the entry's index).
//
// cluster returns concrete types; edge/ declares the small interfaces it
// needs and cmd/drover wires a *Node into them. cluster never imports edge,
// cmd or fasthttp.
//
// Errors that mean "try again later" (no leader, no quorum, shutting down)
// implement Unavailable() bool, so callers can map them to 503 without
// importing this package.
package cluster
