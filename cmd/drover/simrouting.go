package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/drover-io/drover/affinity/routesim"
	"github.com/drover-io/drover/scheduler/sim"
)

const simRoutingUsage = `usage: drover sim --routing [--trace NAME|FILE.jsonl] [--json] [flags]

Replays a Mooncake-format trace (default: the built-in mooncake trace) in
virtual time against simulated workers (each a FIFO prefill server with an
LRU KV cache) and scores the routers load (today's pick), random, session,
drover (cache-aware: the pick /route/ runs) and oracle (sees every real
cache) side by side: prefix-block hit rate, time to first token, and the
busiest worker's share of busy time.
`

// wantsRouting reports whether `drover sim` was asked for --routing.
func wantsRouting(args []string) bool {
	for _, a := range args {
		switch a {
		case "--routing", "-routing", "--routing=true", "-routing=true":
			return true
		}
	}
	return false
}

// runSimRouting runs `drover sim --routing`.
func runSimRouting(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("drover sim --routing", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, simRoutingUsage); fs.PrintDefaults() }
	d := routesim.DefaultConfig()
	cfg := d
	fs.Bool("routing", true, "score the routers (this mode)")
	trace := fs.String("trace", "mooncake", "Mooncake-format trace: a built-in name or a `FILE.jsonl`")
	routers := fs.String("routers", strings.Join(routesim.Routers, ","), "comma-separated routers")
	asJSON := fs.Bool("json", false, `print only {"routers":[…]}`)
	fs.IntVar(&cfg.Workers, "workers", d.Workers, "workers")
	fs.IntVar(&cfg.KVBlocks, "kv-blocks", d.KVBlocks, "KV-cache capacity per worker, in 512-token blocks (the group's kv_blocks)")
	fs.Float64Var(&cfg.PrefillRate, "prefill-rate", d.PrefillRate, "prefill tokens/s of one worker")
	fs.Float64Var(&cfg.MaxQueueTime, "max-queue-time", d.MaxQueueTime, "seconds: the pick never sends a worker past this to chase a hit (0: no bound)")
	fs.Uint64Var(&cfg.Seed, "seed", d.Seed, "seed of the random choices")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	rc, err := sim.OpenTrace(*trace)
	if err != nil {
		return cliFail(stderr, "sim", err)
	}
	reqs, err := routesim.ReadMooncake(rc)
	rc.Close()
	if err != nil {
		return cliFail(stderr, "sim", fmt.Errorf("%s: %w", *trace, err))
	}
	started := time.Now()
	res, err := routesim.Run(reqs, splitList(*routers), cfg)
	if err != nil {
		return cliFail(stderr, "sim", err)
	}
	if *asJSON {
		if err := routesim.WriteJSON(stdout, res); err != nil {
			return cliFail(stderr, "sim", err)
		}
		return exitOK
	}
	fmt.Fprintf(stdout, "%d requests over %.0f s, %d workers, kv_blocks %d, prefill %.0f tokens/s, %.1f s wall\n",
		len(reqs), reqs[len(reqs)-1].At-reqs[0].At, cfg.Workers, cfg.KVBlocks, cfg.PrefillRate, time.Since(started).Seconds())
	if err := routesim.WriteTable(stdout, res); err != nil {
		return cliFail(stderr, "sim", err)
	}
	return exitOK
}
