// Package edge is drover's HTTP surface, served with fasthttp on every node.
//
// This part of edge owns the admin side: the Vast-compatible console API
// (/api/v0/endptjobs/, /api/v0/workergroups/ and its legacy alias
// /api/v0/autojobs/), node health (/v1/health), cluster status (/v1/cluster),
// and the operator calls (/v1/cluster/remove, /v1/snapshot).
//
// The data plane (Vast's engine API, spec/vast-compat.md) is served on the
// same listener: POST /route/ (route.go, route_parse.go, route_table.go,
// route_pick.go), GET /pubkey/ and the signing caches (sign.go), POST
// /worker_status/ and /delete_requests/ (worker_api.go), the monitoring
// calls /get_endpoint_workers/, /get_workergroup_workers/ (alias
// /get_autogroup_workers/) and /get_endpoint_stats/ (monitor.go), and GET
// /metrics (metrics.go). /route/ never touches Raft: it reads routing
// tables rebuilt once per View (one atomic swap) joined with the load
// Overlay, picks a worker without locks or allocation, and builds its
// answer by appending bytes. reqnum and request_idx carry
// DataPlane.NodeIndex in their low 10 bits, so nodes never collide. The
// only Raft write of the data plane is the registration of an unknown
// worker reporting a static group's worker_token.
//
// Edge declares the small interfaces it needs (Replica, Writer, Reader,
// Cluster, Overlay); cmd wires the cluster package's node in through a tiny
// adapter.
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
// Edge never imports raft, cluster, transport or scheduler, and never
// writes outside fsm commands. Its only state of its own is soft and
// node-local: routing tables, the load this node routed to each worker
// since that worker's last report, signature and key caches, counters.
package edge
