// Command drover is the drover binary: the agent that runs one node of a
// cluster, a CLI that talks HTTP to a cluster, and a local development
// cluster.
//
//	drover agent     run one node (cluster.Node + edge.Server)
//	drover dev       run a local 3-node cluster as child processes
//	drover endpoint  create|list|get|update|delete endpoints
//	drover group     create|list|get|update|delete worker groups
//	drover cluster   status|remove ID
//	drover snapshot  save FILE|restore FILE
//	drover version
//
// This package owns flags, the config file, environment variables, wiring,
// signals and exit codes (0 ok, 1 failure, 2 usage error, 3 fatal stop of
// a running agent, such as a disk stall). It holds no
// logic of its own: scheduling, replication and the HTTP surface live in
// their packages; the CLI is a thin net/http client of edge's admin API.
package main
