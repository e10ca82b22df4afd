// Package affinity is drover's cache-aware routing: an approximate prefix
// index per endpoint (index.go: which KV-cache blocks each worker was
// recently sent, bounded per worker like an LRU of kv_blocks blocks) and the
// pick that weighs a worker's expected cached prefix against its load
// (pick.go). It is pure: no I/O, no clock, no goroutines. edge calls it on
// /route/ for requests that carry hints (session, prefix), and `drover sim
// --routing` (affinity/routesim) calls the very same code in virtual time.
//
// Hints are block ids: prefix[i] names the i-th 512-token block of the
// prompt, equal ids meaning equal prefixes up to that block (the Mooncake
// trace's hash_ids; client.PrefixBlocks computes them from a prompt). A
// session string becomes one leading pseudo-block (SessionBlock), so a
// conversation sticks to a worker even without prefix ids.
//
// The index never blocks: every slot is three atomic words, so concurrent
// writers may tear an entry; a torn or overwritten entry only makes the
// index forget a block (an approximate index, by design).
package affinity
