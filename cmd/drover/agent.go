package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/drover-io/drover/cluster"
	"github.com/drover-io/drover/edge"
	"github.com/drover-io/drover/transport"
)

// runAgent runs one node until SIGINT or SIGTERM. A second signal during
// shutdown kills the process at once (signal.NotifyContext's stop restores
// the default action).
func runAgent(args []string, stderr io.Writer) int {
	ac, err := parseAgentArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "drover agent: %v\n", err)
		return exitUsage
	}
	logger, err := newLogger(stderr, ac.LogLevel)
	if err != nil {
		fmt.Fprintf(stderr, "drover agent: %v\n", err)
		return exitUsage
	}
	node, srv, ln, err := startAgent(ac, logger)
	if err != nil {
		fmt.Fprintf(stderr, "drover agent: cannot start: %v\n", err)
		if errors.Is(err, cluster.ErrRaftConfig) {
			return exitRaft
		}
		return exitFail
	}
	return serveAgent(node, srv, ln, logger)
}

// startAgent opens everything in order (admin token, TLS, HTTP listener,
// node, edge server) and undoes what it opened when a later step fails.
func startAgent(ac agentConfig, logger *slog.Logger) (*cluster.Node, *edge.Server, net.Listener, error) {
	tokenHash, haveToken, err := loadAdminToken(ac.AdminTokenFile, os.Getenv)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg := ac.Cluster
	cfg.Logger = logger
	cfg.OnFatal = func(reason string) {
		logger.Error("fatal, exiting at once", "reason", reason)
		os.Exit(exitFatal)
	}
	if cfg.GossipKey, err = loadGossipKey(ac.GossipKeyFile, os.Getenv); err != nil {
		return nil, nil, nil, err
	}
	if ac.TLSCert != "" {
		if cfg.TLS, err = transport.LoadMutualTLS(ac.TLSCert, ac.TLSKey, ac.TLSCA); err != nil {
			return nil, nil, nil, err
		}
		if cfg.ClusterID, err = clusterIDFor(ac.TLSCA, cfg.ClusterID); err != nil {
			return nil, nil, nil, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, nil, err
	}
	if err := requireSecure(ac, cfg); err != nil {
		return nil, nil, nil, err
	}
	cfg.Insecure = ac.Insecure
	if ac.Insecure {
		logger.Warn("running with --insecure: this node is not protected against anyone who reaches its ports",
			"mtls", cfg.TLS != nil, "gossip_key", cfg.GossipKey != nil, "see", "docs/security.md")
	}
	ln, err := net.Listen("tcp", ac.HTTP)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("http listener: %w", err)
	}
	cfg.HTTPAdvertise = advertisedHTTP(ln.Addr().String(), cfg.ClusterAdvertise, cfg.ClusterBind)
	if cfg.Scheduler, err = schedulerConfig(ac.Sched, ln.Addr().String(), logger); err != nil {
		ln.Close()
		return nil, nil, nil, err
	}
	node, err := cluster.New(cfg)
	if err != nil {
		ln.Close()
		return nil, nil, nil, err
	}
	if !haveToken {
		logger.Warn("no admin token configured: the admin API refuses every request",
			"hint", "set DROVER_ADMIN_TOKEN or --admin-token-file")
	}
	edgeCfg := edge.Config{
		Addr:           ac.HTTP,
		AdminTokenHash: tokenHash,
		StaleAfter:     cfg.StaleAfter,
		Logger:         logger,
		Scheduler:      edgeScheduler{node},
		DataPlane: edge.DataPlane{
			Overlay:   node.Overlay(),
			NodeIndex: nodeIndex(ac.NodeIndex, cfg.ID),
			NodeID:    cfg.ID,
			CaughtUp:  node.CaughtUp,
			Stale:     node.Stale,
		},
	}
	srv := edge.New(edgeCfg, node, node, node, edgeCluster{node})
	if ac.AddrFile != "" {
		if err := writeAddrFile(ac.AddrFile, ln.Addr().String(), node.ClusterAddr(), node.GossipAddr()); err != nil {
			node.Shutdown()
			ln.Close()
			return nil, nil, nil, err
		}
	}
	logger.Info("drover agent started", "version", version, "id", cfg.ID,
		"http", ln.Addr().String(), "cluster", cfg.ClusterBind, "gossip", cfg.GossipBind,
		"tls", cfg.TLS != nil, "gossip_encrypted", cfg.GossipKey != nil, "cluster_id", node.Status().ClusterID,
		"insecure", ac.Insecure)
	return node, srv, ln, nil
}

// serveAgent serves HTTP until a signal or a serve error, then shuts down
// the edge server and the node (which hands leadership over first).
func serveAgent(node *cluster.Node, srv *edge.Server, ln net.Listener, logger *slog.Logger) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	code := exitOK
	select {
	case <-ctx.Done():
		logger.Info("signal received, shutting down")
	case err := <-serveErr:
		logger.Error("http server stopped", "err", err)
		code = exitFail
	}
	stop()
	if err := srv.Shutdown(); err != nil && code == exitOK {
		logger.Warn("http shutdown", "err", err)
	}
	if err := node.Shutdown(); err != nil {
		logger.Error("node shutdown", "err", err)
		code = exitFail
	}
	logger.Info("drover agent stopped")
	return code
}

// writeAddrFile writes the addresses the node is bound to (useful with port
// 0) as one JSON object, atomically: readers see all of it or nothing.
func writeAddrFile(path, httpAddr, clusterAddr, gossipAddr string) error {
	b, _ := json.Marshal(map[string]string{"http": httpAddr, "cluster": clusterAddr, "gossip": gossipAddr})
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("addr file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("addr file: %w", err)
	}
	return nil
}

// newLogger returns a text logger at the named level.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl})), nil
}
