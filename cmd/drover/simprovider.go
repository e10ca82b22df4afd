package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/drover-io/drover/scheduler/provider/sim"
	"github.com/drover-io/drover/scheduler/provider/simserver"
)

// runSimProvider runs `drover sim-provider` until SIGINT or SIGTERM: one
// simulated fleet on the real clock, state on disk, served over HTTP so
// every node (`--provider-sim ADDR`) drives the same fleet.
func runSimProvider(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("drover sim-provider", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:7301", "HTTP listen address")
	var cfg simserver.Config
	fs.StringVar(&cfg.StateDir, "state-dir", "", "directory of the fleet's state (required)")
	addrFile := fs.String("addr-file", "", "once listening, write the bound address to this file (for port 0)")
	fs.DurationVar(&cfg.CallDelay, "call-delay", 0, "latency added to every create, start, stop and destroy")
	d := sim.DefaultConfig()
	fs.DurationVar(&cfg.Fleet.CreateDelay, "create-delay", d.CreateDelay, "create → ready")
	fs.DurationVar(&cfg.Fleet.StartDelay, "start-delay", d.StartDelay, "stopped → ready")
	fs.Float64Var(&cfg.Fleet.CreateFail, "create-fail", 0, "share of creates that fail")
	fs.Float64Var(&cfg.Fleet.CreateHang, "create-hang", 0, "share of creates that never finish")
	fs.Float64Var(&cfg.Fleet.StartFail, "start-fail", 0, "share of starts that fail")
	fs.Float64Var(&cfg.Fleet.Price, "price", d.Price, "price per second loading, starting or ready")
	fs.Float64Var(&cfg.Fleet.StoppedPrice, "stopped-price", d.StoppedPrice, "price per second stopped")
	fs.Float64Var(&cfg.Fleet.Perf, "perf", d.Perf, "load/s an instance serves")
	fs.Uint64Var(&cfg.Fleet.Seed, "seed", 1, "seed of the failure draws")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if cfg.StateDir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "drover sim-provider: --state-dir is required (and no arguments)")
		return exitUsage
	}
	logger, err := newLogger(stderr, *logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "drover sim-provider: %v\n", err)
		return exitUsage
	}
	cfg.Logger = logger
	srv, err := simserver.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "drover sim-provider: %v\n", err)
		return exitFail
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "drover sim-provider: %v\n", err)
		return exitFail
	}
	if *addrFile != "" {
		tmp := *addrFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(ln.Addr().String()+"\n"), 0o644); err != nil || os.Rename(tmp, *addrFile) != nil {
			fmt.Fprintf(stderr, "drover sim-provider: addr file: %v\n", err)
			return exitFail
		}
	}
	return serveUntilSignal(srv.Handler(), ln, logger, "sim provider")
}
