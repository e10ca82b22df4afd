// Package edge is drover's HTTP surface, served with fasthttp on every node.
//
// This part of edge owns the admin side: the Vast-compatible console API
// (/api/v0/endptjobs/, /api/v0/workergroups/ and its legacy alias
// /api/v0/autojobs/), node health (/v1/health), cluster status (/v1/cluster),
// and the operator calls (/v1/cluster/remove, /v1/snapshot).
//
// Edge declares the small interfaces it needs (Replica, Writer, Reader,
// Cluster); cmd wires the cluster package's node in through a tiny adapter.
// Edge validates every input (types, finite numbers, ranges via fsm's Validate
// functions, read-only fields, body sizes) before proposing a command, so a
// bad request answers 4xx and never reaches the log. Every write carries a
// fresh random request id and a deadline; fsm.Result codes map to HTTP
// statuses, and errors that report Unavailable() map to 503.
//
// Admin reads are consistent by default (Reader.ConsistentRead) and read the
// local replica only with ?stale=true. /v1/health and /v1/cluster never wait
// on Raft.
//
// Edge never imports raft, cluster, transport or scheduler, never holds state
// of its own beyond its configuration, and never writes outside fsm commands.
package edge
