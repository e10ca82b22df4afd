package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/drover-io/drover/worker"
)

// runWorker runs `drover worker` until SIGINT or SIGTERM.
func runWorker(args []string, stderr io.Writer) int {
	cfg, logLevel, err := parseWorkerArgs(args, os.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "drover worker: %v\n", err)
		return exitUsage
	}
	if cfg.Logger, err = newLogger(stderr, logLevel); err != nil {
		fmt.Fprintf(stderr, "drover worker: %v\n", err)
		return exitUsage
	}
	w, err := worker.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "drover worker: %v\n", err)
		return exitFail
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := w.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "drover worker: %v\n", err)
		return exitFail
	}
	return exitOK
}

// parseWorkerArgs reads the PyWorker environment (CONTAINER_ID,
// REPORT_ADDR, WORKER_PORT, WORKER_HTTP_PORT, PUBLIC_IPADDR,
// VAST_TCP_PORT_<port>, MASTER_TOKEN, UNSECURED) and the flags, whose
// defaults come from DROVER_* variables.
func parseWorkerArgs(args []string, getenv func(string) string, out io.Writer) (worker.Config, string, error) {
	cfg := worker.DefaultConfig()
	fs := flag.NewFlagSet("drover worker", flag.ContinueOnError)
	fs.SetOutput(out)
	env := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&cfg.ModelURL, "model-url", env("DROVER_MODEL_URL", "http://127.0.0.1:8000"), "model server base URL ($DROVER_MODEL_URL)")
	fs.StringVar(&cfg.HealthPath, "model-health-path", env("DROVER_MODEL_HEALTH_PATH", cfg.HealthPath), "model health path: 200 loaded, 503 loading, else failed ($DROVER_MODEL_HEALTH_PATH)")
	routes := commaList(strings.Split(env("DROVER_ROUTES", strings.Join(cfg.Routes, ",")), ","))
	fs.Var(&routes, "routes", "comma-separated path prefixes forwarded to the model ($DROVER_ROUTES)")
	fs.DurationVar(&cfg.MaxQueueTime, "max-queue-time", cfg.MaxQueueTime, "answer 429 when in-flight load / max_perf exceeds this")
	fs.DurationVar(&cfg.LoadTimeout, "load-timeout", cfg.LoadTimeout, "report an error when the model is not healthy by then")
	fs.Float64Var(&cfg.MaxPerf, "max-perf", 0, "report this max_perf (load/s) and skip the benchmark (0: benchmark)")
	fs.StringVar(&cfg.BenchmarkPath, "benchmark-path", cfg.BenchmarkPath, "model route the benchmark posts to")
	payload := fs.String("benchmark-payload", string(cfg.BenchmarkPayload), "JSON body of one benchmark request")
	fs.IntVar(&cfg.BenchmarkRequests, "benchmark-requests", cfg.BenchmarkRequests, "benchmark requests sent")
	fs.IntVar(&cfg.BenchmarkConcurrency, "benchmark-concurrency", cfg.BenchmarkConcurrency, "benchmark requests at once")
	fs.Float64Var(&cfg.BenchmarkCost, "benchmark-cost", cfg.BenchmarkCost, "load of one benchmark request")
	fs.DurationVar(&cfg.IdleInterval, "idle-report-interval", cfg.IdleInterval, "report period when idle")
	fs.DurationVar(&cfg.BusyInterval, "busy-report-interval", cfg.BusyInterval, "report period while busy")
	listenHost := fs.String("listen-host", "0.0.0.0", "host the worker ports bind to")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return cfg, "", err
	}
	if fs.NArg() > 0 {
		return cfg, "", fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg.Routes, cfg.BenchmarkPayload = routes, []byte(*payload)
	if err := workerEnv(&cfg, getenv, *listenHost); err != nil {
		return cfg, "", err
	}
	return cfg, *logLevel, nil
}

// workerEnv fills the PyWorker environment variables into cfg.
func workerEnv(cfg *worker.Config, getenv func(string) string, host string) error {
	id, err := strconv.ParseUint(getenv("CONTAINER_ID"), 10, 64)
	if err != nil || id == 0 {
		return fmt.Errorf("CONTAINER_ID must be a positive integer, got %q", getenv("CONTAINER_ID"))
	}
	cfg.ID = id
	var addrs commaList
	addrs.Set(getenv("REPORT_ADDR"))
	cfg.ReportAddrs = addrs
	port, err := strconv.Atoi(getenv("WORKER_PORT"))
	if err != nil || port < 0 || port > 65534 {
		return fmt.Errorf("WORKER_PORT must be a port number, got %q", getenv("WORKER_PORT"))
	}
	if port == 0 {
		// Tests and single-host setups: pick free ports and advertise the
		// bound address (no second plain-HTTP port unless asked for).
		cfg.Listen = host + ":0"
		if v := getenv("WORKER_HTTP_PORT"); v != "" {
			cfg.HTTPListen = host + ":" + v
		}
		cfg.MToken = getenv("MASTER_TOKEN")
		cfg.Unsecured = isTrue(getenv("UNSECURED"))
		return nil
	}
	httpPort := port + 1
	if v := getenv("WORKER_HTTP_PORT"); v != "" {
		if httpPort, err = strconv.Atoi(v); err != nil || httpPort <= 0 || httpPort > 65535 {
			return fmt.Errorf("WORKER_HTTP_PORT must be a port number, got %q", v)
		}
	}
	cfg.Listen = fmt.Sprintf("%s:%d", host, port)
	cfg.HTTPListen = fmt.Sprintf("%s:%d", host, httpPort)
	publicIP := getenv("PUBLIC_IPADDR")
	if publicIP == "" {
		publicIP = "127.0.0.1"
	}
	publicPort := getenv("VAST_TCP_PORT_" + strconv.Itoa(port))
	if publicPort == "" {
		publicPort = strconv.Itoa(port)
	}
	cfg.PublicURL = "http://" + publicIP + ":" + publicPort
	cfg.MToken = getenv("MASTER_TOKEN")
	cfg.Unsecured = isTrue(getenv("UNSECURED"))
	return nil
}

func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "1", "true", "yes":
		return true
	}
	return false
}
