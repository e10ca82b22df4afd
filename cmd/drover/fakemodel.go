package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"

	"github.com/drover-io/drover/worker/fakemodel"
)

// runFakeModel runs `drover fake-model` until SIGINT or SIGTERM.
func runFakeModel(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("drover fake-model", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg fakemodel.Config
	listen := fs.String("listen", "127.0.0.1:8000", "listen address")
	fs.Float64Var(&cfg.TokensPerSec, "tokens-per-sec", 100, "tokens generated per second per request (<0: no delay)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 4, "requests generating at once; the rest wait in line")
	fs.DurationVar(&cfg.LoadTime, "load-time", 0, "how long /health answers 503 before the model is loaded")
	fs.StringVar(&cfg.FailLoad, "fail-load", "", "after the load time, fail the load with this message (/health answers 500)")
	fs.IntVar(&cfg.DefaultMaxTokens, "default-max-tokens", 16, "tokens generated when a request has no max_tokens")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "drover fake-model: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	logger, err := newLogger(stderr, *logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "drover fake-model: %v\n", err)
		return exitUsage
	}
	cfg.Logger = logger
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "drover fake-model: %v\n", err)
		return exitFail
	}
	logger.Info("fake model", "load_time", cfg.LoadTime)
	return serveUntilSignal(fakemodel.New(cfg), ln, logger, "fake model")
}
