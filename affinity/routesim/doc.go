// Package routesim is `drover sim --routing`: it replays a Mooncake-format
// trace (timestamp, input_length, hash_ids) in virtual time against
// simulated workers, each a FIFO prefill server with an LRU KV cache of
// kv_blocks blocks whose prefill takes the uncached prompt tokens over the
// prefill rate (the fake model's cost), and scores five routers side by
// side: load (today's pick: power of two choices on queue time), random,
// session (the first block id as the session hint), drover (the
// prefix-block hint through affinity's index and pick, the code /route/
// runs) and oracle (hindsight placement: it sees every worker's real cache
// and queue and takes the least time to first token).
package routesim
